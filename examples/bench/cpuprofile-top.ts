// Prints the functions with the most self time in a .cpuprofile (from node --cpu-prof), and
// the same grouped by file: where the hot path spends its time, without a browser.

import { readFileSync } from 'node:fs';

interface Node { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; hitCount?: number; children?: number[] }
const profile = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as { nodes: Node[]; samples: number[]; timeDeltas: number[] };
const limit = Number(process.argv[3] ?? 35);
const self = new Map<string, number>();
const byFile = new Map<string, number>();
let total = 0;
for (const n of profile.nodes) {
  const hits = n.hitCount ?? 0;
  total += hits;
  const file = n.callFrame.url.replace(/^.*\/(node_modules\/\.pnpm\/[^/]+\/node_modules\/)?/, '').replace(/^file:\/\//, '') || '(native)';
  const key = `${n.callFrame.functionName || '(anonymous)'}  ${file}:${n.callFrame.lineNumber + 1}`;
  self.set(key, (self.get(key) ?? 0) + hits);
  const shortFile = n.callFrame.url.includes('/packages/') ? n.callFrame.url.replace(/^.*\/packages\//, 'packages/') : n.callFrame.url.includes('undici') ? 'undici' : n.callFrame.url.startsWith('node:') ? n.callFrame.url : n.callFrame.url ? 'other js' : `(${n.callFrame.functionName})`;
  byFile.set(shortFile, (byFile.get(shortFile) ?? 0) + hits);
}
const show = (m: Map<string, number>, n: number) => [...m].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]) => `${(100 * v / total).toFixed(1).padStart(5)}%  ${k}`).join('\n');
process.stdout.write(`self time by function (top ${limit}):\n${show(self, limit)}\n\nby file:\n${show(byFile, 25)}\n`);
