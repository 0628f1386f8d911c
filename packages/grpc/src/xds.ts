// A drop-in for @grpc/grpc-js-xds: change `import * as xds from '@grpc/grpc-js-xds'` to
// `import * as xds from '@meshlet/grpc/xds'` and xds:/// targets are served by Meshlet. The mesh
// is created on first use the way createMesh() does with no options: from GRPC_XDS_BOOTSTRAP
// (or GRPC_XDS_BOOTSTRAP_CONFIG) when set, else from the Istio YAML in MESHLET_CONFIG.

import { createMesh, type Mesh } from '@meshlet/core';
import { registerMeshBalancer } from './load-balancer-mesh.ts';
import { registerMeshResolver, setMeshSource } from './resolver-mesh.ts';
import { MeshChannelCredentials } from './credentials.ts';

let pending: Promise<Mesh> | undefined;

/** Registers the xds: scheme with grpc-js, as @grpc/grpc-js-xds's register() does. */
export function register(): void {
  registerMeshBalancer();
  registerMeshResolver('xds');
  pending ??= createMesh();
  // A failure is reported to each channel that resolves (UNAVAILABLE with the reason), not thrown here.
  pending.catch(() => {});
  setMeshSource('xds', pending);
}

/** The mesh behind xds:/// targets, once register() was called. */
export function mesh(): Promise<Mesh> | undefined {
  return pending;
}

/** @grpc/grpc-js-xds's name for credentials that follow the mesh per cluster, with a fallback. */
export { MeshChannelCredentials as XdsChannelCredentials };
