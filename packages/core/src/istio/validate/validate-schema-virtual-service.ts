// The VirtualService spec's structure, as the networking.istio.io CRD (v1, v1beta1 and v1alpha3
// share it) declares it: field names, types, oneofs and the duration rules.

import { arr, bool, dur, int32, map, obj, percent, removed, str, strMap, uint32, type ObjectSchema, type Schema } from './validate-schema.ts';

const stringMatch = (): ObjectSchema => obj({ exact: str(), prefix: str(), regex: str() }, { oneOf: [['exact', 'prefix', 'regex']] });

const portSelector = (): Schema => obj({ number: uint32() });

export const destinationSchema = (): ObjectSchema =>
  obj({ host: str(), subset: str(), port: portSelector() }, { required: ['host'] });

/** Also MeshConfig.defaultHttpRetryPolicy. */
export const httpRetry = (): Schema =>
  obj({
    attempts: int32(),
    perTryTimeout: dur('istio'),
    retryOn: str(),
    retryRemoteLocalities: bool(),
    retryIgnorePreviousHosts: bool(),
    backoff: dur('istio'),
  });

const headerOperations = (): Schema => obj({ set: strMap(), add: strMap(), remove: arr(str()) });
const headers = (): Schema => obj({ request: headerOperations(), response: headerOperations() });

const httpMatchRequest = obj({
  name: str(),
  uri: stringMatch(),
  scheme: stringMatch(),
  method: stringMatch(),
  authority: stringMatch(),
  headers: map(stringMatch()),
  port: uint32(),
  sourceLabels: strMap(),
  gateways: arr(str()),
  queryParams: map(stringMatch()),
  ignoreUriCase: bool(),
  withoutHeaders: map(stringMatch()),
  sourceNamespace: str(),
  statPrefix: str(),
});

const httpRoute = obj({
  name: str(),
  match: arr(httpMatchRequest),
  route: arr(obj({ destination: destinationSchema(), weight: int32(), headers: headers() }, { required: ['destination'] })),
  redirect: obj(
    {
      uri: str(),
      authority: str(),
      port: uint32(),
      derivePort: str({ enum: ['FROM_PROTOCOL_DEFAULT', 'FROM_REQUEST_PORT'] }),
      scheme: str(),
      redirectCode: uint32(),
      prefixRewrite: str(),
    },
    { oneOf: [['port', 'derivePort']] },
  ),
  directResponse: obj(
    { status: uint32(), body: obj({ string: str(), bytes: str({ base64: true }) }, { oneOf: [['string', 'bytes']] }) },
    { required: ['status'] },
  ),
  delegate: obj({ name: str(), namespace: str() }),
  rewrite: obj({ uri: str(), authority: str(), uriRegexRewrite: obj({ match: str(), rewrite: str() }) }),
  timeout: dur('istio'),
  retries: httpRetry(),
  fault: obj({
    delay: obj(
      { fixedDelay: dur('istio'), exponentialDelay: dur('istio'), percentage: percent(), percent: int32() },
      { oneOf: [['fixedDelay', 'exponentialDelay']] },
    ),
    abort: obj(
      { httpStatus: int32(), grpcStatus: str(), http2Error: str(), percentage: percent() },
      { oneOf: [['httpStatus', 'grpcStatus', 'http2Error']] },
    ),
  }),
  mirror: destinationSchema(),
  mirrors: arr(obj({ destination: destinationSchema(), percentage: percent() }, { required: ['destination'] })),
  mirrorPercent: uint32(),
  mirror_percent: uint32(),
  mirrorPercentage: percent(),
  corsPolicy: obj({
    allowOrigin: arr(str()),
    allowOrigins: arr(stringMatch()),
    allowMethods: arr(str()),
    allowHeaders: arr(str()),
    exposeHeaders: arr(str()),
    maxAge: dur('istio'),
    allowCredentials: bool(),
    unmatchedPreflights: str({ enum: ['UNSPECIFIED', 'FORWARD', 'IGNORE'] }),
  }),
  headers: headers(),
  websocketUpgrade: removed('WebSocket upgrades are always allowed'),
});

const routeDestination = obj({ destination: destinationSchema(), weight: int32() }, { required: ['destination'] });

const tcpRoute = obj({
  match: arr(obj({
    destinationSubnets: arr(str()),
    port: uint32(),
    sourceLabels: strMap(),
    gateways: arr(str()),
    sourceNamespace: str(),
    sourceSubnet: str(),
  })),
  route: arr(routeDestination),
});

const tlsRoute = obj(
  {
    match: arr(obj(
      {
        sniHosts: arr(str()),
        destinationSubnets: arr(str()),
        port: uint32(),
        sourceLabels: strMap(),
        gateways: arr(str()),
        sourceNamespace: str(),
      },
      { required: ['sniHosts'] },
    )),
    route: arr(routeDestination),
  },
  { required: ['match'] },
);

export const virtualServiceSchema: Schema = obj({
  hosts: arr(str()),
  gateways: arr(str()),
  http: arr(httpRoute),
  tls: arr(tlsRoute),
  tcp: arr(tcpRoute),
  exportTo: arr(str()),
});
