// The node-meshlet injection template, rendered as istiod renders it, yields the pod spec the
// auto entry needs: NODE_OPTIONS loading @meshlet/http/auto, only variables that entry reads,
// the bootstrap and certificate paths inside grpc-agent's volumes — and a process started with
// exactly that environment is in the mesh.

import { describe, expect, it } from 'vitest';
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';
import { issueDevCertificates, silentLogger, XdsServer } from '@meshlet/core';
import { AUTO_ENV } from '../../packages/http/src/auto-env.ts';
import { renderTemplate } from './render-template.ts';

const HERE = fileURLToPath(new URL('.', import.meta.url));
const REPO = fileURLToPath(new URL('../../', import.meta.url));

interface EnvVar { name: string; value?: string; valueFrom?: { fieldRef: { fieldPath: string } } }
interface Container { name: string; env: EnvVar[]; volumeMounts: { name: string; mountPath: string }[] }

// What istiod's grpc-agent template provides (istio/istio manifests/charts/istio-control/
// istio-discovery/files/grpc-agent.yaml): emptyDir volumes `istio-xds`, where istio-agent
// writes grpc-bootstrap.json, and `istio-data`, its OUTPUT_CERTS folder for the workload
// certificate that the bootstrap's file_watcher provider names.
const GRPC_AGENT_VOLUMES = new Set(['istio-xds', 'istio-data']);

function render(containers: string[]): Container[] {
  const template = readFileSync(join(HERE, 'node-meshlet-template.yaml'), 'utf8');
  const patch = parse(renderTemplate(template, { Spec: { Containers: containers.map((Name) => ({ Name })) } })) as { spec: { containers: Container[] } };
  return patch.spec.containers;
}

function underMount(path: string, c: Container): string | undefined {
  return c.volumeMounts.find((m) => path.startsWith(m.mountPath.endsWith('/') ? m.mountPath : `${m.mountPath}/`))?.name;
}

describe('the node-meshlet injection template', () => {
  it('patches every application container, and not istio-proxy', () => {
    expect(render(['productpage', 'istio-proxy', 'worker']).map((c) => c.name)).toEqual(['productpage', 'worker']);
  });

  it('sets NODE_OPTIONS to load @meshlet/http/auto, an export of the package', () => {
    const [c] = render(['app']);
    expect(c!.env.find((e) => e.name === 'NODE_OPTIONS')?.value).toBe('--import @meshlet/http/auto');
    const pkg = JSON.parse(readFileSync(join(REPO, 'packages/http/package.json'), 'utf8')) as { name: string; exports: Record<string, unknown> };
    expect(pkg.name).toBe('@meshlet/http');
    expect(Object.keys(pkg.exports)).toContain('./auto');
  });

  it('sets only variables the auto entry reads, with the bootstrap and certificates inside grpc-agent\'s volumes', () => {
    const [c] = render(['app']);
    for (const e of c!.env) expect([...AUTO_ENV, 'NODE_OPTIONS']).toContain(e.name);
    const value = (n: string) => c!.env.find((e) => e.name === n);
    expect(value('GRPC_XDS_BOOTSTRAP')?.value).toBe('/etc/istio/proxy/grpc-bootstrap.json');
    expect(underMount(value('GRPC_XDS_BOOTSTRAP')!.value!, c!)).toBe('istio-xds');
    expect(underMount(`${value('OUTPUT_CERTS')!.value!}/cert-chain.pem`, c!)).toBe('istio-data');
    for (const m of c!.volumeMounts) expect(GRPC_AGENT_VOLUMES.has(m.name)).toBe(true);
    expect(value('POD_NAMESPACE')?.valueFrom?.fieldRef.fieldPath).toBe('metadata.namespace');
    expect(value('SERVICE_ACCOUNT')?.valueFrom?.fieldRef.fieldPath).toBe('spec.serviceAccountName');
  });

  it('is what the example Deployment asks for, after grpc-agent', () => {
    const docs = parseAllDocuments(readFileSync(join(HERE, 'deployment.yaml'), 'utf8')).map((d) => d.toJS() as { kind: string; spec?: { template?: { metadata: { labels: Record<string, string>; annotations: Record<string, string> }; spec: { containers: { name: string }[] } } } });
    const pod = docs.find((d) => d.kind === 'Deployment')!.spec!.template!;
    expect(pod.metadata.annotations['inject.istio.io/templates']).toBe('grpc-agent,node-meshlet');
    expect(pod.metadata.labels['sidecar.istio.io/inject']).toBe('true');
    expect(render(pod.spec.containers.map((c) => c.name)).map((c) => c.name)).toEqual(['productpage']);
  });

  it('puts a process started with the rendered environment in the mesh', async () => {
    const root = mkdtempSync(join(tmpdir(), 'meshlet-inject-'));
    const { createServer } = await import('node:http');
    const upstream = createServer((_req, res) => res.end('reached through the mesh'));
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as { port: number }).port;
    const config = join(root, 'mesh');
    mkdirSync(config);
    writeFileSync(join(config, 'reviews.yaml'), `apiVersion: networking.istio.io/v1
kind: ServiceEntry
metadata: { name: reviews, namespace: default }
spec:
  hosts: [reviews.default.svc.cluster.local]
  resolution: STATIC
  ports: [{ number: 9080, name: http, protocol: HTTP }]
  endpoints: [{ address: 127.0.0.1, ports: { http: ${port} } }]
`);
    const xds = await XdsServer.start({ config: [config], listen: '127.0.0.1:0', logger: silentLogger, watch: false });
    try {
      // The pod's files, where grpc-agent's istio-agent would write them, under a temp root.
      const [c] = render(['app']);
      const env: Record<string, string> = { PATH: process.env['PATH'] ?? '' };
      for (const e of c!.env) env[e.name] = e.value ?? (e.valueFrom!.fieldRef.fieldPath === 'metadata.namespace' ? 'default' : 'app');
      const certs = join(root, env['OUTPUT_CERTS']!);
      issueDevCertificates({ out: certs, caDir: join(root, 'ca'), namespace: 'default', serviceAccount: 'app' });
      const bootstrap = join(root, env['GRPC_XDS_BOOTSTRAP']!);
      mkdirSync(join(bootstrap, '..'), { recursive: true });
      writeFileSync(bootstrap, JSON.stringify({
        xds_servers: [{ server_uri: xds.address, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
        node: { id: 'sidecar~127.0.0.1~app-1.default~default.svc.cluster.local', locality: {}, metadata: { GENERATOR: 'grpc', NAMESPACE: 'default' } },
        certificate_providers: { default: { plugin_name: 'file_watcher', config: { certificate_file: join(certs, 'cert-chain.pem'), private_key_file: join(certs, 'key.pem'), ca_certificate_file: join(certs, 'root-cert.pem'), refresh_interval: '600s' } } },
      }));
      env['GRPC_XDS_BOOTSTRAP'] = bootstrap;
      env['OUTPUT_CERTS'] = certs;
      // The repository runs its TypeScript sources directly.
      env['NODE_OPTIONS'] = `--conditions=source --no-warnings ${env['NODE_OPTIONS']}`;
      const app = "const r = await fetch('http://reviews:9080/'); process.stdout.write(await r.text() + '\\n');";
      const out = await new Promise<string>((resolve, reject) => {
        const child = execFile(process.execPath, ['--input-type=module', '-e', app], { cwd: join(REPO, 'packages/http'), env, timeout: 60_000 }, (err, stdout, stderr) => {
          if (stdout.includes('\n')) resolve(stdout.trim());
          else reject(new Error(`exited without output: ${String(err)} ${stderr}`));
        });
        // xDS mode keeps its control-plane stream open: stop the process once it answered.
        child.stdout!.on('data', (d: Buffer) => { if (d.includes('\n')) child.kill('SIGTERM'); });
      });
      expect(out).toBe('reached through the mesh');
      expect(relative(root, bootstrap)).toBe('etc/istio/proxy/grpc-bootstrap.json');
    } finally {
      xds.close();
      upstream.close();
      rmSync(root, { recursive: true, force: true });
    }
  }, 90_000);
});
