// Every service the config declares, whoever may see it, for the analyzers: a host answers
// "declared and visible from namespace N", "declared but not exported to N", "covered only by a
// wildcard entry" or "unknown". The compiler builds a registry per client; the analyzers look
// from the namespace of the object that refers to a host (as istioctl analyze does), for every
// namespace at once, so they keep this lighter index instead.

import { visibleTo } from '../compile/compile-context.ts';
import { serviceEntryEndpoints, type MeshEndpoint } from '../compile/compile-services.ts';
import { hostCovers, isWildcardHost, resolveShortName } from '../compile/host-names.ts';
import type { ServiceEntry, ServicePort, WorkloadEntry } from '../types.ts';

/** One host as one ServiceEntry declares it. */
export interface DeclaredService {
  host: string;
  entry: ServiceEntry;
  ports: readonly ServicePort[];
  /** Its endpoints (inline, selected WorkloadEntries, or the host itself for DNS). */
  readonly endpoints: readonly MeshEndpoint[];
}

export type HostLookup =
  | { kind: 'found'; services: DeclaredService[] }
  /** Declared, but not exported to the namespace asking. */
  | { kind: 'hidden'; services: DeclaredService[] }
  /** Only a wildcard entry covers it: routes and clusters are kept per declared host. */
  | { kind: 'wildcard'; wildcard: DeclaredService }
  | { kind: 'missing' };

export class ServiceIndex {
  readonly #byHost = new Map<string, DeclaredService[]>();
  readonly #wildcards: DeclaredService[] = [];

  constructor(entries: readonly ServiceEntry[], workloads: readonly WorkloadEntry[], clusterDomain: string) {
    for (const entry of entries) {
      for (const raw of entry.spec.hosts ?? []) {
        const host = resolveShortName(raw.toLowerCase(), entry.metadata.namespace, clusterDomain);
        let cached: MeshEndpoint[] | undefined;
        const svc: DeclaredService = {
          host,
          entry,
          ports: entry.spec.ports ?? [],
          get endpoints() {
            return (cached ??= serviceEntryEndpoints(entry, host, workloads));
          },
        };
        const list = this.#byHost.get(host);
        if (list) list.push(svc);
        else this.#byHost.set(host, [svc]);
        if (isWildcardHost(host)) this.#wildcards.push(svc);
      }
    }
  }

  /** Every declaration of `host`, visible or not. */
  declarations(host: string): readonly DeclaredService[] {
    return this.#byHost.get(host) ?? [];
  }

  /** Every declared host with its declarations. */
  all(): IterableIterator<[string, DeclaredService[]]> {
    return this.#byHost.entries();
  }

  /** How `host` (a concrete FQDN) resolves for an object in namespace `from`. */
  lookup(host: string, from: string): HostLookup {
    const declared = this.#byHost.get(host);
    if (declared) {
      const visible = declared.filter((s) => visibleTo(s.entry.spec.exportTo, s.entry.metadata.namespace, from));
      return visible.length > 0 ? { kind: 'found', services: visible } : { kind: 'hidden', services: declared };
    }
    const wildcard = this.#wildcards.find((s) => hostCovers(s.host, host) && visibleTo(s.entry.spec.exportTo, s.entry.metadata.namespace, from));
    return wildcard ? { kind: 'wildcard', wildcard } : { kind: 'missing' };
  }
}

/** "no ServiceEntry declares it" and its siblings, for messages. */
export function explainLookup(result: Exclude<HostLookup, { kind: 'found' }>, from: string): string {
  switch (result.kind) {
    case 'hidden': {
      const se = result.services[0]!.entry;
      return `ServiceEntry ${se.metadata.namespace}/${se.metadata.name} declares it but is not exported to namespace ${from}`;
    }
    case 'wildcard':
      return `only the wildcard ServiceEntry host ${result.wildcard.host} covers it, and Meshlet, like istiod's proxyless generator, keeps routes and clusters per declared host`;
    case 'missing':
      return 'no ServiceEntry declares it';
  }
}
