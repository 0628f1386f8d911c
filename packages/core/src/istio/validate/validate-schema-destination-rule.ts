// The DestinationRule spec's structure, as the networking.istio.io CRD declares it. The traffic
// policy appears three times (top level, per port, per subset) with the same blocks.

import { arr, bool, dur, int32, map, num, obj, str, strMap, uint32, type Schema } from './validate-schema.ts';

const failover = (): Schema => arr(obj({ from: str(), to: str() }));

/** Also MeshConfig.localityLbSetting. */
export const localityLbSetting = (): Schema =>
  obj({
    distribute: arr(obj({ from: str(), to: map(uint32()) })),
    failover: failover(),
    failoverPriority: arr(str()),
    enabled: bool(),
  });

const loadBalancer = (): Schema =>
  obj(
    {
      simple: str({ enum: ['UNSPECIFIED', 'LEAST_CONN', 'RANDOM', 'PASSTHROUGH', 'ROUND_ROBIN', 'LEAST_REQUEST'] }),
      consistentHash: obj(
        {
          httpHeaderName: str(),
          httpCookie: obj(
            { name: str(), path: str(), ttl: dur('parse'), attributes: arr(obj({ name: str(), value: str() }, { required: ['name'] })) },
            { required: ['name'] },
          ),
          useSourceIp: bool(),
          httpQueryParameterName: str(),
          ringHash: obj({ minimumRingSize: uint32() }),
          maglev: obj({ tableSize: uint32() }),
          minimumRingSize: uint32(),
        },
        { oneOf: [['httpHeaderName', 'httpCookie', 'useSourceIp', 'httpQueryParameterName'], ['ringHash', 'maglev']] },
      ),
      backendUtilization: obj({
        weightExpirationPeriod: dur('parse'),
        weightUpdatePeriod: dur('parse'),
        weightStabilizationPeriod: dur('parse'),
        errorUtilizationPenaltyPercent: uint32(),
        metricNamesForComputingUtilization: arr(str()),
      }),
      localityLbSetting: localityLbSetting(),
      zoneAwareLbSetting: obj({
        failover: failover(),
        failoverPriority: arr(str()),
        enabled: bool(),
        minClusterSize: { type: 'integer', min: 1, max: 4294967295 },
      }),
      warmupDurationSecs: dur('min1ms'),
      warmup: obj(
        { duration: dur('istio'), minimumPercent: num({ min: 0, max: 100 }), aggression: num({ min: 0 }) },
        { required: ['duration'] },
      ),
    },
    { oneOf: [['simple', 'consistentHash', 'backendUtilization']] },
  );

/** Also the Sidecar's inboundConnectionPool and ingress connectionPool. */
export const connectionPool = (): Schema =>
  obj({
    tcp: obj({
      maxConnections: int32(),
      connectTimeout: dur('istio'),
      tcpKeepalive: obj({ probes: uint32(), time: dur('istio'), interval: dur('istio') }),
      maxConnectionDuration: dur('istio'),
      idleTimeout: dur('istioOrZero'),
    }),
    http: obj({
      http1MaxPendingRequests: int32(),
      http2MaxRequests: int32(),
      maxRequestsPerConnection: int32(),
      maxRetries: int32(),
      idleTimeout: dur('istio'),
      h2UpgradePolicy: str({ enum: ['DEFAULT', 'DO_NOT_UPGRADE', 'UPGRADE'] }),
      useClientProtocol: bool(),
      maxConcurrentStreams: int32(),
      http2KeepAlive: obj({ interval: dur('istio'), timeout: dur('istio') }),
    }),
  });

const outlierDetection = (): Schema =>
  obj({
    splitExternalLocalOriginErrors: bool(),
    consecutiveLocalOriginFailures: uint32(),
    consecutiveGatewayErrors: uint32(),
    consecutive5xxErrors: uint32(),
    consecutiveErrors: int32(),
    interval: dur('istio'),
    baseEjectionTime: dur('istio'),
    maxEjectionPercent: int32(),
    minHealthPercent: int32(),
    outlierDetectionHttpErrorCodes: arr({ type: 'integer', min: 100, max: 599 }),
  });

const clientTls = (): Schema =>
  obj({
    mode: str({ enum: ['DISABLE', 'SIMPLE', 'MUTUAL', 'ISTIO_MUTUAL'] }),
    clientCertificate: str(),
    privateKey: str(),
    caCertificates: str(),
    credentialName: str(),
    subjectAltNames: arr(str()),
    sni: str(),
    insecureSkipVerify: bool(),
    caCrl: str(),
  });

const portLevelPolicy = (): Schema =>
  obj({
    port: obj({ number: uint32() }),
    loadBalancer: loadBalancer(),
    connectionPool: connectionPool(),
    outlierDetection: outlierDetection(),
    tls: clientTls(),
  });

const trafficPolicy = (): Schema =>
  obj({
    loadBalancer: loadBalancer(),
    connectionPool: connectionPool(),
    outlierDetection: outlierDetection(),
    tls: clientTls(),
    portLevelSettings: arr(portLevelPolicy(), { maxItems: 4096 }),
    tunnel: obj({ protocol: str(), targetHost: str(), targetPort: uint32() }, { required: ['targetHost', 'targetPort'] }),
    proxyProtocol: obj({ version: str({ enum: ['V1', 'V2'] }) }),
    retryBudget: obj({ percent: num({ min: 0, max: 100 }), minRetryConcurrency: uint32(), budgetInterval: dur('parse') }),
  });

export const destinationRuleSchema: Schema = obj(
  {
    host: str(),
    trafficPolicy: trafficPolicy(),
    subsets: arr(obj({ name: str(), labels: strMap(), trafficPolicy: trafficPolicy() }, { required: ['name'] })),
    exportTo: arr(str()),
    workloadSelector: obj({
      matchLabels: map(str({ maxLength: 63 }), { maxProperties: 4096 }),
    }),
  },
  { required: ['host'] },
);
