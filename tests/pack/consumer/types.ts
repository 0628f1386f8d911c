// Compiled by a consumer's `tsc --strict` with skipLibCheck: false and without the optional
// peer @opentelemetry/api installed: every public declaration must resolve.
import { createMesh, MeshTelemetry, decisionAttributes, type Mesh, type TelemetryOptions, type RequestInfo } from '@meshlet/core';
import { MeshAgent, installGlobalDispatcher, createMeshServer, peerIdentity } from '@meshlet/http';
import { register, meshCredentials, bindMesh, peerIdentityOfCall } from '@meshlet/grpc';
import * as xds from '@meshlet/grpc/xds';

const telemetry: TelemetryOptions = { spans: 'request', metrics: false };

export async function start(): Promise<Mesh> {
  const mesh = await createMesh({ config: './mesh', namespace: 'default', telemetry });
  const agent: MeshAgent = new MeshAgent({ mesh });
  const restore: () => Promise<void> = installGlobalDispatcher(mesh);
  register(mesh, { xds: true });
  const creds = meshCredentials();
  const server = createMeshServer({ mesh }, (req, res) => res.end(peerIdentity(req) ?? 'anonymous'));
  const attributes: (d: Parameters<typeof decisionAttributes>[0]) => RequestInfo['mesh'] = decisionAttributes;
  const clusters: string[] = mesh.explain({ url: 'http://reviews:9080/' }).clusters.map((c) => c.name);
  void [agent, restore, creds, server, attributes, clusters, bindMesh, peerIdentityOfCall, xds.XdsServer, MeshTelemetry];
  return mesh;
}
