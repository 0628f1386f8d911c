// LDS for a proxyless client (grpcgen.buildOutboundListeners): one API listener per service
// port, named `<host>:<port>`, whose HttpConnectionManager fetches its routes over ADS from the
// RouteConfiguration of the same service port and runs the fault filter, then the router.

import type { HttpConnectionManager, Listener } from '../../xds/resources.ts';
import { FILTER_NAME, TYPE_URL } from '../../xds/resources.ts';
import type { MeshService } from './compile-services.ts';
import { hostPort } from './host-names.ts';

export function apiListener(svc: MeshService, port: number, routeConfigName: string): Listener {
  const hcm: HttpConnectionManager = {
    '@type': TYPE_URL.HttpConnectionManager,
    httpFilters: [
      { name: FILTER_NAME.fault, typedConfig: { '@type': TYPE_URL.HTTPFault } },
      { name: FILTER_NAME.router, typedConfig: { '@type': TYPE_URL.Router } },
    ],
    rds: { configSource: { ads: {} }, routeConfigName },
  };
  return {
    name: hostPort(svc.hostname, port),
    address: { socketAddress: { address: svc.address, portValue: port } },
    apiListener: { apiListener: { ...hcm, '@type': TYPE_URL.HttpConnectionManager } },
  };
}
