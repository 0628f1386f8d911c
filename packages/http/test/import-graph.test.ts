// What an HTTP-only user of the embedded mode loads (issue 20, item 3): importing @meshlet/core and
// @meshlet/http, creating a mesh from a folder of YAML and sending a request through each HTTP
// adapter must load no gRPC, no xDS client or codec, no opossum, no jose and no Kubernetes client —
// those load only when their feature is configured. Checked in a fresh node per case, by the module
// files it loaded (import and require alike); the other cases show the check sees each of them.

import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const CHILD = fileURLToPath(new URL('./helpers/import-graph-child.ts', import.meta.url));
const PACKAGE_DIR = fileURLToPath(new URL('..', import.meta.url));

const FORBIDDEN: Record<string, RegExp> = {
  '@grpc/grpc-js': /\/node_modules\/@grpc\/grpc-js\//,
  'the xDS client': /\/core\/(src|dist)\/config\/xds\/(ads-client|ads-stream|xds-config-source)\.[jt]s$/,
  // The protobuf codec (~150 KB of schema and wire code): CSDS takes it on its first request.
  'the xDS codec': /\/core\/(src|dist)\/xds\/codec\//,
  opossum: /\/node_modules\/opossum\//,
  jose: /\/node_modules\/jose\//,
  '@kubernetes/client-node': /\/node_modules\/@kubernetes\/client-node\//,
};

function run(mode: string): { statuses: number[]; loaded: string[] } {
  const out = execFileSync(process.execPath, ['--conditions=source', '--no-warnings', CHILD, mode], { cwd: PACKAGE_DIR, encoding: 'utf8', timeout: 60_000 });
  return JSON.parse(out) as { statuses: number[]; loaded: string[] };
}

// Core modules an HTTP client never calls itself: createMesh() and the server helpers load them.
const SERVER_SIDE: Record<string, RegExp> = {
  "core's main entry": /\/core\/src\/index\.ts$/,
  createMesh: /\/core\/src\/create-mesh\.ts$/,
  'the mesh and its snapshot builder': /\/core\/src\/(mesh|snapshot\/build-snapshot)\.ts$/,
  'the router': /\/core\/src\/router\/(router|decide|route-index)\.ts$/,
  'the load balancers and cluster runtime': /\/core\/src\/(lb\/create-load-balancer|snapshot\/cluster-runtime)\.ts$/,
  'the Istio translation': /\/core\/src\/istio\//,
  'the server policy and inbound limits': /\/core\/src\/server\//,
  'JWT authentication': /\/core\/src\/security\/jwt\//,
  'RBAC and AuthorizationPolicy': /\/core\/src\/security\/(rbac|rbac-compile|authorization-policy|peer-authentication)\.ts$/,
  'the request-target checks': /\/core\/src\/security\/request-target\.ts$/,
  'the xDS server': /\/core\/src\/xds-server\//,
  admin: /\/core\/src\/admin\//,
};

/** The module files (import and require) a fresh node loads running `imports`, from source. */
function loadedBy(imports: string): string[] {
  const code = `import { registerHooks } from 'node:module';
const loaded = [];
registerHooks({ load(url, ctx, next) { loaded.push(url); return next(url, ctx); } });
${imports}
console.log(JSON.stringify(loaded.filter((u) => u.startsWith('file:'))));`;
  return JSON.parse(execFileSync(process.execPath, ['--conditions=source', '--no-warnings', '--input-type=module', '-e', code], { cwd: PACKAGE_DIR, encoding: 'utf8', timeout: 60_000 })) as string[];
}

function serverSide(loaded: string[]): string[] {
  return Object.entries(SERVER_SIDE).filter(([, re]) => loaded.some((u) => re.test(u))).map(([name]) => name);
}

function present(loaded: string[]): string[] {
  return Object.entries(FORBIDDEN).filter(([, re]) => loaded.some((u) => re.test(u))).map(([name]) => name);
}

describe('the HTTP-only import graph', () => {
  it('loads none of gRPC, the xDS client or codec, opossum, jose or the Kubernetes client', () => {
    const { statuses, loaded } = run('plain');
    expect(statuses).toEqual([200, 200]);
    expect(loaded.some((u) => /\/node_modules\/undici\//.test(u))).toBe(true);
    expect(present(loaded)).toEqual([]);
    // No regex in this config, so the RE2 engine is never parsed either.
    expect(loaded.filter((u) => /\/node_modules\/re2js\//.test(u))).toEqual([]);
  }, 60_000);

  it('loads opossum once a breaker is configured, and only that', () => {
    const { statuses, loaded } = run('breaker');
    expect(statuses).toEqual([200, 200]);
    expect(present(loaded)).toEqual(['opossum']);
  }, 60_000);

  it('loads the xDS client, its codec and grpc-js in xDS mode', () => {
    expect(present(run('xds').loaded)).toEqual(['@grpc/grpc-js', 'the xDS client', 'the xDS codec']);
  }, 60_000);

  it('loads grpc-js with @meshlet/grpc', () => {
    expect(present(run('grpc').loaded)).toEqual(['@grpc/grpc-js']);
  }, 60_000);

  // Issue 20, item 3: `import('@meshlet/http')` costs ≤ 2× undici's own import. The adapters take
  // what they call per request from '@meshlet/core/adapter', and MeshServer loads the server side
  // of core in listen(), so importing the package loads neither core's main entry (every export:
  // config loading, the xDS server, admin, JWT, RBAC) nor anything only a server or createMesh uses.
  it('import @meshlet/http alone loads neither core\'s main entry nor its server, config or xDS-server modules', () => {
    const http = loadedBy(`await import('@meshlet/http');`);
    expect(http.some((u) => /\/http\/src\/mesh-agent\.ts$/.test(u))).toBe(true);
    expect(http.some((u) => /\/http\/src\/server-mtls\.ts$/.test(u))).toBe(true);
    expect(serverSide(http)).toEqual([]);
    // The check sees each of them: core's main entry loads them all.
    expect(serverSide(loadedBy(`await import('@meshlet/core');`))).toEqual(Object.keys(SERVER_SIDE));
  }, 60_000);

  // An ESM import of node:http builds its ESM facade, which reads every export and so loads the
  // copy of undici bundled in Node: ~100 ms of a cold start, for nothing (Meshlet takes node:http
  // with process.getBuiltinModule). undici's own require() of node:http costs no facade.
  it('imports node:http from no Meshlet module as ESM (the import a user pays for)', () => {
    const esmImporters = (imports: string) => {
      const code = `import { registerHooks } from 'node:module';
const seen = [];
registerHooks({ resolve(spec, ctx, next) { if (/^(node:)?http$/.test(spec) && ctx.conditions.includes('import')) seen.push(ctx.parentURL); return next(spec, ctx); } });
${imports}
console.log(JSON.stringify(seen));`;
      const out = execFileSync(process.execPath, ['--conditions=source', '--no-warnings', '--input-type=module', '-e', code], { cwd: PACKAGE_DIR, encoding: 'utf8', timeout: 60_000 });
      return (JSON.parse(out) as string[]).filter((u) => /\/packages\/|\[eval/.test(u));
    };
    expect(esmImporters(`await import('@meshlet/core'); await import('@meshlet/http');`)).toEqual([]);
    // The check sees such an import when there is one.
    expect(esmImporters(`await import('node:http');`)).toHaveLength(1);
  }, 60_000);
});
