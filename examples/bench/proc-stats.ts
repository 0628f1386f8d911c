// CPU and memory of other processes (the server, the proxies) from /proc, so a run's cost can be
// added up across every process that did work for it. The client measures itself with
// process.cpuUsage(); these numbers are the same clock (user + system time).

import { readFileSync } from 'node:fs';

const TICKS_PER_SECOND = 100; // USER_HZ on Linux; sysconf(_SC_CLK_TCK) is 100 on every mainstream kernel.

/** User + system CPU seconds the process has used so far (all its threads). */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // The command name is in parentheses and may contain spaces: split after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the name: state is field 3, utime 14, stime 15 → indexes 11 and 12 here.
  return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
}

/** Resident set size in MiB. */
export function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return m ? Number(m[1]) / 1024 : NaN;
}

/** CPU seconds used by a set of processes between start() and the returned stop(). */
export function cpuMeter(pids: readonly number[]): () => number {
  const before = pids.map(cpuSeconds);
  return () => pids.reduce((sum, pid, i) => sum + cpuSeconds(pid) - before[i]!, 0);
}

/**
 * Waits until the processes are quiet, using under `busyShare` of one core over a window of
 * `windowMs`, or until `maxMs` has passed. Resolves with how long it waited (ms) and whether they
 * went quiet. An overloaded proxy keeps working through its backlog (handshakes, queued
 * requests of clients long gone) after its client stops; the next measurement must not pay for it.
 */
export async function waitQuiet(pids: readonly number[], o: { maxMs: number; windowMs?: number; busyShare?: number }): Promise<{ waitedMs: number; quiet: boolean }> {
  const windowMs = o.windowMs ?? 200;
  const busyShare = o.busyShare ?? 0.1;
  const t0 = performance.now();
  for (;;) {
    const meter = cpuMeter(pids.filter(alive));
    await new Promise((r) => setTimeout(r, windowMs));
    const waitedMs = performance.now() - t0;
    let used: number;
    try { used = meter(); } catch { used = 0; } // a process that exited is quiet
    if (used <= busyShare * (windowMs / 1000)) return { waitedMs, quiet: true };
    if (waitedMs >= o.maxMs) return { waitedMs, quiet: false };
  }
}

function alive(pid: number): boolean {
  try {
    readFileSync(`/proc/${pid}/stat`);
    return true;
  } catch {
    return false;
  }
}
