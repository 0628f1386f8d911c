// Each scenario records one row (requests sent, failures, p99, ...) as JSON in RESULTS_DIR, and
// prints it at once; the global teardown and scripts/reliability-report.ts turn the rows into
// the summary table. node_modules/.cache is already ignored by git, so results never get committed.

import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
export const RESULTS_DIR = process.env['MESHLET_FAULTS_RESULTS'] ?? join(ROOT, 'node_modules/.cache/meshlet-faults');

export interface ScenarioRow {
  /** Sort key and short id, e.g. "1", "fuzz-xds". */
  id: string;
  scenario: string;
  /** The guarantee checked, in a sentence. */
  checks: string;
  sent: number;
  failures: number;
  /** p99 latency in ms of the requests that the row counts; undefined when not meaningful (fuzz). */
  p99Ms: number | undefined;
  /** Anything else worth a column: heap growth, handles, hung requests. */
  notes: string;
}

export function record(row: ScenarioRow): void {
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(join(RESULTS_DIR, `${row.id}.json`), JSON.stringify(row, null, 2));
  const p99 = row.p99Ms === undefined ? '' : `, p99 ${row.p99Ms.toFixed(1)} ms`;
  const line = `[fault ${row.id}] ${row.scenario}: sent ${row.sent}, failures ${row.failures}${p99}${row.notes ? `; ${row.notes}` : ''}`;
  process.stdout.write(`${line}\n`);
}

export function readResults(): ScenarioRow[] {
  let files: string[];
  try {
    files = readdirSync(RESULTS_DIR).filter((f) => f.endsWith('.json'));
  } catch {
    return [];
  }
  return files
    .map((f) => JSON.parse(readFileSync(join(RESULTS_DIR, f), 'utf8')) as ScenarioRow)
    .sort((a, b) => a.id.localeCompare(b.id, 'en', { numeric: true }));
}

export function summaryTable(rows: ScenarioRow[]): string {
  const head = '| # | scenario | what must hold | requests / inputs | failures | p99 | notes |\n| --- | --- | --- | ---: | ---: | ---: | --- |';
  const lines = rows.map((r) => `| ${r.id} | ${r.scenario} | ${r.checks} | ${r.sent} | ${r.failures} | ${r.p99Ms === undefined ? '—' : `${r.p99Ms.toFixed(1)} ms`} | ${r.notes} |`);
  return [head, ...lines].join('\n');
}
