// Measuring part of a run, for the profile-*.ts aids: a CPU profile started and stopped around
// it through the inspector (written to PROFILE_OUT with how many requests it covers), and the
// bytes it allocates per request.

import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { PerformanceObserver } from 'node:perf_hooks';
import v8 from 'node:v8';

/** Starts profiling; the returned function stops and writes the profile with `requests` in it. */
export async function startProfile(intervalUs = 50): Promise<(requests: number) => Promise<void>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
  await session.post('Profiler.start');
  return async (requests) => {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(process.env['PROFILE_OUT']!, JSON.stringify({ ...profile, requests }));
    session.disconnect();
  };
}

/**
 * Bytes allocated per request over `n` requests (32 in flight), from the heap's growth; says so
 * instead when a garbage collection ran meanwhile (the growth then undercounts).
 */
export async function allocatedPer(send: () => Promise<void>, n: number): Promise<string> {
  let gcs = 0;
  let t0 = Infinity;
  // Entries arrive late; only collections that started within the run count.
  const obs = new PerformanceObserver((list) => { for (const e of list.getEntries()) if (e.startTime >= t0) gcs++; });
  obs.observe({ entryTypes: ['gc'] });
  // An empty young generation to start from (node --expose-gc), so the run fits in it.
  (globalThis as { gc?: () => void }).gc?.();
  t0 = performance.now();
  const before = v8.getHeapStatistics().used_heap_size;
  let left = n;
  await Promise.all(Array.from({ length: 32 }, async () => { while (left-- > 0) await send(); }));
  const grown = v8.getHeapStatistics().used_heap_size - before;
  await new Promise((r) => setImmediate(r));
  obs.disconnect();
  return gcs > 0 ? `${gcs} GC during the run: no count (see profile-session.ts)` : `${(grown / n).toFixed(0)} bytes allocated per request`;
}

interface SamplingNode { callFrame: { functionName: string; url: string; lineNumber: number }; selfSize: number; children: SamplingNode[] }

/**
 * Where `n` requests allocate (32 in flight): V8's sampling heap profiler over the run, counting
 * objects collected meanwhile too, summed by allocating function; bytes per request, largest first.
 */
export async function allocationSites(send: () => Promise<void>, n: number, top = 400): Promise<string> {
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.enable');
  await session.post('HeapProfiler.startSampling', { samplingInterval: 64, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  let left = n;
  await Promise.all(Array.from({ length: 32 }, async () => { while (left-- > 0) await send(); }));
  const { profile } = await session.post('HeapProfiler.stopSampling') as unknown as { profile: { head: SamplingNode } };
  session.disconnect();
  const bySite = new Map<string, number>();
  let total = 0;
  const walk = (node: SamplingNode) => {
    if (node.selfSize > 0) {
      const f = node.callFrame;
      const file = f.url.includes('/packages/') ? f.url.replace(/^.*\/packages\//, '') : f.url.replace(/^.*node_modules\//, '') || '(native)';
      const key = `${f.functionName || '(anonymous)'}  ${file}:${f.lineNumber + 1}`;
      bySite.set(key, (bySite.get(key) ?? 0) + node.selfSize);
      total += node.selfSize;
    }
    for (const c of node.children) walk(c);
  };
  walk(profile.head);
  const rows = [...bySite].sort((a, b) => b[1] - a[1]).slice(0, top).map(([k, v]) => `${(v / n).toFixed(0).padStart(7)}  ${k}`);
  return `${(total / n).toFixed(0)} bytes sampled per request; by allocating function:\n${rows.join('\n')}`;
}
