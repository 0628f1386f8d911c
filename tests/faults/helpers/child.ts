// Runs a scenario body in a child process with --expose-gc, so heap and handle counts can be
// taken after real, forced collections (vitest's worker cannot be given the flag reliably, and
// its own allocations would blur the numbers). The child prints one JSON line prefixed with
// RESULT; everything else it writes goes to this process's stderr for debugging.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export async function runChild<T>(script: string, args: string[], timeoutMs: number): Promise<T> {
  const file = fileURLToPath(new URL(`../children/${script}`, import.meta.url));
  const child = spawn(process.execPath, ['--expose-gc', '--conditions=source', file, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => { out += d; });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
  clearTimeout(timer);
  const line = out.split('\n').find((l) => l.startsWith('RESULT '));
  if (!line) throw new Error(`${script} exited with ${code} and no result (killed after ${timeoutMs} ms?):\n${out.slice(-2000)}`);
  return JSON.parse(line.slice('RESULT '.length)) as T;
}

/** Heap used after forced full collections, and the process's active handles by type. */
export interface MemorySample {
  heapUsed: number;
  handles: number;
  handleTypes: Record<string, number>;
}

export async function sampleMemory(): Promise<MemorySample> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  // Several rounds with turns of the event loop between them, so finalizers and weak
  // callbacks (undici's, FinalizationRegistry) run and what they free is collected too.
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 20));
  }
  const types = process.getActiveResourcesInfo();
  const handleTypes: Record<string, number> = {};
  for (const t of types) handleTypes[t] = (handleTypes[t] ?? 0) + 1;
  return { heapUsed: process.memoryUsage().heapUsed, handles: types.length, handleTypes };
}
