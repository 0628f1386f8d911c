// Pod addresses a test can send real traffic to. Kubernetes refuses loopback addresses in
// EndpointSlices, so "pods" here live in a network namespace of their own, joined to this one
// by a veth pair on a private /24 (10.213.N.0/24): each pod address is an HTTP server inside
// the namespace that answers with its own address. Needs root and `ip`; everything is removed
// on close (the namespace takes the veth pair with it), and the server stops by its PID.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomInt } from 'node:crypto';

export const CAN_NETNS = process.getuid?.() === 0 && spawnSync('ip', ['netns', 'list']).status === 0;

function ip(...args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr}`);
}

// The servers: one HTTP listener per address on `port`, each answering with its own address.
// Commands on stdin ("listen <addr>"), an "ok <addr>" line once listening.
const SERVER = `
const http = require('node:http');
const rl = require('node:readline').createInterface({ input: process.stdin });
rl.on('line', (line) => {
  const [cmd, addr, port] = line.split(' ');
  if (cmd !== 'listen') return;
  http.createServer((req, res) => res.end(req.socket.localAddress)).listen(Number(port), addr, () => process.stdout.write('ok ' + addr + '\\n'));
});
rl.on('close', () => process.exit(0));
`;

export class PodNetwork {
  readonly name: string;
  readonly port: number;
  readonly #prefix: string;
  /** The veth end inside the namespace, which carries the pod addresses. */
  readonly #peer: string;
  readonly #server: ChildProcess;
  readonly #waiting = new Map<string, () => void>();
  #next = 2;

  private constructor(name: string, prefix: string, peer: string, port: number) {
    this.name = name;
    this.#prefix = prefix;
    this.#peer = peer;
    this.port = port;
    this.#server = spawn('ip', ['netns', 'exec', name, process.execPath, '-e', SERVER], { stdio: ['pipe', 'pipe', 'inherit'] });
    let buf = '';
    this.#server.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i >= 0; i = buf.indexOf('\n')) {
        const [, addr] = buf.slice(0, i).split(' ');
        buf = buf.slice(i + 1);
        this.#waiting.get(addr!)?.();
      }
    });
  }

  /** A namespace and veth pair on a free 10.213.N.0/24, with the host side at .1. */
  static create(port = 9080): PodNetwork {
    const used = spawnSync('ip', ['-o', 'addr'], { encoding: 'utf8' }).stdout;
    let n = randomInt(1, 254);
    while (used.includes(`10.213.${n}.`)) n = (n % 253) + 1;
    const id = `${process.pid % 10000}${n}`;
    const name = `meshlet-${id}`;
    const [host, peer] = [`mlh${id}`, `mlp${id}`];
    ip('netns', 'add', name);
    try {
      ip('link', 'add', host, 'type', 'veth', 'peer', 'name', peer);
      ip('link', 'set', peer, 'netns', name);
      ip('addr', 'add', `10.213.${n}.1/24`, 'dev', host);
      ip('link', 'set', host, 'up');
      ip('-n', name, 'link', 'set', peer, 'up');
      ip('-n', name, 'link', 'set', 'lo', 'up');
    } catch (err) {
      spawnSync('ip', ['netns', 'del', name]);
      throw err;
    }
    return new PodNetwork(name, `10.213.${n}`, peer, port);
  }

  /** A new pod address with a server listening on it. */
  async addPod(): Promise<string> {
    const addr = `${this.#prefix}.${this.#next++}`;
    ip('-n', this.name, 'addr', 'add', `${addr}/24`, 'dev', this.#peer);
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no server on ${addr} after 10 s`)), 10_000);
      this.#waiting.set(addr, () => { clearTimeout(t); this.#waiting.delete(addr); resolve(); });
      this.#server.stdin!.write(`listen ${addr} ${this.port}\n`);
    });
    return addr;
  }

  async close(): Promise<void> {
    if (this.#server.exitCode === null && this.#server.signalCode === null) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(() => this.#server.kill('SIGKILL'), 3000);
        this.#server.once('exit', () => { clearTimeout(t); resolve(); });
        this.#server.stdin!.end();
      });
    }
    spawnSync('ip', ['netns', 'del', this.name]);
  }
}
