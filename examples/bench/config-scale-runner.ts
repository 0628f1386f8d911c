// Runs config-scale.ts in a fresh process with --expose-gc, so its heap numbers are its own.

import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { ConfigScaleReport } from './config-scale.ts';

export async function runConfigScale(quick: boolean, log: (s: string) => void): Promise<ConfigScaleReport | undefined> {
  const script = fileURLToPath(new URL('./config-scale.ts', import.meta.url));
  const proc = fork(script, quick ? ['quick'] : [], { execArgv: ['--conditions=source', '--expose-gc', '--no-warnings', '--max-old-space-size=8192'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const report = await new Promise<ConfigScaleReport | undefined>((resolve) => {
    const t = setTimeout(() => { proc.kill('SIGKILL'); resolve(undefined); }, 300_000);
    proc.once('message', (m) => { clearTimeout(t); resolve(m as ConfigScaleReport); });
    proc.once('exit', () => { clearTimeout(t); resolve(undefined); });
  });
  proc.kill();
  if (!report) { log('  config scale: no result'); return undefined; }
  for (const s of report.scale) {
    log(`  ${s.services} services / ${s.endpoints} endpoints (${s.clusters} clusters): compile ${s.compileMs.toFixed(0)} ms, apply ${s.applyMs.toFixed(0)} ms, heap +${s.heapMiB.toFixed(0)} MiB, one endpoint change (change set) p50 ${s.endpointChangeMs.p50.toFixed(2)} ms (p90 ${s.endpointChangeMs.p90.toFixed(2)}); endpoints map copied p50 ${s.endpointChangeCopiedMs.p50.toFixed(2)} ms; every map copied p50 ${s.endpointChangeFullSetMs.p50.toFixed(2)} ms`);
  }
  for (const m of report.routeMatch) {
    const r = m.nsPerDecide;
    log(`  ${m.routes}-route table (${m.kind}): decide() ${(r.first / 1000).toFixed(2)} µs (first route), ${(r.middle / 1000).toFixed(2)} µs (middle), ${(r.last / 1000).toFixed(2)} µs (last)`);
  }
  return report;
}
