// @kubernetes/client-node is large (its generated API alone is thousands of modules' worth of
// code): only Kubernetes-native mode may load it. A fresh Node process imports core and the HTTP
// adapter, runs an embedded mesh, and reports every module URL it resolved.

import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const core = pathToFileURL(fileURLToPath(new URL('../src/index.ts', import.meta.url))).href;
const http = pathToFileURL(fileURLToPath(new URL('../../http/src/index.ts', import.meta.url))).href;

const dir = mkdtempSync(join(tmpdir(), 'meshlet-lazy-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function resolvedModules(body: string): Promise<string[]> {
  const script = join(dir, `probe-${Math.random().toString(36).slice(2)}.mjs`);
  writeFileSync(script, `import { registerHooks } from 'node:module';
const seen = [];
registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.push(r.url); return r; } });
const core = await import(${JSON.stringify(core)});
await import(${JSON.stringify(http)});
${body}
process.stdout.write(JSON.stringify(seen));
`);
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['--conditions=source', script], { cwd: dir }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${err.message}\n${stderr}`));
      else resolve(JSON.parse(stdout) as string[]);
    });
  });
}

describe('Kubernetes client loading', () => {
  it('is not loaded by importing core and the HTTP adapter and running an embedded mesh', async () => {
    writeFileSync(join(dir, 'mesh.yaml'), 'apiVersion: networking.istio.io/v1\nkind: ServiceEntry\nmetadata: { name: a }\nspec: { hosts: [a.example.com], ports: [{ number: 80, name: http }], resolution: STATIC, endpoints: [{ address: 127.0.0.1 }] }\n');
    const urls = await resolvedModules(`const mesh = await core.createMesh({ config: ${JSON.stringify(join(dir, 'mesh.yaml'))}, telemetry: false, watch: false });
mesh.explain({ url: 'http://a.example.com/' });
await mesh.close();`);
    expect(urls.length).toBeGreaterThan(50);
    expect(urls.filter((u) => u.includes('@kubernetes') || u.includes('/config/kubernetes/'))).toEqual([]);
  }, 60_000);

  it('is loaded when Kubernetes-native mode is asked for', async () => {
    // No cluster here: createMesh fails, but only after loading the source and the client.
    const urls = await resolvedModules(`delete process.env.KUBERNETES_SERVICE_HOST;
await core.createMesh({ kubernetes: {}, telemetry: false }).then(() => { throw new Error('expected a failure'); }, (e) => { if (!/not running in a cluster/.test(e.message)) throw e; });`);
    expect(urls.some((u) => u.includes('@kubernetes/client-node'))).toBe(true);
  }, 60_000);
});
