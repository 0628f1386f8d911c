// Every service the config declares, whoever may see it, for the analyzers: a host answers
// "declared and visible from namespace N", "declared but not exported to N", "covered only by a
// wildcard entry" or "unknown". The declarations are the compiler's own — ServiceEntries with
// their endpoints (compile-services.ts) and the Kubernetes registry's Services, EndpointSlices and
// Pods (kube/kube-registry.ts) — but where the compiler builds a registry per client, the
// analyzers look from the namespace of the object that refers to a host (as istioctl analyze
// does), for every namespace at once.

import { visibleTo } from '../compile/common/compile-context.ts';
import { serviceEntryEndpoints } from '../compile/clusters/compile-services.ts';
import { hostCovers, isWildcardHost, resolveShortName } from '../compile/common/host-names.ts';
import type { MeshEndpoint } from '../service-model.ts';
import type { MeshObject, ServiceEntry, ServicePort, WorkloadEntry } from '../types.ts';
import type { KubeRegistry } from '../../kube/kube-registry.ts';

/** One host as one object (a ServiceEntry, a Kubernetes Service) declares it. */
export interface DeclaredService {
  host: string;
  /** The declaring object. */
  origin: MeshObject;
  /** Its exportTo (a ServiceEntry's, a Service's networking.istio.io/exportTo); undefined: everywhere. */
  exportTo: readonly string[] | undefined;
  ports: readonly ServicePort[];
  /** Its endpoints (inline, selected WorkloadEntries, pods, or the host itself for DNS). */
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

  constructor(entries: readonly ServiceEntry[], workloads: readonly WorkloadEntry[], kube: KubeRegistry, clusterDomain: string) {
    for (const entry of entries) {
      for (const raw of entry.spec.hosts ?? []) {
        const host = resolveShortName(raw.toLowerCase(), entry.metadata.namespace, clusterDomain);
        let cached: MeshEndpoint[] | undefined;
        this.#add({
          host,
          origin: entry,
          exportTo: entry.spec.exportTo,
          ports: entry.spec.ports ?? [],
          get endpoints() {
            return (cached ??= serviceEntryEndpoints(entry, host, workloads));
          },
        });
      }
    }
    for (const { service, exportTo } of kube.services) {
      this.#add({ host: service.hostname, origin: service.origin, exportTo, ports: service.ports, endpoints: service.endpoints });
    }
    // An ExternalName Service's host is an alias: it routes as the service it names.
    for (const alias of kube.aliases) {
      for (const target of this.#byHost.get(alias.target) ?? []) {
        this.#add({ host: alias.hostname, origin: alias.origin, exportTo: alias.exportTo, ports: target.ports, endpoints: target.endpoints });
      }
    }
  }

  #add(svc: DeclaredService): void {
    const list = this.#byHost.get(svc.host);
    if (list) list.push(svc);
    else this.#byHost.set(svc.host, [svc]);
    if (isWildcardHost(svc.host)) this.#wildcards.push(svc);
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
      const seen = declared.filter((s) => visible(s, from));
      return seen.length > 0 ? { kind: 'found', services: seen } : { kind: 'hidden', services: declared };
    }
    const wildcard = this.#wildcards.find((s) => hostCovers(s.host, host) && visible(s, from));
    return wildcard ? { kind: 'wildcard', wildcard } : { kind: 'missing' };
  }
}

function visible(s: DeclaredService, from: string): boolean {
  return visibleTo(s.exportTo as string[] | undefined, s.origin.metadata.namespace, from);
}

/** "no Service or ServiceEntry declares it" and its siblings, for messages. */
export function explainLookup(result: Exclude<HostLookup, { kind: 'found' }>, from: string): string {
  switch (result.kind) {
    case 'hidden': {
      const o = result.services[0]!.origin;
      return `${o.kind} ${o.metadata.namespace}/${o.metadata.name} declares it but is not exported to namespace ${from}`;
    }
    case 'wildcard':
      return `only the wildcard ServiceEntry host ${result.wildcard.host} covers it, and Meshlet, like istiod's proxyless generator, keeps routes and clusters per declared host`;
    case 'missing':
      return 'no Service or ServiceEntry declares it';
  }
}
