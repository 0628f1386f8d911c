// Errors of mesh TLS. Each names what the user must change: the file, the expected and the
// presented identities. They extend MeshError, so callers catch one base class.

import { MeshError } from '../errors.ts';

/** A certificate, key or CA bundle is missing or unusable. The request fails; nothing is sent in plaintext. */
export class CertificateError extends MeshError {
  constructor(message: string, options?: { cause?: unknown }) {
    super('MESHLET_CERTIFICATE', message, options);
  }
}

/** The peer's certificate is valid but names someone else than the cluster expects. */
export class PeerIdentityError extends MeshError {
  readonly expected: readonly string[];
  readonly presented: readonly string[];
  constructor(cluster: string, expected: readonly string[], presented: readonly string[]) {
    const got = presented.length ? presented.join(', ') : 'no URI or DNS SAN';
    super('MESHLET_PEER_IDENTITY', `peer identity mismatch for cluster ${cluster}: expected one of [${expected.join(', ')}], the server presented [${got}]`);
    this.expected = expected;
    this.presented = presented;
  }
}
