// Backends as child processes (./backend-process.ts) that a scenario can SIGKILL and restart on
// the same port. Every one started is tracked and killed by stopAllBackends(), by its PID.

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./backend-process.ts', import.meta.url));

export interface Backend {
  readonly name: string;
  readonly mode: string;
  port: number;
  readonly pid: number | undefined;
  readonly alive: boolean;
  /** SIGKILL, and resolves once the process has exited. */
  kill(): Promise<void>;
  /** Starts it again on the same port. */
  restart(): Promise<void>;
}

const live = new Set<ChildProcess>();

function spawnBackend(name: string, port: number, mode: string): Promise<{ child: ChildProcess; port: number }> {
  // stdin is a pipe so the child exits when this process does (see backend-process.ts).
  const child = spawn(process.execPath, [SCRIPT, name, String(port), mode], { stdio: ['pipe', 'pipe', 'pipe'] });
  live.add(child);
  child.on('exit', () => live.delete(child));
  let err = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => { err += d; });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`backend ${name} did not start in 10 s: ${err}`)), 10_000);
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      const nl = out.indexOf('\n');
      if (nl >= 0) {
        clearTimeout(timer);
        resolve({ child, port: (JSON.parse(out.slice(0, nl)) as { port: number }).port });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`backend ${name} exited with ${code} before listening: ${err}`));
    });
  });
}

function killChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

export async function startBackend(name: string, mode = 'ok', port = 0): Promise<Backend> {
  let { child, port: bound } = await spawnBackend(name, port, mode);
  const b: Backend = {
    name,
    mode,
    port: bound,
    get pid() { return child.pid; },
    get alive() { return child.exitCode === null && child.signalCode === null; },
    kill: () => killChild(child),
    async restart() {
      await killChild(child);
      // The port was just released; a bind can race the kernel for a moment, so retry briefly.
      for (let i = 0; ; i++) {
        try {
          ({ child } = await spawnBackend(name, b.port, mode));
          return;
        } catch (err) {
          if (i >= 20) throw err;
          await new Promise((r) => setTimeout(r, 50));
        }
      }
    },
  };
  return b;
}

export async function stopAllBackends(): Promise<void> {
  await Promise.all([...live].map((c) => killChild(c)));
}
