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
