// createMesh(): the one entry point. Embedded mode reads Istio CRD files (watched); xDS mode
// reads a gRPC-style bootstrap; Kubernetes-native mode watches the Kubernetes API. With no options: GRPC_XDS_BOOTSTRAP(_CONFIG) if set, else the
// MESHLET_CONFIG folder.

import { Mesh } from './mesh.ts';
import { resolveIdentity, type IdentityOptions } from './identity.ts';
import { FileConfigSource } from './config/file-config-source.ts';
import { ConfigError } from './errors.ts';
import type { Logger } from './logger.ts';
import type { BreakerOptions } from './resilience/error-rate-breaker.ts';
import { MeshTelemetry, type TelemetryOptions } from './telemetry/mesh-telemetry.ts';
import type { MeshMode } from './mesh.ts';
import { defaultLogger } from './logger.ts';
import { PATH_NORMALIZATIONS, type PathNormalization } from './security/request-target.ts';
import type { JwksCacheOptions } from './security/jwt/jwks-cache.ts';
import { loadBootstrap, type Bootstrap } from './xds/bootstrap.ts';
import { registerBootstrapCertificateProviders } from './security/bootstrap-certificate-providers.ts';
import { XdsConfigSource, type XdsSourceOptions } from './xds/xds-config-source.ts';
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
   * Istio's MeshConfig pathNormalization, applied by the server helpers before authorization
   * and before the handler sees the request: BASE (default; RFC 3986, as Envoy's
   * normalize_path), NONE, MERGE_SLASHES, DECODE_AND_MERGE_SLASHES.
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
  const mesh = await newMesh(options, xds);
  if (config !== undefined) {
    const source = new FileConfigSource(mesh, {
      paths: Array.isArray(config) ? config : [config],
      watch: options.watch ?? true,
      ...(options.skipInvalidObjects !== undefined && { skipInvalidObjects: options.skipInvalidObjects }),
    });
    try {
      await source.load();
    } catch (err) {
      await mesh.close();
      throw err;
    }
    return mesh;
  }
  if (xds !== undefined) {
    try {
      const source = new XdsConfigSource(mesh, xds, { ...options.xds, ...(options.listeners !== undefined && { listeners: options.listeners }) });
      await source.start(options.xds?.initialFetchTimeoutMs);
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
async function newMesh(options: MeshOptions, xds: Bootstrap | undefined): Promise<Mesh> {
  const telemetry = options.telemetry === false ? undefined : await MeshTelemetry.load(options.telemetry ?? {});
  const mesh = new Mesh(resolveIdentity(xds ? { ...options, namespace: options.namespace ?? xds.namespace, labels: options.labels ?? xds.labels } : options), options.logger ?? defaultLogger, {
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
 * only here, so the other modes never load it.
 */
async function createKubernetesMesh(options: MeshOptions, kubernetes: KubernetesOptions): Promise<Mesh> {
  if (options.config !== undefined || options.bootstrap !== undefined) {
    throw new ConfigError('createMesh: pass one of config, bootstrap and kubernetes');
  }
  const mesh = await newMesh(options, undefined);
  try {
    const { KubernetesConfigSource } = await import('./config/kubernetes/kubernetes-config-source.ts');
    await KubernetesConfigSource.start(mesh, { ...kubernetes, skipInvalidObjects: kubernetes.skipInvalidObjects ?? options.skipInvalidObjects ?? true });
  } catch (err) {
    await mesh.close();
    throw err;
  }
  return mesh;
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
