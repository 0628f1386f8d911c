// A real grpc-js server on 127.0.0.1, port 0, with a hand-written service definition and JSON
// serializers (no .proto parsing). Each server answers with its own name, records what it
// received, and can be told to fail, stall or stream.

import { Server, ServerCredentials, makeGenericClientConstructor, Metadata, status, type ServiceDefinition, type ServerUnaryCall, type sendUnaryData, type ServerReadableStream, type ServerWritableStream, type ServerDuplexStream } from '@grpc/grpc-js';

export interface EchoRequest { text?: string; count?: number }
export interface EchoReply { server: string; text?: string; count?: number; path?: string; headers?: Record<string, string> }

const json = {
  serialize: (v: unknown) => Buffer.from(JSON.stringify(v)),
  deserialize: (b: Buffer) => JSON.parse(b.toString()) as unknown,
};

function method(name: string, requestStream: boolean, responseStream: boolean) {
  return {
    path: `/test.Echo/${name}`,
    requestStream,
    responseStream,
    requestSerialize: json.serialize,
    requestDeserialize: json.deserialize,
    responseSerialize: json.serialize,
    responseDeserialize: json.deserialize,
    originalName: name[0]!.toLowerCase() + name.slice(1),
  };
}

export const EchoService = {
  unary: method('Unary', false, false),
  other: method('Other', false, false),
  clientStream: method('ClientStream', true, false),
  serverStream: method('ServerStream', false, true),
  bidi: method('Bidi', true, true),
} as unknown as ServiceDefinition;

export const EchoClient = makeGenericClientConstructor(EchoService, 'Echo');

/** How a server behaves; tests change it between calls. */
export interface Behaviour {
  /** End unary and streaming calls with this status (after `messagesBeforeFailure` stream messages). */
  failWith?: { code: number; details?: string; pushbackMs?: string };
  messagesBeforeFailure?: number;
  /** Wait this long before answering. */
  delayMs?: number;
}

export interface EchoServer {
  readonly name: string;
  readonly port: number;
  behaviour: Behaviour;
  /** Calls received, by path, with their metadata and the client's address and port (one per connection). */
  readonly calls: { path: string; metadata: Record<string, unknown>; authority: string; deadlineInMs: number; peerSans: string | undefined; peer: string }[];
  close(): Promise<void>;
}

function headersOf(md: Metadata): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(md.getMap())) if (typeof v === 'string') out[k] = v;
  return out;
}

function failure(b: Behaviour): { code: number; details: string; metadata: Metadata } {
  const metadata = new Metadata();
  if (b.failWith?.pushbackMs !== undefined) metadata.set('grpc-retry-pushback-ms', b.failWith.pushbackMs);
  return { code: b.failWith!.code, details: b.failWith!.details ?? 'failing on purpose', metadata };
}

export async function startEchoServer(name: string, behaviour: Behaviour = {}, serverCredentials: ServerCredentials = ServerCredentials.createInsecure(), listenPort = 0): Promise<EchoServer> {
  const server = new Server();
  const calls: EchoServer['calls'] = [];
  const state: EchoServer = {
    name,
    port: 0,
    behaviour,
    calls,
    close: () => new Promise<void>((resolve) => server.tryShutdown(() => resolve())),
  };
  // What the server saw: metadata, the :authority, and how long its deadline left it.
  const record = (path: string, md: Metadata, call?: { getHost(): string; getDeadline(): Date | number; getAuthContext(): { sslPeerCertificate?: { subjectaltname?: string } }; getPeer(): string }) => {
    const d = call ? call.getDeadline() : Infinity;
    const at = d instanceof Date ? d.getTime() : d;
    calls.push({ path, metadata: md.getMap(), authority: call?.getHost() ?? '', deadlineInMs: at - Date.now(), peerSans: call?.getAuthContext().sslPeerCertificate?.subjectaltname, peer: call?.getPeer() ?? '' });
  };
  const later = (fn: () => void) => {
    const d = state.behaviour.delayMs ?? 0;
    if (d > 0) setTimeout(fn, d);
    else fn();
  };
  const unary = (path: string) => (call: ServerUnaryCall<EchoRequest, EchoReply>, cb: sendUnaryData<EchoReply>) => {
    record(path, call.metadata, call);
    later(() => {
      if (state.behaviour.failWith) return cb(failure(state.behaviour));
      cb(null, { server: name, text: call.request.text, path, headers: headersOf(call.metadata) });
    });
  };
  server.addService(EchoService, {
    unary: unary('/test.Echo/Unary'),
    other: unary('/test.Echo/Other'),
    clientStream: (call: ServerReadableStream<EchoRequest, EchoReply>, cb: sendUnaryData<EchoReply>) => {
      record('/test.Echo/ClientStream', call.metadata, call);
      const texts: string[] = [];
      call.on('data', (m: EchoRequest) => texts.push(m.text ?? ''));
      call.on('end', () => later(() => {
        if (state.behaviour.failWith) return cb(failure(state.behaviour));
        cb(null, { server: name, text: texts.join(','), count: texts.length });
      }));
    },
    serverStream: (call: ServerWritableStream<EchoRequest, EchoReply>) => {
      record('/test.Echo/ServerStream', call.metadata, call);
      later(() => {
        const n = call.request.count ?? 3;
        const b = state.behaviour;
        const before = b.failWith ? (b.messagesBeforeFailure ?? 0) : n;
        for (let i = 0; i < Math.min(n, before); i++) call.write({ server: name, count: i });
        if (b.failWith) call.emit('error', failure(b));
        else call.end();
      });
    },
    bidi: (call: ServerDuplexStream<EchoRequest, EchoReply>) => {
      record('/test.Echo/Bidi', call.metadata, call);
      if (state.behaviour.failWith && !state.behaviour.messagesBeforeFailure) {
        call.emit('error', failure(state.behaviour));
        return;
      }
      call.on('data', (m: EchoRequest) => call.write({ server: name, text: m.text }));
      call.on('end', () => call.end());
    },
  });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`127.0.0.1:${listenPort}`, serverCredentials, (err, p) => (err ? reject(err) : resolve(p)));
  });
  (state as { port: number }).port = port;
  return state;
}

export { status };
