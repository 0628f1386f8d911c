// Regressions for what the fault suite (tests/faults, docs/reliability.md) found in the xDS
// client, kept in the fast default suite: bad resources must become NACKs naming them, never
// exceptions, and never cost a service its last good config.

import { describe, expect, it } from 'vitest';
import { applyResponse } from './xds-helpers.ts';
import { silentLogger, parseBootstrap } from '../src/index.ts';
import { AdsClient } from '../src/config/xds/ads-client.ts';
import { LISTENER, ROUTE_CONFIGURATION } from '../src/config/xds/resource-types.ts';
import type { RouteConfiguration } from '../src/xds/resources.ts';

const rc = (route: Record<string, unknown>): RouteConfiguration => ({
  name: 'outbound|80||web.default.svc.cluster.local',
  virtualHosts: [{ name: 'web', domains: ['*'], routes: [{ match: { prefix: '/' }, route: { cluster: 'c' }, ...route } as never] }],
});

describe('RouteConfiguration fields proto3 may leave out', () => {
  it('a header matcher with no name is rejected naming the field, not thrown', () => {
    const r = ROUTE_CONFIGURATION.validate(rc({ match: { prefix: '/', headers: [{ exactMatch: 'jason' }] } }));
    expect(r).toEqual({ ok: false, error: expect.stringContaining('routes[0].match.headers[0].name: required') });
  });

  it('a header to add with no key is rejected; one with no value sets the empty value', () => {
    const bad = ROUTE_CONFIGURATION.validate(rc({ requestHeadersToAdd: [{ header: { value: 'x' } }] }));
    expect(bad).toEqual({ ok: false, error: expect.stringContaining('headersToAdd[0].header.key: required') });
    const noHeader = ROUTE_CONFIGURATION.validate(rc({ responseHeadersToAdd: [{}] }));
    expect(noHeader.ok).toBe(false);
    expect(ROUTE_CONFIGURATION.validate(rc({ requestHeadersToAdd: [{ header: { key: 'x-empty' } }] })).ok).toBe(true);
  });
});

describe('SotW response with a resource whose name cannot be read', () => {
  it('deletes nothing: the listener keeps its last good version and shows the NACK', () => {
    const boot = parseBootstrap(JSON.stringify({ xds_servers: [{ server_uri: '127.0.0.1:1', channel_creds: [{ type: 'insecure' }] }], node: { id: 'n' } }), 'test');
    if (!boot.ok) throw new Error(boot.error);
    const created = AdsClient.create(boot.value, { logger: silentLogger, onChange: () => {} });
    if (!created.ok) throw new Error(created.error);
    const client = created.value;
    try {
      const name = 'web.default.svc.cluster.local:80';
      client.setSubscription(LISTENER.typeUrl, [name]);
      const good = { name, apiListener: { apiListener: { '@type': 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager', rds: { routeConfigName: 'r', configSource: { ads: {} } } } } };
      expect(applyResponse(client, { type: LISTENER, delta: false, versionInfo: '1', updates: [{ name, version: '1', value: good, error: undefined }], removed: [] })).toBeUndefined();
      const nack = applyResponse(client, { type: LISTENER, delta: false, versionInfo: '2', updates: [{ name: '', version: '2', value: undefined, error: 'Listener : cannot decode' }], removed: [] });
      expect(nack).toContain('cannot decode');
      const w = client.state.get(LISTENER.typeUrl, name)!;
      expect(w.status).toBe('NACKED');
      expect(w.value).toEqual(good);
      expect(w.version).toBe('1');
      // A later complete response without it is a real deletion again.
      applyResponse(client, { type: LISTENER, delta: false, versionInfo: '3', updates: [], removed: [] });
      expect(w.status).toBe('DOES_NOT_EXIST');
    } finally {
      client.close();
    }
  });
});
