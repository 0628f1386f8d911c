// `node --conditions=source examples/bench/kube-native.ts [--services 1000] [--pods 10000] [--fanout 10]`:
// what Kubernetes-native mode costs, against a real kube-apiserver + etcd built from Go modules
// (packages/core/test/interop/kube-cluster.ts; Go required). Loopback only, bounded in count.
//
//   1. cost of one process's first complete view: wall time, CPU, heap and RSS over a mesh of an
//      empty namespace, for `services` ServiceEntries + VirtualServices and, with --pods,
//      Services, EndpointSlices and pods (as a Deployment's would be);
//   2. time from an API write (a VirtualService edit) to the routing change, p50/p90/max, for a
//      mesh watching a namespace of 10 services and one watching the big one; the CPU a mesh
//      of the big one spends while its pods churn;
//   3. the API server's side: CPU per write with 1 vs `fanout` meshes watching, its memory per
//      watching mesh, and CPU to serve one mesh's initial lists — the inputs of
//      docs/kubernetes-mode.md's arithmetic.
// Prints a markdown table.

import { fork } from 'node:child_process';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { createMesh, silentLogger } from '@meshlet/core';
import { KubeCluster, type KubeResource } from '../../packages/core/test/interop/kube-cluster.ts';
import { cpuSeconds, rssMiB } from './proc-stats.ts';
import type { ProbeReport } from './kube-native-probe.ts';

const { values } = parseArgs({ options: { services: { type: 'string' }, pods: { type: 'string' }, fanout: { type: 'string' }, writes: { type: 'string' } } });
const SERVICES = Number(values.services ?? 1000);
const PODS = Number(values.pods ?? 10_000);
const FANOUT = Number(values.fanout ?? 100);
const WRITES = Number(values.writes ?? 300);
const NS = 'scale';
/** A namespace of 10 services: what a workload scoped with `namespaces` watches. */
const SMALL = 'small';
const log = (s: string): void => { process.stdout.write(`${s}\n`); };

/** Runs `fn` over 0..n-1 with at most `width` in flight. */
async function pool(n: number, width: number, fn: (i: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(width, n) }, async () => {
    while (next < n) await fn(next++);
  }));
}

function vs(ns: string, i: number, subset: string): KubeResource {
  return { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', metadata: { name: `svc-${i}`, namespace: ns }, spec: { hosts: [`svc-${i}.${ns}.svc.cluster.local`], http: [{ route: [{ destination: { host: `svc-${i}.${ns}.svc.cluster.local`, subset } }] }] } };
}

/** `count` services as ServiceEntry (two endpoints) + DestinationRule (two subsets) + VirtualService. */
async function istioServices(cluster: KubeCluster, ns: string, count: number): Promise<void> {
  await cluster.apply({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
  await pool(count, 8, async (i) => {
    const host = `svc-${i}.${ns}.svc.cluster.local`;
    await cluster.apply({ apiVersion: 'networking.istio.io/v1', kind: 'ServiceEntry', metadata: { name: `svc-${i}`, namespace: ns }, spec: { hosts: [host], location: 'MESH_INTERNAL', resolution: 'STATIC', ports: [{ number: 8080, name: 'http', protocol: 'HTTP' }], endpoints: [{ address: `10.2.${i >> 8}.${i & 255}`, labels: { version: 'v1' } }, { address: `10.3.${i >> 8}.${i & 255}`, labels: { version: 'v2' } }] } });
    await cluster.apply({ apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', metadata: { name: `svc-${i}`, namespace: ns }, spec: { host, subsets: [{ name: 'v1', labels: { version: 'v1' } }, { name: 'v2', labels: { version: 'v2' } }] } });
    await cluster.apply(vs(ns, i, 'v1'));
  });
}

async function populate(cluster: KubeCluster): Promise<void> {
  await istioServices(cluster, SMALL, 10);
  const t0 = performance.now();
  await istioServices(cluster, NS, SERVICES);
  log(`  ${SERVICES} ServiceEntries + DestinationRules + VirtualServices written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (PODS === 0) return;
  const t1 = performance.now();
  const perService = Math.max(1, Math.floor(PODS / SERVICES));
  await pool(PODS, 8, async (p) => {
    const svc = p % SERVICES;
    const ip = `10.${4 + (p >> 16)}.${(p >> 8) & 255}.${p & 255}`;
    await cluster.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `pod-${p}`, namespace: NS, labels: { app: `app-${svc}`, version: p % 2 === 0 ? 'v1' : 'v2' } }, spec: { containers: [{ name: 'app', image: 'registry.example.com/app:1', ports: [{ name: 'http', containerPort: 8080 }] }] } });
    // What a kubelet reports once the pod runs.
    await cluster.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `pod-${p}`, namespace: NS }, status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: 'True' }] } }, { subresource: 'status' });
  });
  await pool(SERVICES, 8, async (i) => {
    await cluster.apply({ apiVersion: 'v1', kind: 'Service', metadata: { name: `app-${i}`, namespace: NS }, spec: { selector: { app: `app-${i}` }, ports: [{ name: 'http', port: 8080, targetPort: 'http' }] } });
    const endpoints = Array.from({ length: perService }, (_, k) => {
      const p = i + k * SERVICES;
      return { addresses: [`10.${4 + (p >> 16)}.${(p >> 8) & 255}.${p & 255}`], conditions: { ready: true }, targetRef: { kind: 'Pod', name: `pod-${p}`, namespace: NS } };
    }).filter((_, k) => i + k * SERVICES < PODS);
    await cluster.apply({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: `app-${i}-1`, namespace: NS, labels: { 'kubernetes.io/service-name': `app-${i}` } }, addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], endpoints });
  });
  log(`  ${PODS} pods, ${SERVICES} Services and EndpointSlices written in ${((performance.now() - t1) / 1000).toFixed(1)} s`);
}

interface Probe {
  report: ProbeReport;
  close(): Promise<void>;
}

async function probe(kubeconfig: string, namespaces: string, count: number): Promise<Probe> {
  const script = fileURLToPath(new URL('./kube-native-probe.ts', import.meta.url));
  const child = fork(script, [kubeconfig, namespaces, String(count)], { execArgv: ['--conditions=source', '--expose-gc', '--no-warnings', '--max-old-space-size=8192'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const report = await new Promise<ProbeReport>((resolve, reject) => {
    const t = setTimeout(() => { child.kill('SIGKILL'); reject(new Error('probe timed out')); }, 900_000);
    child.once('message', (m) => { clearTimeout(t); resolve(m as ProbeReport); });
    child.once('exit', (code) => { clearTimeout(t); reject(new Error(`probe exited with ${code}`)); });
  });
  return {
    report,
    close: () => new Promise<void>((resolve) => {
      child.removeAllListeners('exit');
      child.once('exit', () => resolve());
      child.send('exit');
    }),
  };
}

function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** API server CPU seconds per VirtualService edit in the small namespace, over `WRITES` edits. */
async function apiserverCpuPerWrite(cluster: KubeCluster): Promise<number> {
  const pid = cluster.apiserverPid!;
  await new Promise((r) => setTimeout(r, 2000));
  const before = cpuSeconds(pid);
  for (let w = 0; w < WRITES; w++) await cluster.apply(vs(SMALL, w % 10, w % 2 === 0 ? 'v2' : 'v1'));
  await new Promise((r) => setTimeout(r, 2000));
  return (cpuSeconds(pid) - before) / WRITES;
}

/** Time from a VirtualService write to the routing change, in a mesh watching `ns`. */
async function writeToRoute(cluster: KubeCluster, kubeconfig: string, ns: string): Promise<number[]> {
  const mesh = await createMesh({ kubernetes: { kubeconfig, namespaces: [ns], initialSyncTimeoutMs: 600_000 }, namespace: ns, logger: silentLogger, telemetry: false });
  const lat: number[] = [];
  try {
    for (let w = 0; w < 30; w++) {
      const subset = w % 2 === 0 ? 'v2' : 'v1';
      const t0 = performance.now();
      await cluster.apply(vs(ns, 0, subset));
      for (;;) {
        const e = mesh.explain({ url: `http://svc-0.${ns}.svc.cluster.local:8080/` });
        if (e.clusters[0]?.name.split('|')[2] === subset) break;
        if (performance.now() - t0 > 10_000) throw new Error('routing change not seen in 10 s');
        await new Promise((res) => setTimeout(res, 1));
      }
      lat.push(performance.now() - t0);
      // Spaced out, as edits by people are: each one is measured from a quiet mesh (compiles
      // are spaced by twice the last one's time, see kubernetes-config-source.ts).
      await new Promise((res) => setTimeout(res, 300 + 3 * mesh.configDump().kubernetes!.lastCompileMs));
    }
  } finally {
    await mesh.close();
  }
  return lat.sort((a, b) => a - b);
}

/** CPU share of a mesh watching the big namespace while its pods churn (ready flips) for 10 s. */
async function churn(cluster: KubeCluster, kubeconfig: string): Promise<{ writes: number; compiles: number; cpuShare: number }> {
  const mesh = await createMesh({ kubernetes: { kubeconfig, namespaces: [NS], initialSyncTimeoutMs: 600_000 }, namespace: NS, logger: silentLogger, telemetry: false });
  try {
    const v0 = mesh.snapshot.version;
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    let writes = 0;
    while (performance.now() - t0 < 10_000) {
      const p = writes % PODS;
      const ip = `10.${4 + (p >> 16)}.${(p >> 8) & 255}.${p & 255}`;
      await cluster.apply({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `pod-${p}`, namespace: NS }, status: { phase: 'Running', podIP: ip, podIPs: [{ ip }], conditions: [{ type: 'Ready', status: writes % 2 === 0 ? 'False' : 'True' }] } }, { subresource: 'status' });
      writes++;
    }
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    // This process also made the writes; their share is small next to compiles of this size.
    return { writes, compiles: mesh.snapshot.version - v0, cpuShare: (cpu.user + cpu.system) / 1000 / wall };
  } finally {
    await mesh.close();
  }
}

async function main(): Promise<void> {
  log(`Kubernetes-native mode: ${SERVICES} services${PODS ? `, ${PODS} pods` : ''}`);
  const cluster = await KubeCluster.start();
  try {
    const kubeconfig = cluster.writeKubeconfig('admin');
    await populate(cluster);
    const apiPid = cluster.apiserverPid!;
    log(`  API server RSS ${rssMiB(apiPid).toFixed(0)} MiB, etcd RSS ${(cluster.rssBytes().etcd / 2 ** 20).toFixed(0)} MiB`);

    // 1. One process's first complete view.
    const apiCpu0 = cpuSeconds(apiPid);
    const one = await probe(kubeconfig, NS, 1);
    const apiCpuPerSync = cpuSeconds(apiPid) - apiCpu0;
    const r = one.report;
    log(`  first view: ${r.objects} objects over ${r.watches} watches in ${r.syncMs.toFixed(0)} ms; CPU ${r.cpuSeconds.toFixed(2)} s; heap +${r.heapMiB.toFixed(1)} MiB; RSS +${r.rssMiB.toFixed(1)} MiB; ${r.services} services, ${r.clusters} clusters; one compile ${r.compileMs.toFixed(0)} ms`);
    log(`  API server CPU to serve it: ${apiCpuPerSync.toFixed(2)} s`);
    await one.close();
    const apiCpu1 = cpuSeconds(apiPid);
    const single = await probe(kubeconfig, SMALL, 1);
    const s1 = single.report;
    log(`  first view of the 10-service namespace: ${s1.objects} objects over ${s1.watches} watches in ${s1.syncMs.toFixed(0)} ms; heap +${s1.heapMiB.toFixed(1)} MiB; one compile ${s1.compileMs.toFixed(0)} ms; API server CPU ${(cpuSeconds(apiPid) - apiCpu1).toFixed(2)} s`);
    const cpuPerWrite1 = await apiserverCpuPerWrite(cluster);
    await single.close();

    // 2. API write → routing change, in this process.
    for (const [ns, what] of [[SMALL, '10 services'], [NS, `${SERVICES} services, ${PODS} pods`]] as const) {
      const lat = await writeToRoute(cluster, kubeconfig, ns);
      log(`  API write → routing change watching ${what}: p50 ${percentile(lat, 0.5).toFixed(0)} ms, p90 ${percentile(lat, 0.9).toFixed(0)} ms, max ${lat.at(-1)!.toFixed(0)} ms (${lat.length} edits)`);
    }
    if (PODS > 0) {
      const c = await churn(cluster, kubeconfig);
      log(`  pod churn (${(c.writes / 10).toFixed(0)} status writes/s for 10 s): ${c.compiles} compiles, ${(c.cpuShare * 100).toFixed(0)}% of a core`);
    }

    // 3. Fan-out: the same writes with FANOUT meshes' watches open on the small namespace.
    const rss0 = rssMiB(apiPid);
    const many = await probe(kubeconfig, SMALL, FANOUT);
    const rss1 = rssMiB(apiPid);
    const cpuPerWriteMany = await apiserverCpuPerWrite(cluster);
    await many.close();
    log(`  API server CPU per write: ${(cpuPerWrite1 * 1000).toFixed(2)} ms with 1 mesh watching, ${(cpuPerWriteMany * 1000).toFixed(2)} ms with ${FANOUT} (${(((cpuPerWriteMany - cpuPerWrite1) / (FANOUT - 1)) * 1000).toFixed(3)} ms per extra mesh)`);
    log(`  ${FANOUT} meshes (${many.report.watches} watches each): API server RSS +${(rss1 - rss0).toFixed(0)} MiB (${(((rss1 - rss0) / FANOUT) * 1024).toFixed(0)} KiB per mesh); first views in ${many.report.syncMs.toFixed(0)} ms`);
  } finally {
    await cluster.stop();
  }
}

await main();
