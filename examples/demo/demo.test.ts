// The README's first command runs this demo (`npm run demo`, and `npm run demo -- --mtls`);
// these tests keep it honest. Both live in one file on purpose: the demo's YAML gives its
// backends fixed ports (18061–18093), and vitest runs files in parallel on a machine with more
// than two cores, so two files would race for the same ports (EADDRINUSE). Tests within a file
// run one after the other.

import { expect, it } from 'vitest';
import { checkDemo, runDemo } from './run.ts';

it('the demo behaves as its YAML says', async () => {
  const result = await runDemo({ quiet: true });
  expect(checkDemo(result)).toEqual([]);
}, 30_000);

// ISTIO_MUTUAL clients, STRICT servers, dev certificates: every backend must see the client's
// SPIFFE ID and the rules still hold.
it('the demo behaves as its YAML says with mTLS on', async () => {
  const result = await runDemo({ quiet: true, mtls: true });
  expect(checkDemo(result)).toEqual([]);
  expect(Object.keys(result.mtls!.callers)).toEqual(['spiffe://cluster.local/ns/default/sa/demo-client']);
}, 60_000);
