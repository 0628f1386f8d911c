// Profiling aid (not part of `pnpm bench`): where a client's per-request allocations come from.
// After a warm-up, a sampling heap profile (every ~64 bytes, objects collected by scavenges kept)
// over sequential small requests through MeshAgent (or a plain undici Agent with `plain`),
// printed as bytes per request by allocating function, largest first.
//
//   node --conditions=source examples/bench/alloc-sites.ts [plain] [requests=3000] [warmup=3000]

import { Session } from 'node:inspector/promises';
import { request } from 'undici';
import { startProfileClient } from './profile-client.ts';

const plain = process.argv.includes('plain');
const nums = process.argv.slice(2).filter((a) => /^\d+$/.test(a)).map(Number);
const total = nums[0] ?? 3000;
const warmup = nums[1] ?? 3000;

const { upstream, dispatcher, close } = await startProfileClient(plain);
const url = plain ? `http://127.0.0.1:${upstream.ports.http}/small` : 'http://bench:80/small';
const send = async () => { const res = await request(url, { dispatcher }); await res.body.dump(); };
for (let i = 0; i < warmup; i++) await send();

interface Node { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: Node[] }
const session = new Session();
session.connect();
await session.post('HeapProfiler.enable');
await session.post('HeapProfiler.startSampling', { samplingInterval: 64, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
for (let i = 0; i < total; i++) await send();
const { profile } = await session.post('HeapProfiler.stopSampling') as unknown as { profile: { head: Node } };
session.disconnect();

const bySite = new Map<string, number>();
let sum = 0;
const walk = (n: Node) => {
  if (n.selfSize > 0) {
    const f = n.callFrame;
    const key = `${f.functionName || '(anon)'} ${f.url.replace(/^.*\/(node_modules\/\.pnpm\/[^/]+\/node_modules\/|packages\/)/, '')}:${f.lineNumber + 1}`;
    bySite.set(key, (bySite.get(key) ?? 0) + n.selfSize);
    sum += n.selfSize;
  }
  n.children.forEach(walk);
};
walk(profile.head);
process.stdout.write(`${plain ? 'undici' : 'meshlet'}: ${(sum / total).toFixed(0)} B/request sampled over ${total}\n`);
for (const [k, v] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, 120)) process.stdout.write(`${(v / total).toFixed(0).padStart(7)}  ${k}\n`);
await close();
