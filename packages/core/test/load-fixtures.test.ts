// The project's Istio fixtures (tests/fixtures/istio): every document Istio would reject must be
// rejected here with the error its `# expect:` comment names, every one Istio accepts must load
// with no error and no unknown field, and every CRD set must load without a crash (kinds Meshlet
// does not handle become warnings).

import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatProblem } from '../src/config-error.ts';
import { loadConfigFiles } from '../src/istio/load/load-files.ts';
import { HANDLED_KINDS } from '../src/istio/load/load-kinds.ts';
import { parseConfigText } from '../src/istio/load/load-yaml.ts';
import { documents, expectedError, fixtureFiles, fixturePath, nameOf } from './istio-fixtures.ts';

/** Every kind Meshlet reads has a valid and an invalid file, named by its lowercased kind. */
const KINDS = Object.keys(HANDLED_KINDS).map((k) => k.toLowerCase());

describe('Istio validation fixtures', () => {
  it('has a valid and an invalid file for every kind Meshlet reads', () => {
    expect(fixtureFiles(/^validation-/)).toEqual(KINDS.flatMap((k) => [`validation-${k}-invalid.yaml`, `validation-${k}-valid.yaml`]).sort());
  });

  for (const file of fixtureFiles(/^validation-.*-invalid\.yaml$/)) {
    const docs = documents(readFileSync(fixturePath(file), 'utf8'));
    it(`${file} has documents, each saying which error it expects`, () => {
      expect(docs.length).toBeGreaterThanOrEqual(6);
      for (const doc of docs) expect(expectedError(doc), nameOf(doc)).toBeDefined();
    });
    docs.forEach((doc, i) => {
      const expected = expectedError(doc) ?? '(no # expect: comment)';
      it(`${file} #${i} (${nameOf(doc)}) is rejected: ${expected}`, () => {
        const { objects, problems } = parseConfigText(doc, file);
        expect(objects).toHaveLength(0);
        const errors = problems.filter((p) => p.severity === 'error').map(formatProblem);
        // The error names the object, the field and what is wrong, at a line of this document.
        expect(errors.some((e) => e.includes(`/${nameOf(doc)}: `) && e.includes(expected)), errors.join('\n')).toBe(true);
        for (const p of problems) expect(p.line).toBeGreaterThan(0);
      });
    });
  }

  for (const file of fixtureFiles(/^validation-.*-valid\.yaml$/)) {
    const docs = documents(readFileSync(fixturePath(file), 'utf8'));
    it(`${file} has documents`, () => expect(docs.length).toBeGreaterThanOrEqual(2));
    docs.forEach((doc, i) => {
      it(`${file} #${i} (${nameOf(doc)}) is accepted`, () => {
        const { objects, problems } = parseConfigText(doc, file);
        const errors = problems.filter((p) => p.severity === 'error');
        expect(errors.map(formatProblem)).toEqual([]);
        // Genuinely valid Istio: no field the CRD does not define.
        expect(problems.filter((p) => /unknown (top-level )?field/.test(p.message)).map(formatProblem)).toEqual([]);
        expect(objects).toHaveLength(1);
        expect(objects[0]?.metadata.name).toBe(nameOf(doc));
      });
    });
  }
});

describe('Istio CRD sets load', () => {
  const files = fixtureFiles(/^config-.*\.yaml$/);
  it('has the CRD sets to load', () => expect(files.length).toBeGreaterThanOrEqual(20));

  for (const file of files) {
    it(file, async () => {
      const { objects, problems } = await loadConfigFiles([fixturePath(file)]);
      // Unsupported kinds are skipped with one warning each, never an error.
      for (const p of problems.filter((q) => q.message.includes('is not handled by Meshlet'))) {
        expect(p.severity).toBe('warning');
      }
      expect(problems.filter((p) => p.severity === 'error').map(formatProblem)).toEqual([]);
      expect(problems.filter((p) => /unknown (top-level )?field/.test(p.message)).map(formatProblem)).toEqual([]);
      expect(objects.length + problems.length).toBeGreaterThan(0);
    });
  }

  it('reports each skipped kind once, naming it', async () => {
    const { objects, problems } = await loadConfigFiles([fixturePath('config-istio-gateways.yaml')]);
    const skipped = problems.filter((p) => p.message.includes('not handled'));
    expect(skipped.map((p) => p.name)).toEqual(['edge-gateway', 'shop-egress', 'orders-db-gateway']);
    for (const p of skipped) expect(formatProblem(p)).toMatch(/^.*config-istio-gateways\.yaml:\d+: Gateway shop\/[\w-]+: warning: kind Gateway \(networking\.istio\.io\/v1\) is not handled by Meshlet; skipped$/);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['VirtualService/edge-catch-all']);
  });

  it('skips the Deployment, keeping the Sidecar, the Service and the ServiceEntries beside it', async () => {
    const { objects, problems } = await loadConfigFiles([fixturePath('config-sidecar-and-workloads.yaml')]);
    expect(problems.map((p) => [p.severity, p.message])).toEqual([['warning', expect.stringContaining('kind Deployment (apps/v1)')]]);
    expect(objects.map((o) => `${o.kind}/${o.metadata.name}`)).toEqual(['Sidecar/default', 'Service/picker', 'ServiceEntry/picker-tcp', 'ServiceEntry/picker-http', 'ServiceEntry/packer-dns']);
  });
});
