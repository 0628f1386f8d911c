// What a Sidecar's egress scope saves, as for an Envoy sidecar: a client in a 1,000-service mesh
// (50 namespaces of 20 services, 10 endpoints each, every 10th service with a VirtualService and
// a DestinationRule — config-scale.ts's mesh), compiled and applied with no Sidecar and with a
// namespace default Sidecar `egress: [{ hosts: ["./*"] }]`. Each variant runs in a fresh process
// with --expose-gc: the config dump's size (JSON bytes) and the heap the applied Mesh keeps
// (after a full collection, against the same process before it).
//
//   node --conditions=source examples/bench/sidecar-scope-size.ts

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Mesh, resolveIdentity, silentLogger } from '@meshlet/core';
import { compileMesh } from '../../packages/core/src/istio/compile/compile-mesh.ts';
import type { MeshObject, SourceRef } from '../../packages/core/src/istio/types.ts';
import { generateMesh } from './config-scale.ts';

const SERVICES = 1000;
const ENDPOINTS = 10_000;

interface Measured {
  variant: string;
  listeners: number;
  clusters: number;
  endpoints: number;
  dumpBytes: number;
  heapKiB: number;
  compileMs: number;
}

const source: SourceRef = { file: 'generated.yaml', line: 1, lineOf: () => 1 };

function measure(variant: 'none' | 'scoped'): Measured {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const objects: MeshObject[] = generateMesh(SERVICES, ENDPOINTS);
  if (variant === 'scoped') {
    objects.push({ apiVersion: 'networking.istio.io/v1', kind: 'Sidecar', metadata: { name: 'default', namespace: 'ns-0' }, spec: { egress: [{ hosts: ['./*'] }] }, source } as MeshObject);
  }
  const identity = resolveIdentity({ namespace: 'ns-0' });
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const started = performance.now();
  const compiled = compileMesh(objects, identity);
  const compileMs = performance.now() - started;
  const mesh = new Mesh(identity, silentLogger);
  mesh.setMeshConfig(compiled.mesh);
  mesh.applyResources(compiled.resources, 'bench', [], { outbound: compiled.outbound, scope: compiled.scope });
  const dumpBytes = Buffer.byteLength(JSON.stringify(mesh.configDump()));
  const r = compiled.resources;
  const counts = { listeners: r.listeners.size, clusters: r.clusters.size, endpoints: [...r.endpoints.values()].reduce((n, a) => n + (a.endpoints ?? []).reduce((m, g) => m + (g.lbEndpoints?.length ?? 0), 0), 0) };
  // Only what the running mesh holds: the compile's own result goes, the objects were there before.
  (compiled as { resources?: unknown }).resources = undefined;
  gc();
  gc();
  const heapKiB = (process.memoryUsage().heapUsed - before) / 1024;
  // Keep the mesh alive until measured.
  if (mesh.snapshot.version < 0) throw new Error('unreachable');
  return { variant, ...counts, dumpBytes, heapKiB, compileMs };
}

async function runVariant(variant: string): Promise<Measured> {
  const proc = fork(fileURLToPath(import.meta.url), [variant], { execArgv: ['--conditions=source', '--expose-gc', '--no-warnings'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => { proc.kill('SIGKILL'); reject(new Error(`${variant}: no result within 120 s`)); }, 120_000);
    proc.once('message', (m) => { clearTimeout(t); proc.kill(); resolve(m as Measured); });
    proc.once('exit', (code) => { clearTimeout(t); if (code) reject(new Error(`${variant}: exit ${code}`)); });
  });
}

const arg = process.argv[2];
if (arg === 'none' || arg === 'scoped') {
  const m = measure(arg);
  if (process.send) process.send(m); else console.log(m);
} else {
  const rows = [await runVariant('none'), await runVariant('scoped')];
  const [a, b] = rows as [Measured, Measured];
  const line = (m: Measured) => `| ${m.variant === 'none' ? 'no Sidecar' : 'Sidecar `./*`'} | ${m.listeners} | ${m.clusters} | ${m.endpoints} | ${(m.dumpBytes / 1024).toFixed(0)} KiB | ${(m.heapKiB / 1024).toFixed(1)} MiB | ${m.compileMs.toFixed(0)} ms |`;
  process.stdout.write([
    `A client in namespace ns-0 of a ${SERVICES}-service mesh (${ENDPOINTS} endpoints), ${new Date().toISOString().slice(0, 10)}, Node ${process.version}:`,
    '',
    '| scope | listeners | clusters | endpoints | config dump | heap kept | compile |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    line(a),
    line(b),
    '',
    `Config dump ${(a.dumpBytes / b.dumpBytes).toFixed(0)}× smaller, heap ${(a.heapKiB / Math.max(1, b.heapKiB)).toFixed(0)}× smaller with the Sidecar.`,
    '',
  ].join('\n'));
}
