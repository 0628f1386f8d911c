// Path bypass attempts against a grpc-js server behind bindMesh (AuthorizationPolicy DENY on
// /test.Echo/Other), sent as raw h2c gRPC requests with a chosen :path and :method. grpc-js
// chooses the handler by the exact :path before any interceptor runs, so a dotted or encoded
// path reaches no handler (UNIMPLEMENTED) and the policy only ever sees a registered method's
// path, normalized as the sidecar would. The rows are the gRPC table in docs/hostile-input.md.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as h2connect } from 'node:http2';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Server, status, type ServerUnaryCall, type sendUnaryData } from '@grpc/grpc-js';
import { createMesh, silentLogger, type Mesh } from '@meshlet/core';
import { bindMesh, type MeshBinding } from '@meshlet/grpc';
import { EchoService, type EchoReply, type EchoRequest } from './helpers/echo-server.ts';

interface GrpcCase { readonly method: string; readonly path: string; readonly code: number; readonly handled: string | undefined; readonly note: string }

const CASES: readonly GrpcCase[] = [
  { method: 'POST', path: '/test.Echo/Unary', code: status.OK, handled: '/test.Echo/Unary', note: 'allowed method' },
  { method: 'POST', path: '/test.Echo/Other', code: status.PERMISSION_DENIED, handled: undefined, note: 'the rule itself' },
  { method: 'POST', path: '/test.Echo/Unary/../Other', code: status.UNIMPLEMENTED, handled: undefined, note: 'dot segments' },
  { method: 'POST', path: '/test.Echo/x/%2e%2e/Other', code: status.UNIMPLEMENTED, handled: undefined, note: 'encoded dots' },
  { method: 'POST', path: '//test.Echo/Other', code: status.UNIMPLEMENTED, handled: undefined, note: 'double slash' },
  { method: 'POST', path: '/test.Echo%2FOther', code: status.UNIMPLEMENTED, handled: undefined, note: 'escaped slash' },
  { method: 'POST', path: '/test.Echo/%4Fther', code: status.UNIMPLEMENTED, handled: undefined, note: 'encoded letter' },
  { method: 'POST', path: '/test.Echo/Other?x', code: status.UNIMPLEMENTED, handled: undefined, note: 'query string' },
  { method: 'post', path: '/test.Echo/Other', code: status.PERMISSION_DENIED, handled: undefined, note: 'lowercase method: the path still decides' },
];

const NAMES = Object.fromEntries(Object.entries(status).filter(([, v]) => typeof v === 'number').map(([k, v]) => [v, k])) as Record<number, string>;

function renderGrpcTable(cases: readonly GrpcCase[]): string {
  const rows = cases.map((c) => `| \`${c.method} ${c.path}\` | ${c.handled === undefined ? '—' : `\`${c.handled}\``} | ${NAMES[c.code]} | ${c.note} |`);
  return ['| request (h2c, DENY /test.Echo/Other) | handler reached | answer | what it tries |', '|---|---|---|---|', ...rows].join('\n');
}

let root: string;
let mesh: Mesh;
let binding: MeshBinding;
let server: Server;
const handled: string[] = [];

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'meshlet-grpc-hostile-'));
  const config = join(root, 'mesh');
  mkdirSync(config);
  writeFileSync(join(config, 'policy.yaml'), `apiVersion: security.istio.io/v1
kind: AuthorizationPolicy
metadata: { name: deny-other, namespace: default }
spec:
  action: DENY
  rules:
  - to: [{ operation: { paths: ["/test.Echo/Other"] } }]
`);
  mesh = await createMesh({ config, watch: false, logger: silentLogger, namespace: 'default' });
  server = new Server();
  const answer = (call: ServerUnaryCall<EchoRequest, EchoReply>, cb: sendUnaryData<EchoReply>) => {
    handled.push(call.getPath());
    cb(null, { server: 'echo' });
  };
  server.addService(EchoService, { unary: answer, other: answer, clientStream: () => {}, serverStream: () => {}, bidi: () => {} });
  binding = await bindMesh(server, { mesh });
});

afterAll(async () => {
  await binding?.close();
  server?.forceShutdown();
  await mesh?.close();
  rmSync(root, { recursive: true, force: true });
});

/** One gRPC call with a hand-built :path and :method; resolves with grpc-status. */
function call(port: number, method: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const session = h2connect(`http://127.0.0.1:${port}`);
    session.on('error', reject);
    const req = session.request({ ':method': method, ':path': path, ':scheme': 'http', ':authority': 'echo', 'content-type': 'application/grpc', te: 'trailers' });
    let code: number | undefined;
    const take = (h: Record<string, unknown>) => { if (h['grpc-status'] !== undefined) code = Number(h['grpc-status']); };
    req.on('response', take);
    req.on('trailers', take);
    req.on('data', () => {});
    req.on('end', () => { session.close(); code === undefined ? reject(new Error('no grpc-status')) : resolve(code); });
    req.on('error', reject);
    const body = Buffer.from('{}');
    const frame = Buffer.alloc(5 + body.length);
    frame.writeUInt32BE(body.length, 1);
    body.copy(frame, 5);
    req.end(frame);
  });
}

describe('gRPC server helpers: path bypass attempts', () => {
  for (const c of CASES) {
    it(`${c.method} ${c.path} → ${NAMES[c.code]} (${c.note})`, async () => {
      handled.length = 0;
      const code = await call(binding.port, c.method, c.path);
      expect({ code: NAMES[code], handled: handled[0] }).toEqual({ code: NAMES[c.code], handled: c.handled });
    });
  }

  it('docs/hostile-input.md holds exactly these rows', () => {
    const doc = fileURLToPath(new URL('../../../docs/hostile-input.md', import.meta.url));
    const text = readFileSync(doc, 'utf8');
    const start = '<!-- grpc-table:start -->\n';
    const end = '\n<!-- grpc-table:end -->';
    const i = text.indexOf(start);
    const j = text.indexOf(end);
    expect(i, 'the grpc-table markers in docs/hostile-input.md').toBeGreaterThanOrEqual(0);
    const table = renderGrpcTable(CASES);
    if (process.env['UPDATE_DOCS'] === '1') writeFileSync(doc, text.slice(0, i + start.length) + table + text.slice(j));
    else expect(text.slice(i + start.length, j)).toBe(table);
  });
});
