// SPIFFE identities as Istio uses them: `spiffe://<trust domain>/ns/<namespace>/sa/<service
// account>` in a certificate's URI SAN. AuthorizationPolicy writes the same identity without the
// scheme ("principal": `cluster.local/ns/default/sa/sleep`), so both forms are handled here.

export const SPIFFE_SCHEME = 'spiffe://';

/** The SPIFFE ID istiod's CA puts in a workload certificate. */
export function spiffeId(trustDomain: string, namespace: string, serviceAccount: string): string {
  return `${SPIFFE_SCHEME}${trustDomain}/ns/${namespace}/sa/${serviceAccount}`;
}

export interface SpiffeParts {
  readonly trustDomain: string;
  /** Set only for Istio's `/ns/<ns>/sa/<sa>` path shape. */
  readonly namespace: string | undefined;
  readonly serviceAccount: string | undefined;
}

export function parseSpiffeId(id: string): SpiffeParts | undefined {
  if (!id.startsWith(SPIFFE_SCHEME)) return undefined;
  const rest = id.slice(SPIFFE_SCHEME.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash < 0 ? rest : rest.slice(0, slash);
  if (trustDomain === '') return undefined;
  const m = /^\/ns\/([^/]+)\/sa\/([^/]+)$/.exec(slash < 0 ? '' : rest.slice(slash));
  return { trustDomain, namespace: m?.[1], serviceAccount: m?.[2] };
}

/** Istio's "principal": the SPIFFE ID without its scheme. */
export function principalOf(id: string): string {
  return id.startsWith(SPIFFE_SCHEME) ? id.slice(SPIFFE_SCHEME.length) : id;
}

/**
 * The URI SANs of a certificate, from Node's `subjectaltname` / `X509Certificate.subjectAltName`
 * text ("URI:spiffe://..., DNS:foo"). Node quotes a value that could be misread (one holding a
 * comma or a quote) as a JSON string, so quoted values are unescaped rather than split.
 */
export function uriSans(subjectAltName: string | undefined): string[] {
  return sansOfType(subjectAltName, 'URI');
}

export function dnsSans(subjectAltName: string | undefined): string[] {
  return sansOfType(subjectAltName, 'DNS');
}

function sansOfType(text: string | undefined, type: string): string[] {
  if (!text) return [];
  const out: string[] = [];
  const re = /(?:^|, )([A-Za-z ]+):("(?:[^"\\]|\\.)*"|[^,]*)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    if (m[1] !== type) continue;
    const raw = m[2]!;
    out.push(raw.startsWith('"') ? (JSON.parse(raw) as string) : raw);
  }
  return out;
}

/** The one SPIFFE ID a workload certificate carries, if any (Istio issues exactly one). */
export function spiffeIdOf(subjectAltName: string | undefined): string | undefined {
  return uriSans(subjectAltName).find((u) => u.startsWith(SPIFFE_SCHEME));
}
