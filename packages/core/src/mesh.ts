// The Mesh: one process's view of the service mesh. A config source (CRD files, or an xDS
// client) hands it complete resource sets; it builds the next immutable MeshSnapshot and swaps
// it in whole, then tells the adapters. Requests read `mesh.snapshot` once and use only that.

import type { XdsResources } from './xds/resources.ts';
import { buildSnapshot } from './snapshot/build-snapshot.ts';
import { EndpointRegistry } from './snapshot/endpoint-state.ts';
import type { MeshSnapshot } from './snapshot/mesh-snapshot.ts';
import type { ClientScope } from './router/service-lookup.ts';
import { decide, type Decision } from './router/decide.ts';
import { requestView, type HeaderRecord, type RequestView } from './router/request-view.ts';
import { explainDecision, type Explanation } from './explain.ts';
import { defaultLogger, type Logger } from './logger.ts';

export interface ClientIdentity extends ClientScope {
  readonly labels: Readonly<Record<string, string>>;
  readonly serviceAccount: string | undefined;
  readonly rootNamespace: string;
}

export interface ExplainRequest {
  method?: string;
  url: string | URL;
  headers?: Record<string, string>;
}

export interface ConfigDump {
  version: number;
  source: string;
  listeners: unknown[];
  routeConfigs: unknown[];
  clusters: unknown[];
  endpoints: unknown[];
  problems: string[];
}

const EMPTY_RESOURCES: XdsResources = { listeners: new Map(), routeConfigs: new Map(), clusters: new Map(), endpoints: new Map() };

export class Mesh {
  readonly identity: ClientIdentity;
  readonly logger: Logger;
  #snapshot: MeshSnapshot;
  #registry = new EndpointRegistry();
  #subscribers = new Set<(s: MeshSnapshot) => void>();
  #closers: (() => void | Promise<void>)[] = [];
  #problems: readonly string[] = [];
  #source = 'none';
  #closed = false;

  constructor(identity: ClientIdentity, logger: Logger = defaultLogger) {
    this.identity = identity;
    this.logger = logger;
    this.#snapshot = buildSnapshot(EMPTY_RESOURCES, this.#registry, 0).snapshot;
  }

  /** The snapshot in force. Read it once per request. */
  get snapshot(): MeshSnapshot {
    return this.#snapshot;
  }

  /** Problems the last config update reported (rejected objects or resources), one line each. */
  get problems(): readonly string[] {
    return this.#problems;
  }

  /**
   * Builds and publishes a snapshot from a complete resource set. Resources that do not
   * translate are left out and reported; the rest applies. Returns the rejection messages.
   */
  applyResources(resources: XdsResources, source: string, problems: readonly string[] = []): string[] {
    const { snapshot, errors } = buildSnapshot(resources, this.#registry, this.#snapshot.version + 1);
    this.#snapshot = snapshot;
    this.#source = source;
    this.#problems = [...problems, ...errors];
    for (const e of errors) this.logger.warn({ source, error: e }, 'xDS resource rejected');
    this.logger.info({ source, version: snapshot.version, services: snapshot.services.size, clusters: snapshot.clusters.size }, 'config applied');
    for (const fn of this.#subscribers) fn(snapshot);
    return errors;
  }

  /** Records problems found while keeping the current snapshot (a broken edit, a NACK). */
  reportProblems(problems: readonly string[]): void {
    this.#problems = problems;
  }

  /** Calls `fn` with every new snapshot; returns the unsubscribe function. */
  subscribe(fn: (s: MeshSnapshot) => void): () => void {
    this.#subscribers.add(fn);
    return () => this.#subscribers.delete(fn);
  }

  /** The decision for one request, read from the current snapshot. */
  decide(req: RequestView, host: string, port: number): Decision {
    return decide(this.#snapshot, req, host, port, this.identity);
  }

  /** What would happen to this request, without sending it. */
  explain(req: ExplainRequest): Explanation {
    const url = typeof req.url === 'string' ? new URL(req.url) : req.url;
    const method = (req.method ?? 'GET').toUpperCase();
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(req.headers ?? {})) headers[k.toLowerCase()] = v;
    const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
    const scheme = url.protocol.slice(0, -1);
    const view = requestView(method, scheme, headers['host'] ?? url.host, url.pathname + url.search, headers);
    return explainDecision(this.#snapshot, view, url.hostname, port, this.identity);
  }

  /** The xDS resources in force, with the snapshot version (CSDS-like JSON). */
  configDump(): ConfigDump {
    const r = this.#snapshot.resources;
    return {
      version: this.#snapshot.version,
      source: this.#source,
      listeners: [...r.listeners.values()],
      routeConfigs: [...r.routeConfigs.values()],
      clusters: [...r.clusters.values()],
      endpoints: [...r.endpoints.values()],
      problems: [...this.#problems],
    };
  }

  /** Registers cleanup run by close() (config watchers, xDS streams, transports). */
  onClose(fn: () => void | Promise<void>): void {
    this.#closers.push(fn);
  }

  get closed(): boolean {
    return this.#closed;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#subscribers.clear();
    for (const fn of this.#closers.reverse()) await fn();
  }
}

export { requestView, type HeaderRecord, type RequestView };
