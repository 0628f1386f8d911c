// The bootstrap's `certificate_providers` (gRFC A29), as istio-agent writes it for proxyless
// clients: instance "default" with the `file_watcher` plugin pointing at cert-chain.pem, key.pem
// and root-cert.pem. Each instance is registered with the mesh's TlsCredentials under its name,
// which is what a cluster's certificate provider instance refers to.

import { durationToMs } from '../xds/duration.ts';
import { ConfigError } from '../errors.ts';
import type { CertificateProviderConfig } from './tls-credentials.ts';

export function certificateProvidersFromBootstrap(bootstrap: unknown): Map<string, CertificateProviderConfig> {
  const out = new Map<string, CertificateProviderConfig>();
  const providers = (bootstrap as { certificate_providers?: unknown } | null)?.certificate_providers;
  if (providers === undefined) return out;
  if (typeof providers !== 'object' || providers === null) throw new ConfigError('bootstrap: certificate_providers must be an object');
  for (const [name, raw] of Object.entries(providers as Record<string, unknown>)) {
    const at = `bootstrap: certificate_providers.${name}`;
    const p = raw as { plugin_name?: unknown; config?: Record<string, unknown> };
    if (p?.plugin_name !== 'file_watcher') throw new ConfigError(`${at}.plugin_name: ${JSON.stringify(p?.plugin_name)} is not supported (only file_watcher)`);
    const c = p.config ?? {};
    const str = (k: string): string | undefined => {
      const v = c[k];
      if (v === undefined) return undefined;
      if (typeof v !== 'string' || v === '') throw new ConfigError(`${at}.config.${k}: must be a file path`);
      return v;
    };
    const certificateChain = str('certificate_file');
    const privateKey = str('private_key_file');
    const rootCert = str('ca_certificate_file');
    if ((certificateChain === undefined) !== (privateKey === undefined)) throw new ConfigError(`${at}.config: certificate_file and private_key_file go together`);
    if (certificateChain === undefined && rootCert === undefined) throw new ConfigError(`${at}.config: needs certificate_file and private_key_file, or ca_certificate_file`);
    const refresh = c['refresh_interval'];
    const refreshMs = typeof refresh === 'string' ? durationToMs(refresh) : undefined;
    if (refresh !== undefined && refreshMs === undefined) throw new ConfigError(`${at}.config.refresh_interval: ${JSON.stringify(refresh)} is not a duration`);
    out.set(name, { files: { certificateChain, privateKey, rootCert }, refreshMs });
  }
  return out;
}

/**
 * Registers a parsed bootstrap's certificate providers with the mesh's credentials. gRPC ignores
 * plugins it does not know; so does Meshlet, with a warning, since a cluster that names such an
 * instance then fails its requests with a message naming it.
 */
export function registerBootstrapCertificateProviders(
  credentials: { setProvider(instance: string, config: CertificateProviderConfig): void },
  providers: Readonly<Record<string, { readonly pluginName: string; readonly config: Readonly<Record<string, unknown>> }>>,
  logger: { warn(obj: object | string, msg?: string): void },
): void {
  for (const [name, p] of Object.entries(providers)) {
    try {
      const one = certificateProvidersFromBootstrap({ certificate_providers: { [name]: { plugin_name: p.pluginName, config: p.config } } });
      credentials.setProvider(name, one.get(name)!);
    } catch (err) {
      logger.warn({ instance: name, error: (err as Error).message }, 'certificate provider not usable; clusters that name it will fail their requests');
    }
  }
}
