// createMesh(): the one entry point. Embedded mode reads Istio CRD files (watched); xDS mode
// reads a gRPC-style bootstrap. With no options: GRPC_XDS_BOOTSTRAP(_CONFIG) if set, else the
// MESHLET_CONFIG folder.

import { Mesh } from './mesh.ts';
import { resolveIdentity, type IdentityOptions } from './identity.ts';
import { FileConfigSource } from './config/file-config-source.ts';
import { ConfigError } from './errors.ts';
import type { Logger } from './logger.ts';
import { defaultLogger } from './logger.ts';

export interface MeshOptions extends IdentityOptions {
  /** Istio CRD YAML: a folder (read recursively) or files. Embedded mode. */
  config?: string | string[];
  /** A GRPC_XDS_BOOTSTRAP-format file. xDS mode. */
  bootstrap?: string;
  /** Re-apply config files when they change (default true). */
  watch?: boolean;
  logger?: Logger;
}

export async function createMesh(options: MeshOptions = {}): Promise<Mesh> {
  const config = options.config ?? (options.bootstrap === undefined && !bootstrapFromEnv() ? process.env['MESHLET_CONFIG'] : undefined);
  const bootstrap = options.bootstrap ?? (config === undefined ? bootstrapFromEnv() : undefined);
  const mesh = new Mesh(resolveIdentity(options), options.logger ?? defaultLogger);
  if (config !== undefined) {
    const source = new FileConfigSource(mesh, { paths: Array.isArray(config) ? config : [config], watch: options.watch ?? true });
    try {
      await source.load();
    } catch (err) {
      await mesh.close();
      throw err;
    }
    return mesh;
  }
  if (bootstrap !== undefined) {
    await mesh.close();
    throw new ConfigError(`xDS mode (bootstrap ${bootstrap}) is not available in this build yet; use createMesh({ config: <folder of Istio YAML> })`);
  }
  await mesh.close();
  throw new ConfigError('no mesh config: pass createMesh({ config: <folder of Istio YAML> }) or createMesh({ bootstrap: <file> }), or set MESHLET_CONFIG or GRPC_XDS_BOOTSTRAP');
}

function bootstrapFromEnv(): string | undefined {
  if (process.env['GRPC_XDS_BOOTSTRAP']) return process.env['GRPC_XDS_BOOTSTRAP'];
  if (process.env['GRPC_XDS_BOOTSTRAP_CONFIG']) return '(GRPC_XDS_BOOTSTRAP_CONFIG)';
  return undefined;
}
