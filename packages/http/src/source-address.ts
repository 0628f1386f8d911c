// The address requests leave from, for useSourceIp hashing: this workload's first external
// interface address (a pod's IP), found once.

import { networkInterfaces } from 'node:os';

let sourceIp: string | undefined | null = null;

export function localAddress(): string | undefined {
  if (sourceIp !== null) return sourceIp;
  sourceIp = undefined;
  for (const list of Object.values(networkInterfaces())) {
    const found = list?.find((i) => !i.internal && i.family === 'IPv4');
    if (found) { sourceIp = found.address; break; }
  }
  return sourceIp;
}
