// The Aggregated Discovery Service as grpc-js sees it: two bidirectional methods whose
// messages go through Meshlet's own codec (discovery-envelope.ts), so neither the client nor
// the server loads a .proto file. Shared by the ADS client and `meshlet xds`.

import { readFileSync } from 'node:fs';
import * as grpc from '@grpc/grpc-js';
import type { ChannelCreds } from './bootstrap.ts';
import type { Result } from '../../xds/translate-result.ts';
import { fail, ok } from '../../xds/translate-result.ts';

export const ADS_SERVICE = 'envoy.service.discovery.v3.AggregatedDiscoveryService';
export const SOTW_METHOD = `/${ADS_SERVICE}/StreamAggregatedResources`;
export const DELTA_METHOD = `/${ADS_SERVICE}/DeltaAggregatedResources`;

const passBytes = (b: Buffer): Buffer => b;
const toBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);

/**
 * The service for grpc.Server#addService. Requests arrive as raw bytes (the session decodes
 * them into typed results, so a malformed request never throws inside grpc-js); responses are
 * bytes the session already encoded.
 */
export const ADS_SERVICE_DEFINITION: grpc.ServiceDefinition = {
  StreamAggregatedResources: {
    path: SOTW_METHOD,
    requestStream: true,
    responseStream: true,
    requestSerialize: toBuffer,
    requestDeserialize: passBytes,
    responseSerialize: toBuffer,
    responseDeserialize: passBytes,
  },
  DeltaAggregatedResources: {
    path: DELTA_METHOD,
    requestStream: true,
    responseStream: true,
    requestSerialize: toBuffer,
    requestDeserialize: passBytes,
    responseSerialize: toBuffer,
    responseDeserialize: passBytes,
  },
};

/** Channel credentials for a bootstrap's channel_creds entry; file problems name the file. */
export function channelCredentials(creds: ChannelCreds, where: string): Result<grpc.ChannelCredentials> {
  if (creds.type === 'insecure') return ok(grpc.credentials.createInsecure());
  const read = (file: string | undefined, field: string): Result<Buffer | null> => {
    if (file === undefined) return ok(null);
    try {
      return ok(readFileSync(file));
    } catch (err) {
      return fail(`${where}.channel_creds.config.${field}: cannot read ${file}: ${(err as Error).message}`);
    }
  };
  const ca = read(creds.caCertificateFile, 'ca_certificate_file');
  if (!ca.ok) return ca;
  const cert = read(creds.certificateFile, 'certificate_file');
  if (!cert.ok) return cert;
  const key = read(creds.privateKeyFile, 'private_key_file');
  if (!key.ok) return key;
  try {
    // No CA file: the system roots, as gRPC's "tls" creds do.
    return ok(grpc.credentials.createSsl(ca.value, key.value, cert.value));
  } catch (err) {
    return fail(`${where}.channel_creds: the TLS files do not load: ${(err as Error).message}`);
  }
}

