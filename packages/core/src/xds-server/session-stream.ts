// What every ADS server session (state-of-the-world and delta) does with its gRPC stream: send
// headers at once, so the client knows the stream is up before there is data to send; hand each
// request message to the session; close the session however the stream ends.

import type * as grpc from '@grpc/grpc-js';
import { Metadata } from '@grpc/grpc-js';

export function bindSessionStream(call: grpc.ServerDuplexStream<Buffer, Uint8Array>, onRequest: (bytes: Buffer) => void, close: () => void): void {
  call.sendMetadata(new Metadata());
  call.on('data', onRequest);
  call.on('end', close);
  call.on('error', close);
  call.on('cancelled', close);
}
