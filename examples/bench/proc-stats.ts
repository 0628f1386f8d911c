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

/** The whole machine's CPU time so far, in seconds summed over its cores (the first line of /proc/stat). */
export interface MachineCpu {
  /** user + nice + system + irq + softirq: what the machine's processes and kernel ran. */
  busy: number;
  /** idle + iowait. */
  idle: number;
  /** Time the hypervisor ran something else while this VM wanted the CPU. */
  steal: number;
}

export function machineCpu(): MachineCpu {
  const line = readFileSync('/proc/stat', 'utf8').slice(0, 256).split('\n')[0]!;
  // cpu user nice system idle iowait irq softirq steal guest guest_nice (guest is within user)
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/).slice(1, 9).map((x) => Number(x) / TICKS_PER_SECOND);
  return { busy: user! + nice! + system! + irq! + softirq!, idle: idle! + iowait!, steal: steal ?? 0 };
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
 * Waits until the processes are quiet, using at most `busyShare` of one core in each of two
 * windows of `windowMs` in a row, or until `maxMs` has passed. Resolves with how long it waited
 * (ms) and whether they went quiet. An overloaded proxy keeps working through its backlog
 * (handshakes, queued requests of clients long gone) after its client stops; the next
 * measurement must not pay for it. Two windows, because on this shared machine a busy process
 * can get no CPU at all for one of them.
 */
export async function waitQuiet(pids: readonly number[], o: { maxMs: number; windowMs?: number; busyShare?: number }): Promise<{ waitedMs: number; quiet: boolean }> {
  const windowMs = o.windowMs ?? 200;
  const busyShare = o.busyShare ?? 0.1;
  const t0 = performance.now();
  let quietWindows = 0;
  for (;;) {
    const live = pids.filter(alive);
    if (live.length === 0) return { waitedMs: performance.now() - t0, quiet: true };
    const meter = cpuMeter(live);
    await new Promise((r) => setTimeout(r, windowMs));
    const waitedMs = performance.now() - t0;
    let used: number;
    try { used = meter(); } catch { used = 0; } // a process that exited meanwhile is quiet
    quietWindows = used <= busyShare * (windowMs / 1000) ? quietWindows + 1 : 0;
    if (quietWindows >= 2) return { waitedMs, quiet: true };
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
