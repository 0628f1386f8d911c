// Table-driven validation cases: a small spec snippet per case, wrapped into a full document,
// loaded through the real loader, and checked for the expected problem at the expected field.

import { expect, it } from 'vitest';
import { formatProblem } from '../src/config-error.ts';
import { parseConfigText } from '../src/istio/load/load-yaml.ts';

export type Kind = 'VirtualService' | 'DestinationRule' | 'ServiceEntry' | 'WorkloadEntry' | 'PeerAuthentication' | 'RequestAuthentication' | 'Telemetry' | 'Sidecar';

const API_VERSION: Record<Kind, string> = {
  VirtualService: 'networking.istio.io/v1',
  DestinationRule: 'networking.istio.io/v1',
  ServiceEntry: 'networking.istio.io/v1',
  WorkloadEntry: 'networking.istio.io/v1',
  PeerAuthentication: 'security.istio.io/v1',
  RequestAuthentication: 'security.istio.io/v1',
  Telemetry: 'telemetry.istio.io/v1',
  Sidecar: 'networking.istio.io/v1',
};

export interface Case {
  name: string;
  /** The spec body, written at column 0 (it is indented under `spec:`). */
  spec: string;
  /** [dotted field, message fragment] of an error that must be reported (the object is rejected). */
  error?: [string, string];
  /** [dotted field, message fragment] of a warning that must be reported. */
  warn?: [string, string];
  /** Accepted: no error at all. */
  valid?: true;
  namespace?: string;
  labels?: Record<string, string>;
}

function dedent(s: string): string {
  const lines = s.replace(/^\n/, '').replace(/\s+$/, '').split('\n');
  const indent = Math.min(...lines.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)?.[0].length ?? 0));
  return lines.map((l) => l.slice(indent)).join('\n');
}

export function makeDoc(kind: Kind, spec: string, opts: { namespace?: string; labels?: Record<string, string>; name?: string } = {}): string {
  const labels = opts.labels
    ? `  labels:\n${Object.entries(opts.labels).map(([k, v]) => `    ${k}: "${v}"`).join('\n')}\n`
    : '';
  const body = dedent(spec)
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n');
  return `apiVersion: ${API_VERSION[kind]}\nkind: ${kind}\nmetadata:\n  name: ${opts.name ?? 'case'}\n  namespace: ${opts.namespace ?? 'ns1'}\n${labels}spec:\n${body}\n`;
}

export function runCases(kind: Kind, cases: readonly Case[]): void {
  for (const c of cases) {
    it(c.name, () => {
      const text = makeDoc(kind, c.spec, { ...(c.namespace && { namespace: c.namespace }), ...(c.labels && { labels: c.labels }) });
      const { objects, problems } = parseConfigText(text, 'case.yaml');
      const listing = `problems:\n  ${problems.map(formatProblem).join('\n  ') || '(none)'}\n--- document:\n${text}`;
      const errors = problems.filter((p) => p.severity === 'error');
      if (c.error) {
        const [field, fragment] = c.error;
        const hit = errors.some((p) => p.field === field && p.message.includes(fragment));
        expect(hit, `expected an error at ${field} containing "${fragment}"\n${listing}`).toBe(true);
        expect(objects, 'an object with errors must be left out').toHaveLength(0);
      }
      if (c.valid) {
        expect(errors, `expected no errors\n${listing}`).toHaveLength(0);
        expect(objects).toHaveLength(1);
      }
      if (c.warn) {
        const [field, fragment] = c.warn;
        const hit = problems.some((p) => p.severity === 'warning' && p.field === field && p.message.includes(fragment));
        expect(hit, `expected a warning at ${field} containing "${fragment}"\n${listing}`).toBe(true);
      }
      expect(c.error ?? c.valid ?? c.warn, 'a case must expect something').toBeTruthy();
    });
  }
}
