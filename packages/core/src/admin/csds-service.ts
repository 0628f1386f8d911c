// CSDS over gRPC: envoy.service.status.v3.ClientStatusDiscoveryService, serving each mesh's
// client status (Mesh#clientStatus: every xDS resource with its version and ACK/NACK state) the
// way @grpc/grpc-js-xds serves its own, so `grpcdebug`, `istioctl x proxy-status`-style tools
// and grpc-js's addAdminServicesToServer see Meshlet's config. Messages go through Meshlet's
// codec: no .proto file is loaded.
//
// Like grpc-js-xds, node matchers are not supported (INVALID_ARGUMENT): each response lists
// every mesh this process serves.

import type * as grpc from '@grpc/grpc-js';
import type { Mesh } from '../mesh.ts';
import type { ClientStatusResponse } from '../xds/client-status.ts';

export const CSDS_SERVICE = 'envoy.service.status.v3.ClientStatusDiscoveryService';
const REQUEST = 'envoy.service.status.v3.ClientStatusRequest';
const RESPONSE = 'envoy.service.status.v3.ClientStatusResponse';

interface ClientStatusRequest {
  nodeMatchers?: unknown[];
}

// grpc-js's status.INVALID_ARGUMENT, by value: a runtime import of grpc-js here would load it for
// every importer of @meshlet/core.
const INVALID_ARGUMENT = 3;
const INTERNAL = 13;

const toBuffer = (b: Uint8Array): Buffer => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
const passBytes = (b: Buffer): Buffer => b;

/** Requests stay bytes until a handler reads them, so a malformed one is an error status, not a thrown deserializer. */
export const CSDS_SERVICE_DEFINITION: grpc.ServiceDefinition = {
  StreamClientStatus: {
    path: `/${CSDS_SERVICE}/StreamClientStatus`,
    requestStream: true,
    responseStream: true,
    requestSerialize: passBytes,
    requestDeserialize: passBytes,
    responseSerialize: toBuffer,
    responseDeserialize: passBytes,
  },
  FetchClientStatus: {
    path: `/${CSDS_SERVICE}/FetchClientStatus`,
    requestStream: false,
    responseStream: false,
    requestSerialize: passBytes,
    requestDeserialize: passBytes,
    responseSerialize: toBuffer,
    responseDeserialize: passBytes,
  },
};

type Codec = typeof import('../xds/codec/index.ts');
let codec: Promise<Codec> | undefined;
const loadCodec = (): Promise<Codec> => (codec ??= import('../xds/codec/index.ts'));

type Answer = { ok: true; response: Uint8Array } | { ok: false; status: Partial<grpc.StatusObject> };

/** One ClientStatusResponse for the request's bytes, or the status to end the call with. */
function answer({ decodeMessage, encodeMessage }: Codec, bytes: Buffer, meshes: () => Iterable<Mesh>): Answer {
  const req = decodeMessage(REQUEST, bytes);
  if (!req.ok) return { ok: false, status: { code: INVALID_ARGUMENT, details: `ClientStatusRequest: ${req.error.message}` } };
  if (((req.value as ClientStatusRequest).nodeMatchers ?? []).length > 0) {
    return { ok: false, status: { code: INVALID_ARGUMENT, details: 'Node matchers not supported' } };
  }
  const config: ClientStatusResponse['config'] = [];
  for (const mesh of meshes()) if (!mesh.closed) config.push(...mesh.clientStatus().config);
  return { ok: true, response: encodeMessage(RESPONSE, { config }) };
}

/** Handlers for CSDS_SERVICE_DEFINITION reporting the meshes `meshes()` yields at each request. */
export function csdsHandlers(meshes: () => Iterable<Mesh>): grpc.UntypedServiceImplementation {
  return {
    FetchClientStatus(call: grpc.ServerUnaryCall<Buffer, Uint8Array>, callback: grpc.sendUnaryData<Uint8Array>) {
      loadCodec().then((c) => {
        const a = answer(c, call.request, meshes);
        if (a.ok) callback(null, a.response);
        else callback(a.status, null);
      }, (err: unknown) => callback({ code: INTERNAL, details: `CSDS codec: ${String(err)}` }, null));
    },
    StreamClientStatus(call: grpc.ServerDuplexStream<Buffer, Uint8Array>) {
      // Requests are answered in order: each waits for the one before (and for the codec).
      let previous: Promise<unknown> = Promise.resolve();
      call.on('data', (bytes: Buffer) => {
        previous = previous.then(() => loadCodec()).then((c) => {
          const a = answer(c, bytes, meshes);
          if (a.ok) call.write(a.response);
          // grpc-js ends a server stream with this status when 'error' is emitted on it.
          else call.emit('error', a.status);
        }, (err: unknown) => { call.emit('error', { code: INTERNAL, details: `CSDS codec: ${String(err)}` }); });
      });
      call.on('end', () => { void previous.finally(() => call.end()); });
      call.on('error', () => { /* the client went away */ });
    },
  };
}
