// Temporary folders for tests: made under os.tmpdir() with a `meshlet-` prefix and removed once
// the test file has run. Importing this module registers that afterAll hook on the importing
// test file, so import it from test files (or helpers they import), not lazily inside a test.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

const made: string[] = [];

afterAll(() => {
  for (const dir of made.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A new empty folder `meshlet-<prefix>-XXXXXX`, removed after this test file. */
export function tempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `meshlet-${prefix}-`));
  made.push(dir);
  return dir;
}
