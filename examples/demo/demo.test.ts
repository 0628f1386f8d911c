// The README's first command runs this demo; this test keeps it honest.

import { expect, it } from 'vitest';
import { checkDemo, runDemo } from './run.ts';

it('the demo behaves as its YAML says', async () => {
  const result = await runDemo({ quiet: true });
  expect(checkDemo(result)).toEqual([]);
}, 30_000);
