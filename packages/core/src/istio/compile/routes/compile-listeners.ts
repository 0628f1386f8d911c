// LDS for a proxyless client (grpcgen.buildOutboundListeners): one API listener per service
// port, named `<host>:<port>`, whose HttpConnectionManager fetches its routes over ADS from the
// RouteConfiguration of the same service port and runs the fault filter, then the router.

import type { HttpConnectionManager, Listener } from '../../../xds/resources.ts';
import { FILTER_NAME, TYPE_URL } from '../../../xds/resources.ts';
import type { MeshService } from '../../service-model.ts';
import { hostPort } from '../common/host-names.ts';

/** `host` defaults to the service's own; an ExternalName alias gets a listener of its own name on the same routes. */
export function apiListener(svc: MeshService, port: number, routeConfigName: string, host = svc.hostname): Listener {
  const hcm: HttpConnectionManager = {
    '@type': TYPE_URL.HttpConnectionManager,
    httpFilters: [
      { name: FILTER_NAME.fault, typedConfig: { '@type': TYPE_URL.HTTPFault } },
      { name: FILTER_NAME.router, typedConfig: { '@type': TYPE_URL.Router } },
    ],
    rds: { configSource: { ads: {} }, routeConfigName },
  };
  return {
    name: hostPort(host, port),
    address: { socketAddress: { address: svc.address, portValue: port } },
    apiListener: { apiListener: { ...hcm, '@type': TYPE_URL.HttpConnectionManager } },
  };
}
