// Clears the previous run's results before the suite and prints the summary table after it
// (scripts/reliability-report.ts writes the same table into docs/reliability.md).

import { mkdirSync, rmSync } from 'node:fs';
import { RESULTS_DIR, readResults, summaryTable } from './report.ts';

export function setup(): void {
  rmSync(RESULTS_DIR, { recursive: true, force: true });
  mkdirSync(RESULTS_DIR, { recursive: true });
}

export function teardown(): void {
  const rows = readResults();
  if (rows.length > 0) process.stdout.write(`\nFault suite summary\n\n${summaryTable(rows)}\n`);
}
