// Statuses the mesh itself ends a call with. Every one says it came from the mesh ("meshlet:")
// and names the route, cluster or policy that decided, and carries the MeshError code in the
// `meshlet-error` trailer so code can branch on it without parsing text.

import { Metadata, status as Status, type StatusObject } from '@grpc/grpc-js';

export function meshStatus(code: number, message: string, errorCode: string): StatusObject {
  const metadata = new Metadata();
  metadata.set('meshlet-error', errorCode);
  return { code, details: `meshlet: ${message}`, metadata };
}

/**
 * Envoy's Grpc::Utility::httpToGrpcStatus (also gRPC's doc/http-grpc-status-mapping.md): what a
 * gRPC client sees when the answer is an HTTP status, e.g. a fault abort with `httpStatus`.
 */
export function httpToGrpcStatus(http: number): number {
  switch (http) {
    case 400: return Status.INTERNAL;
    case 401: return Status.UNAUTHENTICATED;
    case 403: return Status.PERMISSION_DENIED;
    case 404: return Status.UNIMPLEMENTED;
    case 429: case 502: case 503: case 504: return Status.UNAVAILABLE;
    default: return Status.UNKNOWN;
  }
}
