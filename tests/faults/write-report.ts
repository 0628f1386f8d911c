// Writes the fault suite's last results (RESULTS_DIR, filled by `pnpm test:faults`) into the
// summary table of docs/reliability.md, between its "faults:table" markers, with the date and
// machine. `pnpm reliability` runs the suite and then this, so the table is one command away.

import { cpus, totalmem } from 'node:os';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readResults, ROOT, summaryTable } from './helpers/report.ts';

const DOC = join(ROOT, 'docs/reliability.md');
const BEGIN = '<!-- faults:table:begin -->';
const END = '<!-- faults:table:end -->';

const rows = readResults();
if (rows.length === 0) {
  process.stderr.write('no fault-suite results: run `pnpm test:faults` first\n');
  process.exit(1);
}
const doc = readFileSync(DOC, 'utf8');
const i = doc.indexOf(BEGIN);
const j = doc.indexOf(END);
if (i < 0 || j < i) throw new Error(`${DOC} has no ${BEGIN} ... ${END} section`);
const machine = `${cpus().length} × ${cpus()[0]?.model.trim() ?? 'CPU'}, ${(totalmem() / 2 ** 30).toFixed(0)} GB, Node ${process.version}`;
const table = `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine}.\n\n${summaryTable(rows)}\n`;
writeFileSync(DOC, `${doc.slice(0, i + BEGIN.length)}\n${table}${doc.slice(j)}`);
process.stdout.write(`${DOC}: ${rows.length} rows written\n`);
