// DestinationRule traffic policies (top level, per subset, per port), checked as istiod's webhook
// does (istio/istio pkg/config/validation validation.go validateTrafficPolicy and
// agent/validation.go ValidateTLS / ValidateLocalityLbSetting). Ranges the CRD schema already
// enforces (enums, uint32, durations) are not repeated here.

import type { ClientTLSSettings, ConnectionPoolSettings, LoadBalancerSettings, OutlierDetection, TrafficPolicy } from '../types.ts';
import { checkFqdn, checkPort, isIpAddress, type FieldPath, type Report } from './validate-common.ts';

/** Fields the CRD has and ./types.ts leaves out because the compiler does not read them. */
type LoadBalancerInput = LoadBalancerSettings & {
  consistentHash?: LoadBalancerSettings['consistentHash'] & { httpCookie?: { name: string; attributes?: { name: string }[] } };
  zoneAwareLbSetting?: { failover?: { from?: string; to?: string }[]; failoverPriority?: string[] };
};
type ConnectionPoolInput = ConnectionPoolSettings & {
  http?: ConnectionPoolSettings['http'] & { http2KeepAlive?: { interval?: string; timeout?: string } };
};
type PortPolicyInput = {
  port?: { number?: number };
  loadBalancer?: LoadBalancerInput;
  connectionPool?: ConnectionPoolInput;
  outlierDetection?: OutlierDetection;
  tls?: ClientTLSSettings & { caCrl?: string };
};
export type TrafficPolicyInput = Omit<TrafficPolicy, 'portLevelSettings' | 'tunnel'> &
  PortPolicyInput & {
    portLevelSettings?: PortPolicyInput[];
    tunnel?: { protocol?: string; targetHost: string; targetPort: number };
  };

const TOPOLOGY_LABELS = new Set(['topology.kubernetes.io/region', 'topology.kubernetes.io/zone', 'topology.istio.io/subzone']);
const MAGLEV_TABLE_LIMIT = 5000011;

export function validateTrafficPolicy(tp: TrafficPolicyInput | undefined, namespace: string, path: FieldPath, r: Report): void {
  if (!tp) return;
  const blocks = ['outlierDetection', 'connectionPool', 'loadBalancer', 'tls', 'portLevelSettings', 'tunnel', 'proxyProtocol', 'retryBudget'] as const;
  if (!blocks.some((b) => tp[b] !== undefined)) {
    r.error(path, 'trafficPolicy is empty; set at least one of its fields or remove it');
    return;
  }
  if (tp.tunnel !== undefined && tp.proxyProtocol !== undefined) {
    r.error([...path, 'tunnel'], 'tunnel and proxyProtocol cannot be set together');
    return;
  }
  checkOutlierDetection(tp.outlierDetection, [...path, 'outlierDetection'], r);
  checkConnectionPool(tp.connectionPool, [...path, 'connectionPool'], r);
  checkLoadBalancer(tp.loadBalancer, tp.outlierDetection, [...path, 'loadBalancer'], r);
  checkClientTls(tp.tls, namespace, [...path, 'tls'], r);
  (tp.portLevelSettings ?? []).forEach((pl, i) => {
    const pp = [...path, 'portLevelSettings', i];
    if (pl.port === undefined) r.error([...pp, 'port'], 'a port-level policy needs a port');
    if (!pl.outlierDetection && !pl.connectionPool && !pl.loadBalancer && !pl.tls) {
      r.error(pp, 'a port-level policy needs at least one of loadBalancer, connectionPool, outlierDetection or tls');
      return;
    }
    checkOutlierDetection(pl.outlierDetection, [...pp, 'outlierDetection'], r);
    checkConnectionPool(pl.connectionPool, [...pp, 'connectionPool'], r);
    checkLoadBalancer(pl.loadBalancer, pl.outlierDetection, [...pp, 'loadBalancer'], r);
    checkClientTls(pl.tls, namespace, [...pp, 'tls'], r);
  });
  const tunnel = tp.tunnel;
  if (tunnel) {
    const tpath = [...path, 'tunnel'];
    if (tunnel.protocol && tunnel.protocol !== 'CONNECT' && tunnel.protocol !== 'POST') {
      r.error([...tpath, 'protocol'], 'tunnel protocol must be "CONNECT" or "POST"');
    }
    if (checkFqdn(tunnel.targetHost) && !isIpAddress(tunnel.targetHost)) {
      r.error([...tpath, 'targetHost'], `tunnel targetHost "${tunnel.targetHost}" must be a DNS name or an IP address`);
    }
    const portErr = checkPort(tunnel.targetPort);
    if (portErr) r.error([...tpath, 'targetPort'], portErr);
  }
}

function checkPercent(v: number | undefined, path: FieldPath, r: Report): void {
  if (v !== undefined && (v < 0 || v > 100)) r.error(path, `${v} is not a percentage in the range 0..100`);
}

function checkOutlierDetection(od: OutlierDetection | undefined, path: FieldPath, r: Report): void {
  if (!od) return;
  if (od.consecutiveErrors !== undefined && od.consecutiveErrors !== 0) {
    r.warn([...path, 'consecutiveErrors'], 'consecutiveErrors is deprecated; use consecutive5xxErrors or consecutiveGatewayErrors');
  }
  if (!od.splitExternalLocalOriginErrors && (od.consecutiveLocalOriginFailures ?? 0) > 0) {
    r.error([...path, 'consecutiveLocalOriginFailures'], 'consecutiveLocalOriginFailures needs splitExternalLocalOriginErrors: true');
  }
  checkPercent(od.maxEjectionPercent, [...path, 'maxEjectionPercent'], r);
  checkPercent(od.minHealthPercent, [...path, 'minHealthPercent'], r);
}

/** istiod's validateConnectionPool (also for a Sidecar's inbound connection pools). */
export function checkConnectionPool(cp: ConnectionPoolInput | undefined, path: FieldPath, r: Report): void {
  if (!cp) return;
  if (!cp.http && !cp.tcp) {
    r.error(path, 'connectionPool is empty; set tcp or http settings or remove it');
    return;
  }
  const h = cp.http;
  if (h) {
    const hp = [...path, 'http'];
    for (const f of ['http1MaxPendingRequests', 'http2MaxRequests', 'maxRequestsPerConnection', 'maxRetries', 'maxConcurrentStreams'] as const) {
      const v = h[f];
      if (v !== undefined && v < 0) r.error([...hp, f], `${f} cannot be negative`);
    }
    if (h.h2UpgradePolicy === 'UPGRADE' && h.useClientProtocol) {
      r.error([...hp, 'useClientProtocol'], 'useClientProtocol cannot be true when h2UpgradePolicy is UPGRADE');
    }
    const ka = h.http2KeepAlive;
    if (ka) {
      if (ka.interval === undefined) r.error([...hp, 'http2KeepAlive', 'interval'], 'http2KeepAlive needs an interval');
      if (ka.timeout === undefined) r.error([...hp, 'http2KeepAlive', 'timeout'], 'http2KeepAlive needs a timeout');
    }
  }
  const t = cp.tcp;
  if (t && t.maxConnections !== undefined && t.maxConnections < 0) {
    r.error([...path, 'tcp', 'maxConnections'], 'maxConnections cannot be negative');
  }
}

/** Envoy's own primality test for Maglev table sizes. */
export function isPrime(x: number): boolean {
  if (x !== 0 && x < 4) return true;
  if (x % 2 === 0) return false;
  for (let f = 3; f * f <= x; f += 2) if (x % f === 0) return false;
  return true;
}

function checkLoadBalancer(lb: LoadBalancerInput | undefined, outlier: OutlierDetection | undefined, path: FieldPath, r: Report): void {
  if (!lb) return;
  const ch = lb.consistentHash;
  if (ch) {
    const cp = [...path, 'consistentHash'];
    const cookie = ch.httpCookie;
    if (cookie) {
      if (cookie.name === '') r.error([...cp, 'httpCookie', 'name'], 'httpCookie needs a name');
      const names = new Set<string>();
      (cookie.attributes ?? []).forEach((a, i) => {
        const ap = [...cp, 'httpCookie', 'attributes', i, 'name'];
        if (a.name === '') r.error(ap, 'a cookie attribute needs a name');
        else if (names.has(a.name)) r.error(ap, `duplicate cookie attribute "${a.name}"`);
        names.add(a.name);
      });
    }
    if (ch.minimumRingSize !== undefined && ch.minimumRingSize !== 0) {
      r.warn([...cp, 'minimumRingSize'], 'minimumRingSize is deprecated; use ringHash.minimumRingSize');
      if (ch.ringHash !== undefined || ch.maglev !== undefined) {
        r.error([...cp, 'minimumRingSize'], 'minimumRingSize cannot be combined with ringHash or maglev');
      }
    }
    if (ch.maglev) {
      const size = ch.maglev.tableSize ?? 0;
      const mp = [...cp, 'maglev', 'tableSize'];
      if (size === 0) r.error(mp, 'maglev needs a tableSize');
      if (size >= MAGLEV_TABLE_LIMIT) r.error(mp, `maglev tableSize must be less than ${MAGLEV_TABLE_LIMIT}`);
      if (!isPrime(size)) r.error(mp, `maglev tableSize ${size} is not a prime number`);
    }
  }
  if (lb.localityLbSetting && lb.zoneAwareLbSetting) {
    r.error([...path, 'zoneAwareLbSetting'], 'localityLbSetting and zoneAwareLbSetting cannot both be set');
  }
  checkLocalityLb(lb.localityLbSetting, outlier, [...path, 'localityLbSetting'], r);
  checkZoneAwareLb(lb.zoneAwareLbSetting, outlier, [...path, 'zoneAwareLbSetting'], r);
  const warm = lb.warmup;
  if (warm && warm.aggression !== undefined && warm.aggression <= 0) {
    r.error([...path, 'warmup', 'aggression'], 'warmup aggression must be greater than 0');
  }
}

function checkFailover(failover: { from?: string; to?: string }[], path: FieldPath, r: Report): void {
  failover.forEach((f, i) => {
    const from = f.from ?? '';
    const to = f.to ?? '';
    const fp = [...path, i];
    if (from === to) r.error(fp, 'failover from and to must be different regions');
    if (from.includes('/') || to.includes('/')) r.error(fp, 'failover names regions only (no "/" zone or subzone)');
    if (from.includes('*') || to.includes('*')) r.error(fp, 'failover regions cannot contain "*"');
  });
}

/** istiod's ValidateLocalityLbSetting (also for MeshConfig.localityLbSetting, with no outlier detection to warn about). */
export function checkLocalityLb(lb: LoadBalancerSettings['localityLbSetting'], outlier: OutlierDetection | undefined | false, path: FieldPath, r: Report): void {
  if (!lb) return;
  const distribute = lb.distribute ?? [];
  const failover = lb.failover ?? [];
  const priority = lb.failoverPriority ?? [];
  if (distribute.length && failover.length) {
    r.error(path, 'distribute and failover cannot both be set');
    return;
  }
  if (failover.length && priority.length) {
    const i = priority.findIndex((l) => TOPOLOGY_LABELS.has(l));
    if (i >= 0) {
      r.error([...path, 'failoverPriority', i], `failoverPriority cannot use topology label "${priority[i]}" together with failover`);
      return;
    }
  }
  for (let i = 0; i < distribute.length; i++) {
    const d = distribute[i] ?? {};
    const dp = [...path, 'distribute', i];
    let total = 0;
    for (const [loc, w] of Object.entries(d.to ?? {})) {
      if (w <= 0 || w > 100) {
        r.error([...dp, 'to', loc], `locality weight ${w} is not in the range 1..100`);
        return;
      }
      total += w;
    }
    if (total !== 100) {
      r.error([...dp, 'to'], `locality weights add up to ${total}; they must add up to 100`);
      return;
    }
    const err = checkLocalities(Object.keys(d.to ?? {}));
    if (err) r.error([...dp, 'to'], err);
  }
  const srcErr = checkLocalities(distribute.map((d) => d.from ?? ''));
  if (srcErr) r.error([...path, 'distribute'], srcErr);
  if ((failover.length || priority.length) && outlier === undefined) {
    r.warn(path, 'failover only happens with outlierDetection set; add an outlierDetection policy');
  }
  checkFailover(failover, [...path, 'failover'], r);
}

function checkZoneAwareLb(lb: LoadBalancerInput['zoneAwareLbSetting'], outlier: OutlierDetection | undefined, path: FieldPath, r: Report): void {
  if (!lb) return;
  (lb.failoverPriority ?? []).forEach((l, i) => {
    if (TOPOLOGY_LABELS.has(l)) {
      r.error([...path, 'failoverPriority', i], `failoverPriority cannot use topology label "${l}"; zone-aware balancing handles region and zone itself`);
    }
  });
  if (((lb.failover?.length ?? 0) || (lb.failoverPriority?.length ?? 0)) && !outlier) {
    r.warn(path, 'failover only happens with outlierDetection set; add an outlierDetection policy');
  }
  checkFailover(lb.failover ?? [], [...path, 'failover'], r);
}

/**
 * Localities "region", "region/zone" or "region/zone/subzone", '*' only as a final wildcard,
 * and no locality may overlap one listed before it.
 */
export function checkLocalities(localities: readonly string[]): string | undefined {
  // region -> zone -> subzones; '*' marks "all of this level".
  const seen = new Map<string, Map<string, Set<string>>>();
  for (const loc of localities) {
    const stars = loc.split('*').length - 1;
    if (stars > 1 || (stars === 1 && !loc.endsWith('*'))) return `locality "${loc}" may have one "*", only at its end`;
    if (seen.has('*')) return `locality "${loc}" overlaps one listed before it`;
    const parts = loc.split('/');
    const items = parts.length > 3 ? [parts[0], parts[1], parts.slice(2).join('/')] : parts;
    if (items.some((p) => p === '')) return `locality "${loc}" has an empty region, zone or subzone`;
    const [region = '', zone, subzone] = items;
    const zones = seen.get(region);
    if (zone === undefined) {
      if (zones) return `locality "${loc}" overlaps one listed before it`;
      seen.set(region, new Map([['*', new Set(['*'])]]));
      continue;
    }
    if (zones?.has('*')) return `locality "${loc}" overlaps one listed before it`;
    const zmap = zones ?? new Map<string, Set<string>>();
    seen.set(region, zmap);
    const subs = zmap.get(zone);
    if (subzone === undefined) {
      if (subs) return `locality "${loc}" overlaps one listed before it`;
      zmap.set(zone, new Set(['*']));
      continue;
    }
    if (subs && (subs.has('*') || subs.has(subzone))) return `locality "${loc}" overlaps one listed before it`;
    zmap.set(zone, (subs ?? new Set()).add(subzone));
  }
  return undefined;
}

function checkClientTls(tls: PortPolicyInput['tls'], namespace: string, path: FieldPath, r: Report): void {
  if (!tls) return;
  const cred = tls.credentialName ?? '';
  if (cred.startsWith('configmap://')) {
    const [ns = '', name = ''] = cred.slice('configmap://'.length).split('/');
    if (!cred.slice('configmap://'.length).includes('/') || ns === '' || name === '') {
      r.error([...path, 'credentialName'], `credentialName "${cred}" must be configmap://<namespace>/<name>`);
    } else if (ns !== namespace) {
      r.error([...path, 'credentialName'], `a configmap:// credentialName must be in this object's namespace "${namespace}"`);
    }
  }
  const mode = tls.mode;
  if (tls.insecureSkipVerify) {
    if (mode === 'SIMPLE' && (tls.caCertificates || cred || tls.subjectAltNames !== undefined)) {
      r.error([...path, 'insecureSkipVerify'], 'insecureSkipVerify cannot be combined with caCertificates, credentialName or subjectAltNames');
    }
    if (mode === 'MUTUAL' && (tls.caCertificates || tls.subjectAltNames !== undefined)) {
      r.error([...path, 'insecureSkipVerify'], 'insecureSkipVerify cannot be combined with caCertificates or subjectAltNames');
    }
  }
  if ((mode === 'SIMPLE' || mode === 'MUTUAL') && cred) {
    if (tls.clientCertificate || tls.caCertificates || tls.privateKey || tls.caCrl) {
      r.error([...path, 'credentialName'], 'with credentialName set, clientCertificate, privateKey, caCertificates and caCrl come from the credential and cannot be set');
    }
    return;
  }
  if (mode === 'MUTUAL') {
    if (!tls.clientCertificate) r.error([...path, 'clientCertificate'], 'MUTUAL tls needs a clientCertificate (or a credentialName)');
    if (!tls.privateKey) r.error([...path, 'privateKey'], 'MUTUAL tls needs a privateKey (or a credentialName)');
  }
}
