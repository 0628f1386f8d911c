// Profiling aid (not part of `pnpm bench`): a young process's added latency measured the way
// issue 20 first saw it — in ONE fresh process, so the two processes' own spread drops out. A
// plain undici Agent, MeshAgent and a second plain Agent (the A/A row) take turns in blocks of 50
// sequential small GETs to the bench upstream (its own process), sweeping forward then back. undici's
// code is shared by all three rows (MeshAgent sends through undici's Pool), so what is left
// between the mesh and plain rows is Meshlet's own request path, by how warm V8 has made it.
// Prints each row's p50 and the mesh and plain rows' p50 by fifth of the run.
//
//   node --conditions=source examples/bench/young-inprocess.ts [requests per row=1000]

import { Agent, request, type Dispatcher } from 'undici';
import { startProfileClient } from './profile-client.ts';

const N = Number(process.argv[2] ?? 1000);
const BLOCK = 50;
const { upstream, dispatcher: mesh, close } = await startProfileClient(false);
const direct = `http://127.0.0.1:${upstream.ports.http}/small`;
const plain = new Agent();
const plain2 = new Agent();
const rows: { name: string; dispatcher: Dispatcher; url: string; lat: number[] }[] = [
  { name: 'plain', dispatcher: plain, url: direct, lat: [] },
  { name: 'mesh', dispatcher: mesh, url: 'http://bench:80/small', lat: [] },
  { name: 'plain again', dispatcher: plain2, url: direct, lat: [] },
];

async function once(r: (typeof rows)[number]): Promise<number> {
  const t = performance.now();
  const res = await request(r.url, { dispatcher: r.dispatcher });
  await res.body.dump();
  return performance.now() - t;
}

// One request each first: it opens the connection, which is not what is measured.
for (const r of rows) await once(r);
for (let start = 0; start < N; start += BLOCK) {
  const turn = (start / BLOCK) % 2 === 0 ? rows : [...rows].reverse();
  for (const r of turn) for (let i = 0; i < BLOCK; i++) r.lat.push(await once(r));
}

const p50 = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)]! * 1000;
const fifths = (a: number[]) => Array.from({ length: 5 }, (_, i) => p50(a.slice((i * a.length) / 5, ((i + 1) * a.length) / 5)).toFixed(0)).join(' ');
const [p, m, p2] = rows.map((r) => p50(r.lat)) as [number, number, number];
process.stdout.write(`p50 µs: plain ${p.toFixed(0)}, mesh ${m.toFixed(0)} (${(m - p >= 0 ? '+' : '') + (m - p).toFixed(1)}), plain again ${p2.toFixed(0)} (${(p2 - p >= 0 ? '+' : '') + (p2 - p).toFixed(1)}); by fifth: mesh ${fifths(rows[1]!.lat)}, plain ${fifths(rows[0]!.lat)}\n`);
await plain.close();
await plain2.close();
await close();
