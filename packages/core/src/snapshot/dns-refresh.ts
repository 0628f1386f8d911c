// STRICT_DNS and LOGICAL_DNS clusters (ServiceEntry resolution DNS / DNS_ROUND_ROBIN): their
// endpoints are host names, resolved here in the background and swapped into the cluster's
// endpoint list without a new snapshot, as Envoy's DNS clusters update their host set on their
// own timer. STRICT_DNS makes every address of a name an endpoint; LOGICAL_DNS keeps the first.
//
// When: a name is resolved at once, then again when its records expire — the smallest TTL the
// DNS answer carries (dns.resolve4/6 with ttl) — but never more often than the cluster's
// dnsRefreshRate (istiod writes the mesh default of 60 s), so a short TTL does not turn every
// client into a DNS load generator. Names the OS answers from /etc/hosts have no TTL and are
// re-read every dnsRefreshRate. Without respectDnsTtl the rate alone decides.
//
// Failures never lose what worked: a failed or empty lookup keeps the last good addresses and
// retries sooner (1 s doubling up to the refresh rate). Until a name's first answer arrives the
// name itself stays the endpoint, so a new cluster serves at once (the transport resolves it on
// connect, as it did before this resolver existed).
//
// Resolution starts when the cluster is first used (ClusterRuntime.pick), not when the config
// arrives: a mesh config may declare hundreds of external services, and a process should only
// query DNS for the ones it calls. (Envoy resolves every DNS cluster up front; a sidecar serves
// the whole pod, a library serves one process.)

import { isIP } from 'node:net';
import { readFileSync } from 'node:fs';
import { lookup, resolve4, resolve6 } from 'node:dns/promises';
import type { DnsSettings, EndpointSpec } from './translate-cluster.ts';
import type { Logger } from '../logger.ts';

/** How names are resolved; tests pass a fake, everything else uses node:dns. */
export interface DnsResolver {
  /** Every address of `name` as the OS resolver returns them (getaddrinfo, /etc/hosts included), in its order. */
  lookup(name: string, family: 0 | 4 | 6): Promise<string[]>;
  /** The smallest TTL (seconds) of the name's A/AAAA records, or undefined when not known (e.g. an /etc/hosts name). */
  ttl(name: string, family: 0 | 4 | 6): Promise<number | undefined>;
}

const FAILURE_RETRY_MS = 1000;

interface NameState {
  /** Last good addresses; undefined until the first answer. */
  addresses: string[] | undefined;
  timer: NodeJS.Timeout | undefined;
  failures: number;
  /** Bumped on every (re)start so a lookup started for an old generation is ignored. */
  generation: number;
}

/** The resolved endpoint list of one DNS cluster, kept fresh in the background. */
export class DnsEndpoints {
  readonly #logger: Logger;
  readonly #cluster: string;
  readonly #onChange: () => void;
  readonly #resolver: DnsResolver;
  #settings: DnsSettings | undefined;
  #names = new Map<string, NameState>();
  #closed = false;
  #active = false;

  constructor(cluster: string, logger: Logger, onChange: () => void, resolver: DnsResolver = systemResolver) {
    this.#cluster = cluster;
    this.#logger = logger;
    this.#onChange = onChange;
    this.#resolver = resolver;
  }

  /** A new snapshot's settings and endpoints: resolves names not seen before, forgets names gone. */
  update(settings: DnsSettings, specs: readonly EndpointSpec[]): void {
    const changed = this.#settings !== undefined && (this.#settings.refreshRateMs !== settings.refreshRateMs || this.#settings.family !== settings.family || this.#settings.respectTtl !== settings.respectTtl);
    this.#settings = settings;
    const wanted = new Set(specs.filter((s) => needsResolving(s.address)).map((s) => s.address));
    for (const [name, state] of this.#names) {
      if (wanted.has(name)) continue;
      clearTimeout(state.timer);
      this.#names.delete(name);
    }
    for (const name of wanted) {
      const state = this.#names.get(name);
      if (!state) {
        const fresh: NameState = { addresses: undefined, timer: undefined, failures: 0, generation: 0 };
        this.#names.set(name, fresh);
        if (this.#active) void this.#resolve(name, fresh);
      } else if (changed && this.#active) {
        // New rate or family: resolve again now, keeping the current addresses meanwhile.
        clearTimeout(state.timer);
        state.generation++;
        void this.#resolve(name, state);
      }
    }
  }

  /** Starts resolving (on the cluster's first use); later calls do nothing. */
  activate(): void {
    if (this.#active || this.#closed) return;
    this.#active = true;
    for (const [name, state] of this.#names) void this.#resolve(name, state);
  }

  get active(): boolean {
    return this.#active;
  }

  /** Last good addresses of a name (undefined before its first answer). */
  addresses(name: string): readonly string[] | undefined {
    return this.#names.get(name)?.addresses;
  }

  /**
   * The endpoint list for `specs` as of now: each resolved name becomes its addresses (all of
   * them for STRICT_DNS, the first for LOGICAL_DNS), an address stays itself, and a name with no
   * answer yet stays the name. `spec`'s port, weight, health, locality and labels carry over.
   */
  expand(specs: readonly EndpointSpec[]): EndpointSpec[] {
    const out: EndpointSpec[] = [];
    for (const spec of specs) {
      const resolved = needsResolving(spec.address) ? this.#names.get(spec.address)?.addresses : undefined;
      if (!resolved || resolved.length === 0) {
        out.push(spec);
        continue;
      }
      const list = this.#settings?.logical ? resolved.slice(0, 1) : resolved;
      for (const address of list) out.push({ ...spec, address });
    }
    return out;
  }

  /** Resolves every name now (tests; an operator's "refresh"). Resolves when all answers are in. */
  async refreshNow(): Promise<void> {
    this.#active = true;
    await Promise.all([...this.#names].map(([name, state]) => {
      clearTimeout(state.timer);
      state.generation++;
      return this.#resolve(name, state);
    }));
  }

  close(): void {
    this.#closed = true;
    for (const state of this.#names.values()) clearTimeout(state.timer);
    this.#names.clear();
  }

  async #resolve(name: string, state: NameState): Promise<void> {
    const settings = this.#settings!;
    const generation = state.generation;
    let addresses: string[] | undefined;
    let ttl: number | undefined;
    let error: unknown;
    try {
      addresses = await this.#resolver.lookup(name, settings.family);
      if (addresses.length === 0) error = new Error('no addresses');
      else if (settings.respectTtl && !inHostsFile(name)) ttl = await this.#resolver.ttl(name, settings.family).catch(() => undefined);
    } catch (err) {
      error = err;
    }
    if (this.#closed || this.#names.get(name) !== state || state.generation !== generation) return;
    let delay: number;
    if (error !== undefined || !addresses) {
      state.failures++;
      delay = Math.min(settings.refreshRateMs, FAILURE_RETRY_MS * 2 ** Math.min(state.failures - 1, 16));
      this.#logger.warn({ cluster: this.#cluster, host: name, error: String(error), keeping: state.addresses ?? [], retryInMs: delay }, 'DNS resolution failed; keeping the last good addresses');
    } else {
      state.failures = 0;
      const before = state.addresses;
      state.addresses = addresses;
      delay = ttl !== undefined && ttl > 0 ? Math.max(ttl * 1000, settings.refreshRateMs) : settings.refreshRateMs;
      if (!before || !sameAnswer(before, addresses, settings.logical)) {
        this.#logger.info({ cluster: this.#cluster, host: name, addresses, nextRefreshMs: delay }, 'DNS endpoints updated');
        this.#onChange();
      }
    }
    state.timer = setTimeout(() => {
      state.generation++;
      void this.#resolve(name, state);
    }, delay);
    state.timer.unref();
  }
}

/** A host-name endpoint (not an IP literal, not a Unix socket) is resolved here. */
export function needsResolving(address: string): boolean {
  return isIP(address) === 0 && !address.startsWith('unix:');
}

// STRICT_DNS does not care about order (a resolver rotating its answers is no change);
// LOGICAL_DNS uses the first address only.
function sameAnswer(a: readonly string[], b: readonly string[], logical: boolean): boolean {
  if (logical) return a[0] === b[0];
  if (a.length !== b.length) return false;
  const sa = [...a].sort();
  const sb = [...b].sort();
  return sa.every((x, i) => x === sb[i]);
}

/** Is `name` answered by /etc/hosts? Then there is no TTL to honour. Read each time: it is small and may change. */
export function inHostsFile(name: string, text?: string): boolean {
  let hosts = text;
  if (hosts === undefined) {
    try {
      hosts = readFileSync('/etc/hosts', 'utf8');
    } catch {
      return false;
    }
  }
  const wanted = name.toLowerCase().replace(/\.$/, '');
  for (const raw of hosts.split('\n')) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const [, ...names] = line.split(/\s+/);
    if (names.some((n) => n.toLowerCase() === wanted)) return true;
  }
  return false;
}

export const systemResolver: DnsResolver = {
  async lookup(name, family) {
    const found = await lookup(name, { all: true, family, order: 'verbatim' });
    return [...new Set(found.map((a) => a.address))];
  },
  async ttl(name, family) {
    const answers = await Promise.allSettled([
      family === 6 ? Promise.resolve([]) : resolve4(name, { ttl: true }),
      family === 4 ? Promise.resolve([]) : resolve6(name, { ttl: true }),
    ]);
    let min: number | undefined;
    for (const a of answers) {
      if (a.status !== 'fulfilled') continue;
      for (const r of a.value) min = min === undefined ? r.ttl : Math.min(min, r.ttl);
    }
    return min;
  },
};
