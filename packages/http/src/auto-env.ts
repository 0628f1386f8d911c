// What `node --import @meshlet/http/auto` reads from the environment, in one place (the
// injection template in examples/kubernetes sets exactly these; a test checks it). createMesh()
// itself reads the config source and the certificates:
//   GRPC_XDS_BOOTSTRAP / GRPC_XDS_BOOTSTRAP_CONFIG  xDS mode (istio-agent's grpc-agent bootstrap,
//                        whose file_watcher certificate provider is the workload certificate)
//   MESHLET_CONFIG       embedded mode: a folder of Istio YAML
//   MESHLET_CERTS        workload certificates in istio-agent's layout
//   POD_NAMESPACE, SERVICE_ACCOUNT, ISTIO_LOCALITY   the workload's identity (the bootstrap's
//                        node metadata wins in xDS mode)
// and this entry adds:
//   MESHLET_MODE         enforce (default) | observe
//   MESHLET_LISTENERS    xDS mode: listeners to fetch before the app starts, comma-separated
//                        `<fqdn>:<port>`, or '*' for all (others are fetched on first use)
//   MESHLET_GRPC_XDS     true: grpc-js xds:/// targets are served by this mesh too
//   OUTPUT_CERTS         istio-agent's certificate folder, when MESHLET_CERTS is not set
//   MESHLET_AUTO         off: load nothing (for node processes that must stay out of the mesh)

import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type MeshOptions } from '@meshlet/core';

export interface AutoSettings {
  /** False when MESHLET_AUTO=off. */
  readonly enabled: boolean;
  readonly mesh: MeshOptions;
  /** Serve grpc-js xds:/// targets from the mesh too. */
  readonly grpcXds: boolean;
}

/** The variables the auto entry reads, for the injection template's test. */
export const AUTO_ENV = [
  'GRPC_XDS_BOOTSTRAP', 'GRPC_XDS_BOOTSTRAP_CONFIG', 'MESHLET_CONFIG', 'MESHLET_CERTS', 'OUTPUT_CERTS',
  'POD_NAMESPACE', 'SERVICE_ACCOUNT', 'ISTIO_LOCALITY', 'MESHLET_MODE', 'MESHLET_LISTENERS', 'MESHLET_GRPC_XDS', 'MESHLET_AUTO',
] as const;

export function autoSettings(env: NodeJS.ProcessEnv): AutoSettings {
  const enabled = !/^(off|false|0)$/i.test(env['MESHLET_AUTO'] ?? '');
  const mode = env['MESHLET_MODE'];
  if (mode !== undefined && mode !== '' && mode !== 'enforce' && mode !== 'observe') {
    throw new ConfigError(`MESHLET_MODE=${JSON.stringify(mode)}: must be "enforce" or "observe"`);
  }
  const listenersRaw = env['MESHLET_LISTENERS']?.trim();
  let listeners: string[] | '*' | undefined;
  if (listenersRaw === '*') listeners = '*';
  else if (listenersRaw) {
    listeners = listenersRaw.split(',').map((s) => s.trim()).filter((s) => s !== '');
    const bad = listeners.find((l) => !/^[^:\s]+:\d+$/.test(l));
    if (bad !== undefined) throw new ConfigError(`MESHLET_LISTENERS: ${JSON.stringify(bad)} is not <fqdn>:<port> (e.g. reviews.default.svc.cluster.local:9080), or use '*'`);
  }
  const grpcXds = env['MESHLET_GRPC_XDS'] ?? '';
  if (grpcXds !== '' && !/^(true|false|1|0)$/i.test(grpcXds)) throw new ConfigError(`MESHLET_GRPC_XDS=${JSON.stringify(grpcXds)}: must be true or false`);
  // istio-agent writes the workload certificate to OUTPUT_CERTS for proxyless clients; in xDS
  // mode the bootstrap's file_watcher provider already points there.
  const output = env['OUTPUT_CERTS'];
  const certs = env['MESHLET_CERTS'] ?? (output && existsSync(join(output, 'cert-chain.pem')) ? output : undefined);
  return {
    enabled,
    grpcXds: /^(true|1)$/i.test(grpcXds),
    mesh: {
      ...(mode === 'observe' && { mode: 'observe' as const }),
      ...(listeners !== undefined && { listeners }),
      ...(certs !== undefined && { certs }),
    },
  };
}
