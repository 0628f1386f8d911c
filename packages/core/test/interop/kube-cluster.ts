// A real Kubernetes control plane for the interop tests, built from Go modules: kube-apiserver
// (k8s.io/kubernetes v1.37.2, test/interop/kube-apiserver) over an embedded etcd
// (go.etcd.io/etcd/server/v3 v3.6.16, test/interop/kube-etcd), both on 127.0.0.1, with Istio's
// CRDs from istio.io/api v1.32.0 applied (read from the Go module cache at test time, never
// committed). No kubelet, controller-manager or scheduler: tests write the objects those would
// (EndpointSlices, pod status) themselves. Everything runs under a temp folder and stops by PID.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, fetch } from 'undici';
import { parseAllDocuments } from 'yaml';
import { buildGo, buildGoTools, withBuildLock } from './go-build.ts';

export const KUBE_VERSION = 'v1.37.2';
export const ISTIO_API_VERSION = 'v1.32.0';

/** Static tokens the API server accepts; tests bind RBAC roles to the `limited` user. */
export const USERS = {
  admin: { user: 'admin', groups: ['system:masters'] },
  limited: { user: 'meshlet-limited', groups: [] as string[] },
} as const;
export type UserName = keyof typeof USERS;

/** Builds (or finds, when up to date) kube-apiserver, kubectl and the etcd main. */
export async function buildKubeBinaries(): Promise<{ apiserver: string; kubectl: string; etcd: string }> {
  const ld = ['-s', '-w'];
  for (const p of ['k8s.io/component-base/version', 'k8s.io/client-go/pkg/version']) {
    ld.push('-X', `${p}.gitVersion=${KUBE_VERSION}`, '-X', `${p}.gitMajor=1`, '-X', `${p}.gitMinor=37`);
  }
  // Test files start together; one builds while the others wait, then find it built.
  const [kubeDir, etcd] = await withBuildLock('kube', () => Promise.all([
    buildGoTools('kube-apiserver', { packages: ['k8s.io/kubernetes/cmd/kube-apiserver', 'k8s.io/kubernetes/cmd/kubectl'], ldflags: ld.join(' ') }),
    buildGo('kube-etcd'),
  ]));
  return { apiserver: join(kubeDir, 'kube-apiserver'), kubectl: join(kubeDir, 'kubectl'), etcd };
}

/** Istio's CRD definitions, from the istio.io/api module (downloaded into the Go module cache). */
export async function istioCrdDocuments(): Promise<Record<string, unknown>[]> {
  const info = await new Promise<string>((resolve, reject) => {
    execFile('go', ['mod', 'download', '-json', `istio.io/api@${ISTIO_API_VERSION}`], { maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`go mod download istio.io/api failed: ${stderr || err.message}`));
      else resolve(stdout);
    });
  });
  const dir = (JSON.parse(info) as { Dir: string }).Dir;
  const text = readFileSync(join(dir, 'kubernetes', 'customresourcedefinitions.gen.yaml'), 'utf8');
  return parseAllDocuments(text).map((d) => d.toJS() as Record<string, unknown>).filter((d) => d && d['kind'] === 'CustomResourceDefinition');
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

interface Proc {
  child: ChildProcess;
  log: string[];
}

function startProcess(binary: string, args: string[]): Proc {
  const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
  const log: string[] = [];
  const keep = (d: string): void => {
    log.push(d);
    if (log.length > 200) log.splice(0, log.length - 200);
  };
  child.stdout!.setEncoding('utf8').on('data', keep);
  child.stderr!.setEncoding('utf8').on('data', keep);
  return { child, log };
}

async function stopProcess(p: Proc | undefined, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (!p || p.child.exitCode !== null || p.child.signalCode !== null) return;
  await new Promise<void>((resolve) => {
    const t = setTimeout(() => p.child.kill('SIGKILL'), 10_000);
    p.child.once('exit', () => { clearTimeout(t); resolve(); });
    p.child.kill(signal);
  });
}

export interface RequestOptions {
  as?: UserName;
  contentType?: string;
  query?: Record<string, string>;
}

export class KubeApiRequestError extends Error {
  readonly status: number;
  readonly body: string;
  constructor(status: number, body: string) {
    super(`HTTP ${status}: ${body.slice(0, 500)}`);
    this.status = status;
    this.body = body;
  }
}

/** An object as the API takes it: the envelope, and whatever else its kind has. */
export interface KubeResource {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

export class KubeCluster {
  readonly dir: string;
  readonly binaries: { apiserver: string; kubectl: string; etcd: string };
  readonly #tokens: Record<UserName, string>;
  #etcd: Proc | undefined;
  #apiserver: Proc | undefined;
  #etcdPort = 0;
  #etcdPeerPort = 0;
  #port = 0;
  #ca = '';
  #agent: Agent | undefined;

  private constructor(binaries: KubeCluster['binaries']) {
    this.binaries = binaries;
    this.dir = mkdtempSync(join(tmpdir(), 'meshlet-kube-'));
    this.#tokens = { admin: randomBytes(16).toString('hex'), limited: randomBytes(16).toString('hex') };
  }

  /** Builds what is missing, starts etcd and the API server, and applies Istio's CRDs. */
  static async start(): Promise<KubeCluster> {
    const cluster = new KubeCluster(await buildKubeBinaries());
    try {
      await cluster.#startEtcd();
      await cluster.startApiserver();
      await cluster.applyIstioCrds();
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  get server(): string {
    return `https://127.0.0.1:${this.#port}`;
  }

  get port(): number {
    return this.#port;
  }

  /** The API server's self-signed serving certificate, which is also its CA. */
  get caPem(): string {
    return this.#ca;
  }

  get apiserverPid(): number | undefined {
    return this.#apiserver?.child.pid;
  }

  async #startEtcd(): Promise<void> {
    this.#etcdPort = await freePort();
    this.#etcdPeerPort = await freePort();
    const data = join(this.dir, 'etcd');
    this.#etcd = startProcess(this.binaries.etcd, ['--data-dir', data, '--client-port', String(this.#etcdPort), '--peer-port', String(this.#etcdPeerPort)]);
    const etcd = this.#etcd;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`etcd did not start in 60 s: ${etcd.log.join('').slice(-2000)}`)), 60_000);
      const check = (): void => {
        if (etcd.log.join('').includes('listening on ')) { clearTimeout(t); resolve(); }
      };
      etcd.child.stdout!.on('data', check);
      etcd.child.once('exit', (code) => { clearTimeout(t); reject(new Error(`etcd exited with ${code}: ${etcd.log.join('').slice(-2000)}`)); });
      check();
    });
  }

  /** Starts (or restarts, on the same port and etcd) the API server and waits for /readyz. */
  async startApiserver(extraArgs: string[] = []): Promise<void> {
    if (this.#port === 0) this.#port = await freePort();
    const certDir = join(this.dir, 'certs');
    mkdirSync(certDir, { recursive: true });
    const saKey = join(this.dir, 'sa.key');
    const saPub = join(this.dir, 'sa.pub');
    if (!existsSync(saKey)) {
      const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
      writeFileSync(saKey, privateKey.export({ type: 'pkcs8', format: 'pem' }));
      writeFileSync(saPub, publicKey.export({ type: 'spki', format: 'pem' }));
    }
    const tokens = join(this.dir, 'tokens.csv');
    writeFileSync(tokens, (Object.keys(USERS) as UserName[]).map((u) => `${this.#tokens[u]},${USERS[u].user},${USERS[u].user}-uid,"${USERS[u].groups.join(',')}"`).join('\n') + '\n');
    this.#apiserver = startProcess(this.binaries.apiserver, [
      `--etcd-servers=http://127.0.0.1:${this.#etcdPort}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${this.#port}`,
      // The default reconciler refuses 127.0.0.1 as the kubernetes Service's endpoint.
      '--endpoint-reconciler-type=none',
      `--cert-dir=${certDir}`,
      `--token-auth-file=${tokens}`,
      '--authorization-mode=RBAC',
      '--service-account-issuer=https://kubernetes.default.svc',
      `--service-account-key-file=${saPub}`,
      `--service-account-signing-key-file=${saKey}`,
      '--service-cluster-ip-range=10.96.0.0/16',
      // No controller-manager creates the default service account.
      '--disable-admission-plugins=ServiceAccount',
      ...extraArgs,
    ]);
    const apiserver = this.#apiserver;
    let exited: string | undefined;
    apiserver.child.once('exit', (code) => { exited = `kube-apiserver exited with ${code}: ${apiserver.log.join('').slice(-3000)}`; });
    const deadline = Date.now() + 90_000;
    for (;;) {
      if (exited) throw new Error(exited);
      if (Date.now() > deadline) throw new Error(`kube-apiserver not ready in 90 s: ${apiserver.log.join('').slice(-3000)}`);
      try {
        this.#ca = readFileSync(join(certDir, 'apiserver.crt'), 'utf8');
        await this.#agent?.close();
        this.#agent = new Agent({ connect: { ca: this.#ca } });
        const res = await fetch(`${this.server}/readyz`, { dispatcher: this.#agent, headers: { authorization: `Bearer ${this.#tokens.admin}` } });
        await res.text();
        if (res.status === 200) return;
      } catch {
        // not listening yet, or the certificate not written yet
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** Stops the API server (etcd keeps the data), as a crash or a rolling upgrade would. */
  async stopApiserver(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    await stopProcess(this.#apiserver, signal);
    this.#apiserver = undefined;
  }

  /**
   * A kubeconfig file for one of the static users, or for a bearer token (a service account's,
   * from serviceAccountToken()); `server` replaces the API server's address (a proxy).
   */
  writeKubeconfig(as: UserName | { token: string } = 'admin', opts: { server?: string } = {}): string {
    const user = typeof as === 'string' ? as : 'token';
    const token = typeof as === 'string' ? this.#tokens[as] : as.token;
    const file = join(this.dir, `kubeconfig-${user}-${randomBytes(4).toString('hex')}`);
    const ca = Buffer.from(this.#ca).toString('base64');
    writeFileSync(file, `apiVersion: v1
kind: Config
clusters:
- name: test
  cluster: { server: "${opts.server ?? this.server}", certificate-authority-data: ${ca} }
users:
- name: ${user}
  user: { token: ${token} }
contexts:
- name: ${user}@test
  context: { cluster: test, user: ${user} }
current-context: ${user}@test
`);
    return file;
  }

  /** A bound token of a ServiceAccount (TokenRequest), what a pod's projected volume holds. */
  async serviceAccountToken(namespace: string, name: string): Promise<string> {
    const res = await this.request('POST', `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`, {
      apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { expirationSeconds: 3600 },
    });
    return res.status.token as string;
  }

  /** One API request as JSON. Throws KubeApiRequestError on a non-2xx answer. */
  async request(method: string, path: string, body?: unknown, opts: RequestOptions = {}): Promise<any> {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(opts.query ?? {})) url.searchParams.set(k, v);
    const res = await fetch(url, {
      method,
      dispatcher: this.#agent!,
      headers: {
        authorization: `Bearer ${this.#tokens[opts.as ?? 'admin']}`,
        accept: 'application/json',
        ...(body !== undefined && { 'content-type': opts.contentType ?? 'application/json' }),
      },
      ...(body !== undefined && { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await res.text();
    if (res.status < 200 || res.status > 299) throw new KubeApiRequestError(res.status, text);
    return text === '' ? undefined : JSON.parse(text);
  }

  /** Server-side apply of one object (create or update), as `kubectl apply --server-side --force-conflicts`. */
  async apply(obj: KubeResource, opts: { subresource?: string } = {}): Promise<any> {
    const path = objectPath(obj) + (opts.subresource ? `/${opts.subresource}` : '');
    return this.request('PATCH', path, obj, { contentType: 'application/apply-patch+yaml', query: { fieldManager: 'meshlet-test', force: 'true' } });
  }

  async delete(obj: KubeResource): Promise<void> {
    await this.request('DELETE', objectPath(obj));
  }

  async applyIstioCrds(): Promise<void> {
    const crds = await istioCrdDocuments();
    for (const crd of crds) await this.apply(crd as unknown as KubeResource);
    // Served once Established; until then creating a resource of the kind 404s.
    const names = crds.map((c) => (c['metadata'] as { name: string }).name);
    const deadline = Date.now() + 60_000;
    for (const name of names) {
      for (;;) {
        const crd = await this.request('GET', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${name}`);
        const conditions = (crd.status?.conditions ?? []) as { type: string; status: string }[];
        if (conditions.some((c) => c.type === 'Established' && c.status === 'True')) break;
        if (Date.now() > deadline) throw new Error(`CRD ${name} not established in 60 s`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  /** Resident memory of the API server and etcd, from /proc. */
  rssBytes(): { apiserver: number; etcd: number } {
    const rss = (p: Proc | undefined): number => {
      if (!p?.child.pid) return 0;
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p.child.pid}/status`, 'utf8'));
      return m ? Number(m[1]) * 1024 : 0;
    };
    return { apiserver: rss(this.#apiserver), etcd: rss(this.#etcd) };
  }

  async stop(): Promise<void> {
    await stopProcess(this.#apiserver);
    if (this.#etcd?.child.stdin && !this.#etcd.child.stdin.destroyed) this.#etcd.child.stdin.end();
    await stopProcess(this.#etcd);
    await this.#agent?.close();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The REST path of an object, from its apiVersion and kind (the kinds the tests write). */
export function objectPath(obj: KubeResource): string {
  const lower = obj.kind.toLowerCase();
  const plural = PLURALS[obj.kind] ?? (lower.endsWith('y') ? `${lower.slice(0, -1)}ies` : `${lower}s`);
  const base = obj.apiVersion.includes('/') ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
  const ns = obj.metadata.namespace === undefined || CLUSTER_SCOPED.has(obj.kind) ? '' : `/namespaces/${obj.metadata.namespace}`;
  return `${base}${ns}/${plural}/${obj.metadata.name}`;
}

const PLURALS: Record<string, string> = { Endpoints: 'endpoints' };
const CLUSTER_SCOPED = new Set(['Namespace', 'Node', 'ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition']);
