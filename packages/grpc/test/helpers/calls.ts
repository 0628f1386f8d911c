// Promise wrappers over a generic grpc-js client, for the four call kinds.

import { Metadata, type Client, type ServiceError } from '@grpc/grpc-js';
import type { EchoReply, EchoRequest } from './echo-server.ts';

type Callback = (err: ServiceError | null, reply?: EchoReply) => void;
// The generic client's methods, as makeGenericClientConstructor builds them.
type Echo = Client & {
  unary(req: EchoRequest, md: Metadata, opts: object, cb: Callback): unknown;
  other(req: EchoRequest, md: Metadata, opts: object, cb: Callback): unknown;
  clientStream(md: Metadata, opts: object, cb: Callback): import('@grpc/grpc-js').ClientWritableStream<EchoRequest>;
  serverStream(req: EchoRequest, md: Metadata, opts: object): import('@grpc/grpc-js').ClientReadableStream<EchoReply>;
  bidi(md: Metadata, opts: object): import('@grpc/grpc-js').ClientDuplexStream<EchoRequest, EchoReply>;
};

export interface CallOpts {
  headers?: Record<string, string>;
  /** Caller deadline, ms from now. */
  deadlineMs?: number;
}

function md(opts: CallOpts): Metadata {
  const m = new Metadata();
  for (const [k, v] of Object.entries(opts.headers ?? {})) m.set(k, v);
  return m;
}

function callOpts(opts: CallOpts): object {
  return opts.deadlineMs === undefined ? {} : { deadline: Date.now() + opts.deadlineMs };
}

export interface UnaryResult {
  reply: EchoReply;
  headers: Metadata | undefined;
}

export function unary(client: Client, req: EchoRequest = {}, opts: CallOpts = {}, methodName: 'unary' | 'other' = 'unary'): Promise<UnaryResult> {
  return new Promise((resolve, reject) => {
    let headers: Metadata | undefined;
    const call = (client as Echo)[methodName](req, md(opts), callOpts(opts), (err, reply) => (err ? reject(err) : resolve({ reply: reply!, headers }))) as import('node:events').EventEmitter;
    call.on('metadata', (m: Metadata) => { headers = m; });
  });
}

/** The error a call ends with (fails the test if it succeeds). */
export async function unaryError(client: Client, req: EchoRequest = {}, opts: CallOpts = {}): Promise<ServiceError> {
  try {
    const r = await unary(client, req, opts);
    throw new Error(`expected the call to fail, got ${JSON.stringify(r.reply)}`);
  } catch (err) {
    if ((err as ServiceError).code === undefined) throw err;
    return err as ServiceError;
  }
}

export function clientStream(client: Client, texts: string[], opts: CallOpts = {}): Promise<EchoReply> {
  return new Promise((resolve, reject) => {
    const call = (client as Echo).clientStream(md(opts), callOpts(opts), (err, reply) => (err ? reject(err) : resolve(reply!)));
    for (const text of texts) call.write({ text });
    call.end();
  });
}

export function serverStream(client: Client, count: number, opts: CallOpts = {}): Promise<{ replies: EchoReply[]; error: ServiceError | undefined }> {
  return new Promise((resolve) => {
    const replies: EchoReply[] = [];
    const call = (client as Echo).serverStream({ count }, md(opts), callOpts(opts));
    call.on('data', (r: EchoReply) => replies.push(r));
    call.on('error', (error: ServiceError) => resolve({ replies, error }));
    call.on('end', () => resolve({ replies, error: undefined }));
  });
}

/** Sends each text and waits for its echo before the next, then half-closes. */
export async function bidi(client: Client, texts: string[], opts: CallOpts = {}): Promise<EchoReply[]> {
  const call = (client as Echo).bidi(md(opts), callOpts(opts));
  const replies: EchoReply[] = [];
  const queue: ((r: EchoReply) => void)[] = [];
  const failed = new Promise<never>((_, reject) => call.on('error', reject));
  call.on('data', (r: EchoReply) => { replies.push(r); queue.shift()?.(r); });
  for (const text of texts) {
    const next = new Promise<EchoReply>((resolve) => queue.push(resolve));
    call.write({ text });
    await Promise.race([next, failed]);
  }
  call.end();
  await Promise.race([new Promise((resolve) => call.on('end', resolve)), failed]);
  return replies;
}
