// A round in which a row's closed loop stalled is shown as stalled, with its reason, and gives no
// ratio: in a run where the proxy pair stalled, "mTLS ≥ 2× the proxy pair" read 15–98× in the
// stalled rounds and their median decided the target.

import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RowResult } from './latency-suite.ts';
import { MTLS_BY_HAND, writeReport } from './report.ts';

const PAIR = 'undici → HAProxy → mTLS → HAProxy';

/** A row whose slices ran at `rates[k]` req/s in round k (six slices a round), stalled where named. */
function row(name: string, rates: number[], stalls: (string | null)[] = rates.map(() => null)): RowResult {
  return {
    name,
    latency: {},
    throughput: { small: rates[0]! },
    throughputRounds: { small: rates },
    throughputSlices: { small: rates.map((r) => Array.from({ length: 6 }, () => r)) },
    closedStalls: { small: stalls },
    cpuPer10k: {},
    clientRssMiB: 100,
    proxyRssMiB: undefined,
  };
}

describe('report with a stalled round', () => {
  it('names the stall and leaves the round out of the ratios', () => {
    const why = '32 requests unanswered 10 s after their slice';
    const http = [
      row('undici Agent (bare client)', [4000, 4000, 4000]),
      row('Meshlet MeshAgent, mTLS', [2400, 2400, 2400]),
      row(MTLS_BY_HAND, [2500, 2500, 2500]),
      // Stalled in round 1 (50 req/s there: 48× if it counted), 1,600 req/s in rounds 2 and 3.
      row(PAIR, [50, 1600, 1600], [why, null, null]),
    ];
    const out = mkdtempSync(join(tmpdir(), 'meshlet-bench-report-'));
    try {
      writeReport(out, { date: new Date().toISOString(), machine: 'test', settings: { rates: [], concurrency: 32, closedSeconds: 0.6 }, http, grpc: undefined, scale: undefined, imports: undefined, notes: [] }, out);
      const md = readFileSync(join(out, 'benchmarks.md'), 'utf8');
      const target = md.split('\n').find((l) => l.startsWith('| mTLS throughput ≥ 2× the proxy pair (small)'))!;
      // 2400 / 1600 = 1.5 in the clean rounds: missed, not met by the stalled round's 48×.
      expect(target).toContain('**missed**');
      expect(target).toContain('median 1.50×; rounds 1.50 (blocks 1.50–1.50), 1.50 (blocks 1.50–1.50);');
      expect(target).toContain(`**stalled** (left out): round 1 (${PAIR}: ${why})`);
      expect(target).not.toContain('48.00');
      // The table by round marks it, and the list below names the reason.
      expect(md).toContain(`| ${PAIR} | small | **stalled** | 0.40 (0.40–0.40) | 0.40 (0.40–0.40) | 0.40 |`);
      expect(md).toContain(`- ${PAIR}, small, round 1: ${why}`);
      // The throughput column says the median left a round out.
      expect(md).toContain('(**stalled** in round 1: left out)');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });

  it('a row stalled in every round gives no ratio at all', () => {
    const http = [
      row('undici Agent (bare client)', [4000, 4000]),
      row('Meshlet MeshAgent, mTLS', [2400, 2400]),
      row(MTLS_BY_HAND, [2500, 2500]),
      row(PAIR, [40, 30], ['stall a', 'stall b']),
    ];
    const out = mkdtempSync(join(tmpdir(), 'meshlet-bench-report-'));
    try {
      writeReport(out, { date: new Date().toISOString(), machine: 'test', settings: { rates: [], concurrency: 32, closedSeconds: 0.6 }, http, grpc: undefined, scale: undefined, imports: undefined, notes: [] }, out);
      const md = readFileSync(join(out, 'benchmarks.md'), 'utf8');
      const target = md.split('\n').find((l) => l.startsWith('| mTLS throughput ≥ 2× the proxy pair (small)'))!;
      expect(target).toContain('not measured: stalled in every round');
      expect(target).toContain('round 1 (');
      expect(target).toContain('round 2 (');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
