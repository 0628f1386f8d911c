// `meshlet xds --config <dir> --listen 127.0.0.1:<port>`: serve the compiled CRDs over ADS
// until interrupted. The first stdout line says where it listens (tests and scripts read the
// port from it when they pass port 0); logs go to stderr.

import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { XdsServer } from '../xds-server/ads-server.ts';
import type { Logger } from '../logger.ts';

function stderrLogger(verbose: boolean): Logger {
  const line = (level: string, obj: object | string, msg?: string): void => {
    const text = typeof obj === 'string' ? obj : `${msg ?? ''} ${JSON.stringify(obj)}`.trim();
    process.stderr.write(`meshlet xds: ${level}: ${text}\n`);
  };
  return {
    debug: (o, m) => { if (verbose) line('debug', o, m); },
    info: (o, m) => line('info', o, m),
    warn: (o, m) => line('warn', o, m),
    error: (o, m) => line('error', o, m),
  };
}

export async function xdsCommand(args: string[], out: { log(s: string): void; error(s: string): void }, help: string): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      config: { type: 'string', multiple: true },
      listen: { type: 'string' },
      'no-watch': { type: 'boolean' },
      'outbound-traffic-policy': { type: 'string' },
      'skip-invalid-objects': { type: 'boolean' },
      verbose: { type: 'boolean', short: 'v' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { process.stdout.write(help); return 0; }
  if (!values.config?.length) { out.error('meshlet xds: --config <dir> is required'); return 2; }
  const missing = values.config.filter((p) => !existsSync(p));
  if (missing.length > 0) { out.error(`meshlet xds: --config ${missing.join(', ')}: no such file or folder`); return 2; }
  const listen = values.listen ?? '127.0.0.1:15010';
  const outbound = values['outbound-traffic-policy'] ?? 'ALLOW_ANY';
  if (outbound !== 'ALLOW_ANY' && outbound !== 'REGISTRY_ONLY') { out.error(`meshlet xds: --outbound-traffic-policy ${outbound}: give ALLOW_ANY or REGISTRY_ONLY`); return 2; }
  const server = await XdsServer.start({
    config: values.config,
    listen,
    logger: stderrLogger(values.verbose === true),
    watch: values['no-watch'] !== true,
    skipInvalidObjects: values['skip-invalid-objects'] === true,
    outboundTrafficPolicy: outbound,
  });
  out.log(`meshlet xds: serving ${values.config.join(', ')} over ADS (SotW and delta) on ${server.address}`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  server.close();
  return 0;
}
