// WorkloadEntry rules, also applied to ServiceEntry endpoints (an endpoint is a WorkloadEntry
// spec). Two layers, as in Kubernetes: the CRD's CEL rules hold for every endpoint, while
// istiod's webhook (istio/istio validation.go validateWorkloadEntry) adds checks that depend on
// how the owning ServiceEntry resolves it.

import type { WorkloadEntrySpec } from '../types.ts';
import { checkFqdn, checkLabels, checkPort, isDns1123Label, isIpAddress, type FieldPath, type Report, type ValidationContext } from './validate-common.ts';

const UNIX_PREFIX = 'unix://';

/** Rules every WorkloadEntry spec obeys wherever it appears: an address (or network), socket paths, port names and numbers. */
export function checkWorkloadEntryBasics(we: WorkloadEntrySpec, path: FieldPath, r: Report): void {
  const addr = we.address ?? '';
  if (addr === '') {
    if (!we.network) r.error([...path, 'address'], 'address is required (it may be left out only when network is set)');
    else r.warn(path, `address is unset; the workload is reached through network "${we.network}"`);
  }
  if (addr.startsWith(UNIX_PREFIX)) {
    const socket = addr.slice(UNIX_PREFIX.length);
    // An abstract socket ("@name") or an absolute path to a file.
    if (!socket.startsWith('@') && !socket.startsWith('/')) {
      r.error([...path, 'address'], `unix socket "${socket}" must be an absolute path or an abstract socket (@name)`);
    } else if (socket.endsWith('/')) {
      r.error([...path, 'address'], `unix socket "${socket}" is a directory; name a socket file`);
    }
    if (we.ports !== undefined) r.error([...path, 'ports'], 'a unix socket address cannot have ports');
  }
  for (const [name, port] of Object.entries(we.ports ?? {})) {
    // The CRD limits names to 62 characters, one less than a DNS label.
    if (!isDns1123Label(name) || name.length >= 63) r.error([...path, 'ports', name], `port name "${name}" is not a DNS-1123 label of at most 62 characters`);
    const err = checkPort(port);
    if (err) r.error([...path, 'ports', name], err);
  }
}

/**
 * istiod's address and port rules for one endpoint: an IP address, a unix socket, or (when
 * `allowFqdn`) a DNS name; port names declared by the ServiceEntry; valid labels.
 */
export function checkWorkloadEntryEndpoint(
  we: WorkloadEntrySpec,
  path: FieldPath,
  r: Report,
  opts: { allowFqdn: boolean; servicePorts?: ReadonlySet<string> },
): void {
  const addr = we.address ?? '';
  const unix = addr.startsWith(UNIX_PREFIX);
  if (addr !== '' && !unix && !isIpAddress(addr)) {
    if (!opts.allowFqdn) r.error([...path, 'address'], `endpoint address "${addr}" must be an IP address (resolution STATIC)`);
    else if (checkFqdn(addr)) r.error([...path, 'address'], `endpoint address "${addr}" is neither an IP address nor a DNS name`);
  }
  if (opts.servicePorts) {
    for (const name of Object.keys(we.ports ?? {})) {
      if (!opts.servicePorts.has(name)) r.error([...path, 'ports', name], `endpoint port "${name}" is not one of the ServiceEntry's port names`);
    }
    if (unix && opts.servicePorts.size !== 1) r.error([...path, 'address'], 'a unix socket endpoint needs the ServiceEntry to have exactly one port');
  }
  checkLabels(we.labels, [...path, 'labels'], r);
}

export function validateWorkloadEntry(spec: WorkloadEntrySpec, ctx: ValidationContext): void {
  checkWorkloadEntryBasics(spec, ['spec'], ctx.report);
  checkWorkloadEntryEndpoint(spec, ['spec'], ctx.report, { allowFqdn: true });
}
