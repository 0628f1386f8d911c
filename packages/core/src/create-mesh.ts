// createMesh(): the one entry point. Embedded mode reads Istio CRD files (watched); xDS mode
// reads a gRPC-style bootstrap; Kubernetes-native mode watches the Kubernetes API. With no options:
// GRPC_XDS_BOOTSTRAP(_CONFIG) if set, else the MESHLET_CONFIG folder. A MeshConfig
// (createMesh({ meshConfig }), MESHLET_MESH_CONFIG, or a document in the folder or the cluster)
// applies to each; with defaultConfig.holdApplicationUntilProxyStarts createMesh resolves only
// once config is complete (holdUntilReady below). Each config source is imported when its mode
// is chosen, so an embedded user never loads the xDS client (nor grpc-js) and an xDS user never
// loads the YAML loader; so is the MeshConfig reader, when a MeshConfig is given.

import { Mesh } from './mesh.ts';
import { resolveIdentity, type IdentityOptions } from './identity.ts';
import { ConfigError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { BreakerOptions } from './resilience/error-rate-breaker.ts';
import { MeshTelemetry, type TelemetryOptions } from './telemetry/mesh-telemetry.ts';
import type { MeshMode } from './mesh.ts';
import { defaultLogger } from './logger.ts';
import { PATH_NORMALIZATIONS, type PathNormalization } from './security/request-target.ts';
import type { JwksCacheOptions } from './security/jwt/jwks-cache.ts';
import { loadBootstrap, type Bootstrap } from './config/xds/bootstrap.ts';
import { registerBootstrapCertificateProviders } from './security/bootstrap-certificate-providers.ts';
import type { XdsSourceOptions } from './config/xds/xds-config-source.ts';
import type { MeshConfigObject, MeshConfigSpec } from './istio/types.ts';
import { meshSettings } from './istio/mesh-config.ts';
import { formatProblem } from './config-error.ts';
import { existsSync } from 'node:fs';
import type { KubernetesOptions } from './config/kubernetes/kubernetes-config-source.ts';

export interface MeshOptions extends IdentityOptions {
  /** Istio CRD YAML: a folder (read recursively) or files. Embedded mode. */
  config?: string | string[];
  /**
   * Kubernetes-native mode: Istio's CRDs, Services, EndpointSlices, Pods, Nodes and Namespaces
   * watched live from the Kubernetes API, no istiod. `{}` uses the pod's service account;
   * `kubeconfig` / `context` a kubeconfig. `namespaces` limits what is watched.
   */
  kubernetes?: KubernetesOptions;
  /** A GRPC_XDS_BOOTSTRAP-format file. xDS mode. */
  bootstrap?: string;
  /**
   * xDS mode: listeners (`<fqdn>:<port>`, e.g. 'reviews.default.svc.cluster.local:9080') to
   * fetch before createMesh resolves; '*' fetches every listener the server has. Others are
   * fetched on first use (Mesh#ensureService, or the first request to the host).
   */
  listeners?: string[] | '*';
  /**
   * xDS mode: which of istiod's generators to ask (`generator: 'sidecar'` consumes an Envoy
   * sidecar's config; default 'grpc', the proxyless one), the listener directory, reconnect
   * back-off, does-not-exist timer, initial fetch timeout.
   */
  xds?: Omit<XdsSourceOptions, 'listeners'>;
  /**
   * Istio's MeshConfig: a file (the istio ConfigMap as kubectl prints it, or the bare MeshConfig
   * YAML, e.g. /etc/istio/config/mesh; watched) or the fields as an object. In force over any
   * MeshConfig document in `config`. Default: MESHLET_MESH_CONFIG.
   */
  meshConfig?: string | MeshConfigSpec;
  /** Re-apply config files when they change (default true). */
  watch?: boolean;
  /**
   * Embedded mode, at start-up: leave out objects with errors (a typo'd field, a bad regex, a
   * file over the size limits) and start with the rest, each error logged. Default false:
   * createMesh rejects with a ConfigError listing every error with its file:line — with no last
   * good version to fall back on, leaving an object out would silently change where traffic goes
   * (a split whose second route is invalid sends everything to the first). Later edits are not
   * affected: a file whose new version has errors keeps its last good version either way.
   * Kubernetes-native mode defaults to true instead (see KubernetesOptions.skipInvalidObjects).
   */
  skipInvalidObjects?: boolean;
  logger?: Logger;
  /**
   * Workload certificates in istio-agent's layout (cert-chain.pem, key.pem, root-cert.pem), for
   * ISTIO_MUTUAL clusters and the server helpers; registered as certificate provider "default".
   * Default: MESHLET_CERTS.
   */
  certs?: string;
  /**
   * An optional error-rate breaker per cluster, on top of Istio's rules (opossum: rolling
   * window, volume threshold, half-open trial). Off unless given.
   */
  breaker?: BreakerOptions;
  /** OpenTelemetry spans and metrics through @opentelemetry/api when installed (default on); false turns them off. */
  telemetry?: TelemetryOptions | false;
  /** 'observe' records every decision but sends requests as if Meshlet were absent. */
  mode?: MeshMode;
  /**
   * Path normalization the server helpers apply before authorization and before the handler
   * sees the request: BASE (RFC 3986, as Envoy's normalize_path), NONE, MERGE_SLASHES,
   * DECODE_AND_MERGE_SLASHES. Default: the MeshConfig's pathNormalization (BASE unless set).
   */
  pathNormalization?: PathNormalization;
  /**
   * RequestAuthentication key fetching: `refreshIntervalMs` (default PILOT_JWT_PUB_KEY_REFRESH_INTERVAL,
   * else istiod's 20 minutes).
   */
  jwks?: JwksCacheOptions;
}

function checkPathNormalization(mode: PathNormalization): PathNormalization {
  if (!PATH_NORMALIZATIONS.includes(mode)) throw new TypeError(`createMesh: pathNormalization ${JSON.stringify(mode)} must be one of ${PATH_NORMALIZATIONS.join(', ')}`);
  return mode;
}

export async function createMesh(options: MeshOptions = {}): Promise<Mesh> {
  if (options.kubernetes !== undefined) return createKubernetesMesh(options, options.kubernetes);
  const config = options.config ?? (options.bootstrap === undefined && !bootstrapFromEnv() ? process.env['MESHLET_CONFIG'] : undefined);
  const bootstrap = options.bootstrap ?? (config === undefined ? bootstrapFromEnv() : undefined);
  const xds = config === undefined && bootstrap !== undefined ? await readBootstrap(options.bootstrap) : undefined;
  const logger = options.logger ?? defaultLogger;
  const meshConfig = await readMeshConfigOption(options.meshConfig ?? process.env['MESHLET_MESH_CONFIG'], logger);
  const mesh = await newMesh(options, xds, meshConfig);
  const fetchTimeoutMs = options.xds?.initialFetchTimeoutMs ?? 15_000;
  if (config !== undefined) {
    try {
      const { FileConfigSource } = await import('./config/file-config-source.ts');
      const source = new FileConfigSource(mesh, {
        paths: Array.isArray(config) ? config : [config],
        watch: options.watch ?? true,
        meshConfig: meshConfig && ('path' in meshConfig ? { path: meshConfig.path } : { object: meshConfig.object }),
        ...(options.skipInvalidObjects !== undefined && { skipInvalidObjects: options.skipInvalidObjects }),
      });
      await source.load();
      await holdUntilReady(mesh, fetchTimeoutMs);
    } catch (err) {
      await mesh.close();
      throw err;
    }
    return mesh;
  }
  if (xds !== undefined) {
    try {
      if (meshConfig && 'path' in meshConfig) {
        const { MeshConfigFile } = await import('./config/mesh-config-file.ts');
        await new MeshConfigFile(mesh, meshConfig.path, options.watch ?? true).load();
      }
      const { XdsConfigSource } = await import('./config/xds/xds-config-source.ts');
      const source = new XdsConfigSource(mesh, xds, { ...options.xds, ...(options.listeners !== undefined && { listeners: options.listeners }) });
      await source.start(options.xds?.initialFetchTimeoutMs, mesh.meshConfig.holdApplicationUntilProxyStarts);
      await holdUntilReady(mesh, fetchTimeoutMs);
    } catch (err) {
      await mesh.close();
      throw err;
    }
    return mesh;
  }
  await mesh.close();
  throw new ConfigError('no mesh config: pass createMesh({ config: <folder of Istio YAML> }), createMesh({ bootstrap: <file> }) or createMesh({ kubernetes: {} }), or set MESHLET_CONFIG or GRPC_XDS_BOOTSTRAP');
}

/** The Mesh with its identity, telemetry and workload certificates, before any config. */
async function newMesh(options: MeshOptions, xds: Bootstrap | undefined, meshConfig: MeshConfigOption | undefined): Promise<Mesh> {
  const identity = resolveIdentity(xds ? { ...options, namespace: options.namespace ?? xds.namespace, labels: options.labels ?? xds.labels } : options);
  const telemetry = options.telemetry === false ? undefined : await MeshTelemetry.load(options.telemetry ?? {});
  const mesh = new Mesh(identity, options.logger ?? defaultLogger, {
    ...(meshConfig && 'object' in meshConfig && { meshConfig: meshSettings(meshConfig.object.spec, { rootNamespace: identity.rootNamespace, origin: meshConfig.origin }) }),
    ...(options.breaker && { breaker: options.breaker }),
    ...(telemetry && { telemetry }),
    ...(options.mode && { mode: options.mode }),
    ...(options.pathNormalization && { pathNormalization: checkPathNormalization(options.pathNormalization) }),
    ...(options.jwks && { jwks: options.jwks }),
  });
  // The bootstrap's certificate providers (istio-agent's file_watcher) first; an explicit
  // certs folder replaces instance "default".
  if (xds) registerBootstrapCertificateProviders(mesh.credentials, xds.certificateProviders, mesh.logger);
  const certs = options.certs ?? process.env['MESHLET_CERTS'];
  if (certs !== undefined) mesh.credentials.setIstioCertDir(certs);
  return mesh;
}

/**
 * Kubernetes-native mode. The source (and @kubernetes/client-node, a large module) is imported
 * only here, so the other modes never load it. The MeshConfig is the istio ConfigMap's, watched
 * in the root namespace; createMesh({ meshConfig }) (an object, or a file watched) is in force
 * over it.
 */
async function createKubernetesMesh(options: MeshOptions, kubernetes: KubernetesOptions): Promise<Mesh> {
  if (options.config !== undefined || options.bootstrap !== undefined) {
    throw new ConfigError('createMesh: pass one of config, bootstrap and kubernetes');
  }
  const meshConfig = await readMeshConfigOption(options.meshConfig ?? process.env['MESHLET_MESH_CONFIG'], options.logger ?? defaultLogger);
  const mesh = await newMesh(options, undefined, meshConfig);
  try {
    const { KubernetesConfigSource } = await import('./config/kubernetes/kubernetes-config-source.ts');
    let preferred: MeshConfigObject | undefined = meshConfig && 'object' in meshConfig ? meshConfig.object : undefined;
    let source: { meshConfigChanged(): void } | undefined;
    if (meshConfig && 'path' in meshConfig) {
      // Read before the cluster, so the first compile already has it; a later edit re-applies.
      const { MeshConfigFile } = await import('./config/mesh-config-file.ts');
      await new MeshConfigFile(mesh, meshConfig.path, options.watch ?? true, (obj) => {
        preferred = obj;
        source?.meshConfigChanged();
      }).load();
    }
    source = await KubernetesConfigSource.start(mesh, { ...kubernetes, skipInvalidObjects: kubernetes.skipInvalidObjects ?? options.skipInvalidObjects ?? true }, () => preferred);
    await holdUntilReady(mesh, options.xds?.initialFetchTimeoutMs ?? 15_000);
  } catch (err) {
    await mesh.close();
    throw err;
  }
  return mesh;
}

type MeshConfigOption = { path: string } | { object: MeshConfigObject; origin: string };

/** createMesh's meshConfig: a file to read with the config (checked to exist), or an object validated now. */
async function readMeshConfigOption(value: string | MeshConfigSpec | undefined, logger: Logger): Promise<MeshConfigOption | undefined> {
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'string') {
    if (!existsSync(value)) throw new ConfigError(`meshConfig ${value} does not exist: point createMesh({ meshConfig }) or MESHLET_MESH_CONFIG at a MeshConfig file (the istio ConfigMap, or its mesh key)`);
    return { path: value };
  }
  const { MESH_CONFIG_OPTION, optionMeshConfig } = await import('./istio/load/load-mesh-config.ts');
  const r = optionMeshConfig(value);
  const errors = r.problems.filter((p) => p.severity === 'error');
  if (errors.length > 0 || !r.object) throw new ConfigError(`${MESH_CONFIG_OPTION} is not a valid MeshConfig`, errors.map(formatProblem));
  for (const p of r.problems) logger.warn(formatProblem(p));
  return { object: r.object, origin: MESH_CONFIG_OPTION };
}

/**
 * MeshConfig defaultConfig.holdApplicationUntilProxyStarts: a sidecar holds the application
 * until Envoy is ready (its config received, its certificates issued). In-process the same
 * means: the config source has delivered (files read; in xDS mode the initial listeners, or
 * the stream, without the start-anyway fallback) and, when a workload certificate is
 * configured, it is readable and complete. Past `timeoutMs` createMesh fails instead.
 */
async function holdUntilReady(mesh: Mesh, timeoutMs: number): Promise<void> {
  if (!mesh.meshConfig.holdApplicationUntilProxyStarts) return;
  const certs = mesh.credentials.provider('default');
  if (!certs) return;
  const complete = (): boolean => {
    try {
      const m = certs.current;
      return m.cert !== undefined && m.key !== undefined && m.ca !== undefined;
    } catch {
      return false; // not readable yet (an agent still writing them)
    }
  };
  // Polled: the watcher reports changes of a set it has read, not the first read of files that
  // appear later.
  const deadline = Date.now() + timeoutMs;
  while (!complete()) {
    if (Date.now() >= deadline) throw new ConfigError(`holdApplicationUntilProxyStarts: no complete workload certificate (cert-chain.pem, key.pem, root-cert.pem) at ${certs.paths.certificateChain} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** The bootstrap (file, else GRPC_XDS_BOOTSTRAP, else GRPC_XDS_BOOTSTRAP_CONFIG), or a ConfigError saying what to fix. */
async function readBootstrap(file: string | undefined): Promise<Bootstrap> {
  const b = await loadBootstrap(file);
  if (!b.ok) throw new ConfigError(b.error);
  return b.value;
}

function bootstrapFromEnv(): string | undefined {
  if (process.env['GRPC_XDS_BOOTSTRAP']) return process.env['GRPC_XDS_BOOTSTRAP'];
  if (process.env['GRPC_XDS_BOOTSTRAP_CONFIG']) return '(GRPC_XDS_BOOTSTRAP_CONFIG)';
  return undefined;
}
