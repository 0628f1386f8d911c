// HAProxy from Debian as the Envoy sidecar stand-in (no Envoy build is obtainable here). Found on
// PATH, or installed with apt-get when running as root; otherwise tests skip and say why.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { connect, createServer } from 'node:net';

export function findHaproxy(): { ok: true } | { ok: false; reason: string } {
  const have = () => {
    try {
      execFileSync('haproxy', ['-v'], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  };
  if (have()) return { ok: true };
  if (process.getuid?.() !== 0) return { ok: false, reason: 'haproxy is not installed and this is not root to apt-get install it' };
  try {
    execFileSync('apt-get', ['update'], { stdio: 'ignore', timeout: 180_000 });
    execFileSync('apt-get', ['install', '-y', 'haproxy'], { stdio: 'ignore', timeout: 300_000, env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  } catch (err) {
    return { ok: false, reason: `apt-get install -y haproxy failed: ${(err as Error).message.split('\n')[0]}` };
  }
  return have() ? { ok: true } : { ok: false, reason: 'haproxy still not found after apt-get install' };
}

export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export interface Haproxy {
  readonly pid: number;
  stop(): Promise<void>;
}

/** Starts haproxy in the foreground on `configFile`, once every port in `ports` accepts connections. */
export async function startHaproxy(configFile: string, ports: number[]): Promise<Haproxy> {
  const child: ChildProcess = spawn('haproxy', ['-db', '-f', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const until = Date.now() + 10_000;
  for (const port of ports) {
    for (;;) {
      if (child.exitCode !== null) throw new Error(`haproxy exited: ${stderr}`);
      const up = await new Promise<boolean>((r) => {
        const s = connect(port, '127.0.0.1', () => { s.destroy(); r(true); });
        s.on('error', () => r(false));
      });
      if (up) break;
      if (Date.now() > until) throw new Error(`haproxy did not listen on ${port}: ${stderr}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return {
    pid: child.pid!,
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}
