// What a node:http request gets when the mesh answers it itself (a fault abort, a
// directResponse, a redirect): a socket with no network behind it that reads the request and
// answers with an HTTP/1.1 response, as an Envoy sidecar would on the loopback. So every
// client sees a real response — axios, got and superagent their usual HTTP error for a 503,
// follow-redirects (axios) and got their usual redirect handling — not an exception of ours.

import { Duplex } from 'node:stream';
import type { LocalReply } from '../local-reply.ts';

// Not an ESM import of node:http, which costs a cold start ~100 ms (see mesh-http-agent.ts).
const { STATUS_CODES } = process.getBuiltinModule('node:http');

export class ReplySocket extends Duplex {
  readonly #bytes: Buffer;
  #sent = false;
  readonly remoteAddress = '127.0.0.1';
  readonly remotePort = 0;
  readonly remoteFamily = 'IPv4';
  readonly localAddress = '127.0.0.1';
  readonly localPort = 0;
  readonly connecting = false;

  constructor(reply: LocalReply, method: string) {
    super();
    const body = Buffer.from(reply.body);
    const headers: Record<string, string> = { 'content-length': String(body.length), ...reply.headers };
    if (body.length > 0 && !headers['content-type']) headers['content-type'] = 'text/plain';
    let head = `HTTP/1.1 ${reply.status} ${STATUS_CODES[reply.status] ?? 'Unknown'}\r\n`;
    for (const [k, v] of Object.entries(headers)) head += `${k}: ${v}\r\n`;
    head += 'connection: close\r\n\r\n';
    this.#bytes = method === 'HEAD' ? Buffer.from(head, 'latin1') : Buffer.concat([Buffer.from(head, 'latin1'), body]);
    // A ClientRequest that is done with its socket gives it back: there is nothing to reuse.
    this.once('free', () => this.destroy());
  }

  override _read(): void {
    if (this.#sent) return;
    this.#sent = true;
    this.push(this.#bytes);
    this.push(null);
  }

  // The request's bytes go nowhere: the answer does not depend on them.
  override _write(_chunk: unknown, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    callback();
  }

  destroySoon(): void {
    this.end();
    this.destroy();
  }

  // The socket methods ClientRequest and clients call; none has anything to do here.
  setTimeout(_ms: number, cb?: () => void): this {
    if (cb) this.removeListener('timeout', cb);
    return this;
  }
  setNoDelay(): this { return this; }
  setKeepAlive(): this { return this; }
  ref(): this { return this; }
  unref(): this { return this; }
  address(): { address: string; family: string; port: number } {
    return { address: this.localAddress, family: 'IPv4', port: 0 };
  }
}
