// Istio's own inputs (../shared/fixtures/istio): every document its validation tests reject
// must be rejected here, every one it accepts accepted, and every CRD set its xDS tests load
// must load without a crash (kinds Meshlet does not handle become warnings).

import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../src/config-error.ts';
import { loadConfigFiles } from '../src/istio/load/load-files.ts';
import { parseConfigText } from '../src/istio/load/load-yaml.ts';

const FIXTURES = join(import.meta.dirname, '../../../../shared/fixtures/istio');
const files = readdirSync(FIXTURES).sort();

/** Splits a multi-document file into its documents; Istio validates each one on its own. */
function documents(text: string): string[] {
  return text
    .split(/^---[ \t]*$/m)
    .filter((d) => d.split('\n').some((l) => l.trim() !== '' && !l.trim().startsWith('#')));
}

function nameOf(doc: string): string {
  return /^\s+name:\s*(\S+)/m.exec(doc)?.[1] ?? '?';
}

describe('Istio validation fixtures', () => {
  for (const file of files.filter((f) => /^validation-.*-invalid\.yaml$/.test(f))) {
    documents(readFileSync(join(FIXTURES, file), 'utf8')).forEach((doc, i) => {
      const expected = /^_err:\s*(.*)$/m.exec(doc)?.[1] ?? '';
      it(`${file} #${i} (${nameOf(doc)}) is rejected: ${expected}`, () => {
        const { objects, problems } = parseConfigText(doc, file);
        expect(objects).toHaveLength(0);
        expect(problems.filter((p) => p.severity === 'error').length, problems.map(formatProblem).join('\n')).toBeGreaterThan(0);
      });
    });
  }

  for (const file of files.filter((f) => /^validation-.*-valid\.yaml$/.test(f))) {
    documents(readFileSync(join(FIXTURES, file), 'utf8')).forEach((doc, i) => {
      it(`${file} #${i} (${nameOf(doc)}) is accepted`, () => {
        const { objects, problems } = parseConfigText(doc, file);
        const errors = problems.filter((p) => p.severity === 'error');
        expect(errors.map(formatProblem)).toEqual([]);
        expect(objects).toHaveLength(1);
      });
    });
  }
});

describe('Istio xDS test configs load', () => {
  for (const file of files.filter((f) => /^config-.*\.yaml$/.test(f))) {
    it(file, async () => {
      const { objects, problems } = await loadConfigFiles([join(FIXTURES, file)]);
      // Unsupported kinds are skipped with one warning each, never an error.
      for (const p of problems.filter((q) => q.message.includes('is not handled by Meshlet'))) {
        expect(p.severity).toBe('warning');
      }
      expect(problems.filter((p) => p.severity === 'error').map(formatProblem)).toEqual([]);
      expect(objects.length + problems.length).toBeGreaterThan(0);
    });
  }

  it('reports each skipped kind once, naming it', async () => {
    const { problems } = await loadConfigFiles([join(FIXTURES, 'config-gateway-all.yaml')]);
    const skipped = problems.filter((p) => p.message.includes('not handled'));
    expect(skipped.length).toBeGreaterThan(0);
    for (const p of skipped) expect(formatProblem(p)).toMatch(/^.*config-gateway-all\.yaml:\d+: Gateway [\w-]+\/[\w-]+: warning: kind Gateway \(networking\.istio\.io\/v1\) is not handled by Meshlet; skipped$/);
  });
});
