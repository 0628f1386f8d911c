// `pnpm demo --mtls`: the same demo over mTLS (ISTIO_MUTUAL clients, STRICT servers, dev
// certificates); every backend must see the client's SPIFFE ID and the rules still hold.

import { expect, it } from 'vitest';
import { checkDemo, runDemo } from './run.ts';

it('the demo behaves as its YAML says with mTLS on', async () => {
  const result = await runDemo({ quiet: true, mtls: true });
  expect(checkDemo(result)).toEqual([]);
  expect(Object.keys(result.mtls!.callers)).toEqual(['spiffe://cluster.local/ns/default/sa/demo-client']);
}, 60_000);
