// The project's own Istio fixture corpus (tests/fixtures/istio, described in its README.md):
// where it is, and how its multi-document files split into the documents Istio validates one
// by one.

import { readdirSync } from 'node:fs';
import { join } from 'node:path';

export const ISTIO_FIXTURES = join(import.meta.dirname, '../../../tests/fixtures/istio');

export function fixtureFiles(pattern: RegExp): string[] {
  return readdirSync(ISTIO_FIXTURES).filter((f) => pattern.test(f)).sort();
}

export function fixturePath(file: string): string {
  return join(ISTIO_FIXTURES, file);
}

/** Splits a multi-document file into its documents, dropping ones that hold only comments. */
export function documents(text: string): string[] {
  return text
    .split(/^---[ \t]*$/m)
    .filter((d) => d.split('\n').some((l) => l.trim() !== '' && !l.trim().startsWith('#')));
}

export function nameOf(doc: string): string {
  return /^\s+name:\s*(\S+)/m.exec(doc)?.[1] ?? '?';
}

/** What an invalid document's error must contain: its `# expect: ...` comment. */
export function expectedError(doc: string): string | undefined {
  return /^#\s*expect:\s*(.+?)\s*$/m.exec(doc)?.[1];
}
