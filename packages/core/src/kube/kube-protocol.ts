// A Service port's protocol as istiod infers it (istio/istio pkg/config/kube ConvertProtocol):
// UDP stays UDP; otherwise appProtocol when set (with Kubernetes' own kubernetes.io/h2c, ws and
// wss names), else the port name; a `grpc-web` prefix, else the text before the first '-' is
// parsed case-insensitively (`http-reviews` → HTTP, `grpc` → GRPC, `tcp-db` → TCP). Anything
// else is unknown — sniffed by a sidecar, so HTTP routes still apply — except on a few
// well-known ports, which are TCP.

import { parseProtocol } from '../istio/validate/validate-common.ts';

// SMTP, DNS, MySQL, MongoDB: protocol sniffing would break them.
const WELL_KNOWN_TCP_PORTS = new Set([25, 53, 3306, 27017]);

const KUBERNETES_APP_PROTOCOLS: Readonly<Record<string, string>> = {
  'kubernetes.io/h2c': 'HTTP2',
  'kubernetes.io/ws': 'HTTP',
  'kubernetes.io/wss': 'HTTPS',
};

/** The protocol name ('HTTP', 'GRPC', 'TCP', ...), or undefined when Istio would sniff it. */
export function inferPortProtocol(port: number, name: string | undefined, protocol: string | undefined, appProtocol: string | undefined): string | undefined {
  if (protocol === 'UDP') return 'UDP';
  let text = name ?? '';
  if (appProtocol !== undefined) {
    text = appProtocol;
    const known = KUBERNETES_APP_PROTOCOLS[appProtocol];
    if (known) return known;
  }
  if (text.toLowerCase().startsWith('grpc-web')) return 'GRPC-Web';
  const dash = text.indexOf('-');
  const parsed = parseProtocol(dash >= 0 ? text.slice(0, dash) : text);
  if (parsed === undefined && WELL_KNOWN_TCP_PORTS.has(port)) return 'TCP';
  return parsed;
}
