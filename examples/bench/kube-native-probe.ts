// Child process of kube-native.ts: starts `count` meshes in Kubernetes-native mode against the
// kubeconfig it is given and reports what the first complete view cost this process — wall
// time, CPU seconds, heap and RSS growth (after a full GC) — then waits for "exit" on IPC so
// the parent can measure the API server's side while these watches are open.

import { createMesh, silentLogger, type Mesh } from '@meshlet/core';

export interface ProbeReport {
  meshes: number;
  syncMs: number;
  cpuSeconds: number;
  heapMiB: number;
  rssMiB: number;
  objects: number;
  watches: number;
  compileMs: number;
  services: number;
  clusters: number;
}

const [kubeconfig, namespacesArg, countArg] = process.argv.slice(2);
const gc = (globalThis as { gc?: () => void }).gc;
if (!kubeconfig || !gc) throw new Error('usage: node --expose-gc kube-native-probe.ts <kubeconfig> <ns,ns|*> <count>');
const namespaces = namespacesArg === '*' ? undefined : namespacesArg!.split(',');
const count = Number(countArg ?? '1');

// A mesh over an empty namespace first, so code loading and warm-up are not in the figures.
await (await createMesh({ kubernetes: { kubeconfig, namespaces: ['kube-public'] }, logger: silentLogger, telemetry: false })).close();
gc();
const heap0 = process.memoryUsage().heapUsed;
const rss0 = process.memoryUsage().rss;
const cpu0 = process.cpuUsage();
const t0 = performance.now();
const meshes: Mesh[] = [];
// Ten at a time, as a rollout starts pods in batches.
for (let i = 0; i < count; i += 10) {
  const batch = Array.from({ length: Math.min(10, count - i) }, () =>
    createMesh({ kubernetes: { kubeconfig, ...(namespaces && { namespaces }), initialSyncTimeoutMs: 600_000 }, namespace: namespaces?.[0] ?? 'default', logger: silentLogger, telemetry: false }));
  meshes.push(...(await Promise.all(batch)));
}
const syncMs = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
gc();
const dump = meshes[0]!.configDump();
const report: ProbeReport = {
  meshes: count,
  syncMs,
  cpuSeconds: (cpu.user + cpu.system) / 1e6,
  heapMiB: (process.memoryUsage().heapUsed - heap0) / 2 ** 20,
  rssMiB: (process.memoryUsage().rss - rss0) / 2 ** 20,
  objects: dump.kubernetes!.objects,
  watches: dump.kubernetes!.watches.length,
  compileMs: dump.kubernetes!.lastCompileMs,
  services: meshes[0]!.snapshot.services.size,
  clusters: dump.clusters.length,
};
process.send!(report);
process.on('message', async (m) => {
  if (m !== 'exit') return;
  for (const mesh of meshes) await mesh.close();
  process.exit(0);
});
