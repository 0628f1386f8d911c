// One client under test, in its own process: it sets itself up (an undici Agent, a MeshAgent,
// a grpc-js channel...), warms up, then runs the load loops its parent asks for over IPC and
// answers with the numbers. One process per row keeps each client's JIT state, connection pools
// and resident memory its own, and lets the rows be run interleaved without rebuilding them.
//
// Rows that need a piece of Meshlet that is not there yet (mTLS, @meshlet/grpc, meshlet xds)
// report { skip: reason } instead of ready.

import http from 'node:http';
import { PerformanceObserver } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { PeerCertificate } from 'node:tls';
import { Agent, request, type Dispatcher } from 'undici';
import { closedLoop, openLoop, sequentialLatencies, type Send } from './load-loops.ts';
import { REQUEST_BODY, type Payload } from './payloads.ts';

export type ClientKind = 'undici' | 'undici-mtls' | 'meshlet' | 'meshlet-mtls' | 'sidecars' | 'node-http' | 'meshlet-node-http' | 'grpc-js' | 'grpc-js-xds' | 'meshlet-grpc' | 'grpc-sidecars';

export interface ClientSpec {
  kind: ClientKind;
  /** undici / sidecars: the http://127.0.0.1:port to send to. grpc-js / grpc-sidecars: host:port. */
  address?: string;
  /** Meshlet rows: a folder of Istio YAML. */
  meshConfig?: string;
  /** Meshlet mTLS: istio-agent certificate folder. undici-mtls: the same files, used by hand. */
  meshCerts?: string;
  /** undici-mtls: the SPIFFE ID the server's certificate must carry, checked by hand. */
  serverSpiffeId?: string;
  /** xDS rows: a GRPC_XDS_BOOTSTRAP file. */
  bootstrap?: string;
  /** The logical URL (HTTP) or target (gRPC) the mesh routes. */
  target?: string;
  /**
   * A young process: no warm-up. After set-up and one request (the connection) it answers
   * { ready } and then runs `young` commands, each a block of small requests one at a time,
   * answering with every latency; its parent alternates blocks between rows (latency-suite.ts).
   */
  young?: boolean;
  /**
   * Exit abruptly, as a crash would, after answering this many load commands. Only the
   * harness's own test sets it, to prove a row that dies mid-run is reported and the run goes on.
   */
  exitAfterCommands?: number;
}

export type Command =
  | { op: 'open'; payload: Payload; rate: number; seconds: number }
  | { op: 'closed'; payload: Payload; concurrency: number; seconds: number }
  | { op: 'young'; requests: number }
  | { op: 'exit' };

const ECHO_METHOD = '/bench.Echo/Echo';

/** Sends one request; a load loop aborts it through `signal` when it is left unanswered too long. */
type Sender = (payload: Payload, signal?: AbortSignal) => Promise<void>;

async function httpSender(dispatcher: Dispatcher, base: string): Promise<Sender> {
  return async (payload, signal) => {
    const res = payload === 'small'
      ? await request(`${base}/small`, { dispatcher, signal })
      : await request(`${base}/16k`, { dispatcher, method: 'POST', body: REQUEST_BODY['16k'], signal });
    await res.body.dump({ limit: 1 << 20 });
    if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode}`);
  };
}

// node:http clients (axios, got, node-fetch...) send through an http.Agent: a plain keep-alive
// one, or MeshHttpAgent.
function nodeHttpSender(agent: http.Agent, base: string): Sender {
  return (payload, signal) => new Promise<void>((resolve, reject) => {
    const req = http.request(`${base}/${payload === 'small' ? 'small' : '16k'}`, { agent, method: payload === 'small' ? 'GET' : 'POST', ...(signal && { signal }) }, (res) => {
      res.on('data', () => {});
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`HTTP ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload === 'small' ? undefined : REQUEST_BODY['16k']);
  });
}

async function grpcSender(target: string): Promise<{ send: Sender; close(): void }> {
  const grpc = await import('@grpc/grpc-js');
  const id = (b: Buffer) => b;
  const Ctor = grpc.makeGenericClientConstructor({
    Echo: { path: ECHO_METHOD, requestStream: false, responseStream: false, requestSerialize: id, requestDeserialize: id, responseSerialize: id, responseDeserialize: id, originalName: 'echo' },
  }, 'Echo');
  const client = new Ctor(target, grpc.credentials.createInsecure()) as unknown as { Echo(req: Buffer, cb: (err: Error | null, res?: Buffer) => void): { cancel(): void }; close(): void };
  const send: Sender = (payload, signal) => new Promise<void>((resolve, reject) => {
    const cancel = () => call.cancel();
    const call = client.Echo(REQUEST_BODY[payload], (err) => {
      signal?.removeEventListener('abort', cancel);
      if (err) reject(err); else resolve();
    });
    signal?.addEventListener('abort', cancel, { once: true });
  });
  return { send, close: () => client.close() };
}

async function setup(spec: ClientSpec): Promise<Sender | { skip: string }> {
  switch (spec.kind) {
    case 'undici':
    case 'sidecars':
      return httpSender(new Agent(), spec.address!);
    case 'undici-mtls': {
      // The mutual TLS Meshlet does, done by hand: the same workload certificate, key and root,
      // Node's default ciphers, keep-alive, the server's SPIFFE ID checked in place of its host name.
      const dir = spec.meshCerts!;
      const id = `URI:${spec.serverSpiffeId!}`;
      const connect = {
        cert: readFileSync(join(dir, 'cert-chain.pem')), key: readFileSync(join(dir, 'key.pem')), ca: readFileSync(join(dir, 'root-cert.pem')),
        checkServerIdentity: (_host: string, cert: PeerCertificate) => (cert.subjectaltname?.split(', ').includes(id) ? undefined : new Error(`server is not ${spec.serverSpiffeId}`)),
      };
      return httpSender(new Agent({ connect }), spec.address!);
    }
    case 'meshlet':
    case 'meshlet-mtls': {
      const { createMesh } = await import('@meshlet/core');
      const { MeshAgent } = await import('@meshlet/http');
      const mesh = await createMesh({ config: spec.meshConfig!, watch: false, ...(spec.meshCerts !== undefined && { certs: spec.meshCerts }) });
      return httpSender(new MeshAgent({ mesh }), spec.target!);
    }
    case 'node-http':
      return nodeHttpSender(new http.Agent({ keepAlive: true }), spec.address!);
    case 'meshlet-node-http': {
      const { createMesh } = await import('@meshlet/core');
      const { MeshHttpAgent } = await import('@meshlet/http');
      const mesh = await createMesh({ config: spec.meshConfig!, watch: false });
      return nodeHttpSender(new MeshHttpAgent({ mesh }), spec.target!);
    }
    case 'grpc-js':
    case 'grpc-sidecars':
      return (await grpcSender(spec.address!)).send;
    case 'grpc-js-xds': {
      process.env['GRPC_XDS_BOOTSTRAP'] = spec.bootstrap!;
      const xds = await import('@grpc/grpc-js-xds');
      xds.register();
      return (await grpcSender(spec.target!)).send;
    }
    case 'meshlet-grpc': {
      let register: ((mesh: unknown) => void) | undefined;
      try {
        ({ register } = await import('@meshlet/grpc') as { register?: (mesh: unknown) => void });
      } catch (err) {
        return { skip: `@meshlet/grpc does not load: ${(err as Error).message.split('\n')[0]}` };
      }
      if (typeof register !== 'function') return { skip: '@meshlet/grpc has no register(mesh) yet' };
      const { createMesh } = await import('@meshlet/core');
      const mesh = await createMesh({ bootstrap: spec.bootstrap!, listeners: [spec.target!.replace(/^mesh:\/\/\//, '')] });
      register(mesh);
      return (await grpcSender(spec.target!)).send;
    }
  }
}

/**
 * The client's garbage-collection pauses (PerformanceObserver 'gc'), kept as [start, duration]
 * for the command being run. A closed-loop slice reports the time spent in those that began
 * within it: a round whose client collected far more than in another round (a process settled
 * into slow scavenges, latency-suite.ts) says so in the report's profile of a bad round.
 */
const gcPauses: [number, number][] = [];
/** Started for the load loops only: a young process's latencies are measured without it. */
const observeGc = () => new PerformanceObserver((list) => { for (const e of list.getEntries()) gcPauses.push([e.startTime, e.duration]); }).observe({ entryTypes: ['gc'] });

/** Milliseconds of GC pauses that began at or after `from` (a performance.now() time). */
async function gcMsSince(from: number): Promise<number> {
  // The observer is called after the pauses, from a later task: let it run first.
  await new Promise((r) => setImmediate(r));
  let ms = 0;
  for (const [start, duration] of gcPauses) if (start >= from) ms += duration;
  gcPauses.length = 0;
  return ms;
}

async function main(): Promise<void> {
  const spec = JSON.parse(process.argv[2]!) as ClientSpec;
  let sender: Sender;
  try {
    const s = await setup(spec);
    if (typeof s !== 'function') { process.send!({ skip: s.skip }); return; }
    sender = s;
    if (spec.young) {
      await sender('small');
      process.send!({ ready: true, rss: process.memoryUsage.rss() / 2 ** 20 });
      process.on('message', (cmd: Command) => {
        void (async () => {
          if (cmd.op === 'exit') process.exit(0);
          if (cmd.op !== 'young') return;
          const latencies = await sequentialLatencies(() => sender('small'), cmd.requests);
          process.send!({ result: { latencies } });
        })();
      });
      process.on('disconnect', () => process.exit(0));
      return;
    }
    // Warm up: connections open, code paths compiled, before any measurement. A failure here
    // means the row cannot work (e.g. mTLS not wired yet): report it rather than measure errors.
    for (const payload of ['small', '16k'] as const) {
      for (let i = 0; i < 300; i++) await sender(payload);
      await closedLoop((signal) => sender(payload, signal), 16, 0.5);
    }
  } catch (err) {
    process.send!({ skip: `${spec.kind}: ${(err as Error).message.split('\n')[0]}` });
    return;
  }
  observeGc();
  process.send!({ ready: true, rss: process.memoryUsage.rss() / 2 ** 20 });
  let answered = 0;
  process.on('message', (cmd: Command) => {
    void (async () => {
      if (cmd.op === 'exit') process.exit(0);
      if (cmd.op === 'young') return;
      const send: Send = (signal) => sender(cmd.payload, signal);
      const t0 = performance.now();
      const loop = cmd.op === 'open' ? await openLoop(send, cmd.rate, cmd.seconds) : await closedLoop(send, cmd.concurrency, cmd.seconds);
      const result: typeof loop & { gcMs: number } = { ...loop, gcMs: await gcMsSince(t0) };
      process.send!({ result, rss: process.memoryUsage.rss() / 2 ** 20 }, () => {
        if (++answered === spec.exitAfterCommands) process.exit(3);
      });
    })();
  });
  process.on('disconnect', () => process.exit(0));
}

await main();
