// The xDS part of configDump(): the CSDS view of this client (envoy.service.status.v3's
// per-resource status, in plain JSON). Every subscribed resource is listed, with the version
// in force, its status (ACKED; NACKED with the rejected version and the error — the version
// in force is then still the last good one; DOES_NOT_EXIST; REQUESTED) and how long ago its
// value last changed.

import type { AdsClient } from './ads-client.ts';
import { RESOURCE_TYPES } from './resource-types.ts';
import type { XdsResourceStatus, XdsStatusDump } from '../../config-dump.ts';

export function xdsStatus(client: AdsClient, now = Date.now()): XdsStatusDump {
  const resources: XdsResourceStatus[] = [];
  for (const t of RESOURCE_TYPES) {
    const watches = [...client.state.of(t.typeUrl).values()].sort((a, b) => a.name.localeCompare(b.name));
    for (const w of watches) {
      const r: XdsResourceStatus = { type: t.kind, name: w.name, status: w.status };
      if (w.version !== undefined) r.version = w.version;
      if (w.updatedAt !== undefined) {
        r.ageMs = now - w.updatedAt;
        r.lastUpdated = new Date(w.updatedAt).toISOString();
      }
      if (w.nack) r.errorState = { version: w.nack.version, details: w.nack.error, lastUpdateAttempt: new Date(w.nack.at).toISOString() };
      resources.push(r);
    }
  }
  const dump: XdsStatusDump = {
    server: client.server.serverUri,
    node: client.bootstrap.node.id,
    protocol: client.server.delta ? 'delta' : 'sotw',
    connected: client.connected,
    resources,
  };
  if (client.lastError !== undefined) dump.lastError = client.lastError;
  return dump;
}
