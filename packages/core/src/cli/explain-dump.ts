// `meshlet explain` and `meshlet dump`: build a mesh the way a service would — from CRD files,
// from an xDS server (a bootstrap file), or from a live cluster's API (--kubernetes) — and print
// the decision for one request, or the whole config dump, as JSON. Nothing is sent.

import { parseArgs } from 'node:util';
import { createMesh, type MeshOptions } from '../create-mesh.ts';
import { silentLogger } from '../logger.ts';

type Out = { log(s: string): void; error(s: string): void };

export async function explainDumpCommand(command: 'explain' | 'dump', args: string[], out: Out, help: string): Promise<number> {
  const { positionals, values } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      config: { type: 'string', multiple: true },
      namespace: { type: 'string' },
      label: { type: 'string', multiple: true },
      'mesh-config': { type: 'string' },
      header: { type: 'string', short: 'H', multiple: true },
      bootstrap: { type: 'string' },
      listener: { type: 'string', multiple: true },
      kubernetes: { type: 'boolean' },
      kubeconfig: { type: 'string' },
      context: { type: 'string' },
      'watch-namespace': { type: 'string', multiple: true },
      'skip-invalid-objects': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { out.log(help.trimEnd()); return 0; }
  const kubernetes = values.kubernetes === true || values.kubeconfig !== undefined || values.context !== undefined;
  const sources = [values.config?.length ? '--config' : '', values.bootstrap !== undefined ? '--bootstrap' : '', kubernetes ? '--kubernetes' : ''].filter((s) => s !== '');
  if (sources.length > 1) { out.error(`meshlet ${command}: give one of ${sources.join(', ')}`); return 2; }
  if (values.bootstrap !== undefined && command !== 'dump') { out.error('meshlet explain: --bootstrap is for dump; explain takes --config or --kubernetes'); return 2; }
  if (sources.length === 0) { out.error(`meshlet ${command}: --config <dir> or --kubernetes is required`); return 2; }

  const labels: Record<string, string> = {};
  for (const l of values.label ?? []) {
    const eq = l.indexOf('=');
    if (eq <= 0) { out.error(`meshlet ${command}: --label ${l}: give key=value`); return 2; }
    labels[l.slice(0, eq)] = l.slice(eq + 1);
  }
  const problems: string[] = [];
  const logger = { ...silentLogger, error: (o: object | string) => problems.push(String(o)), warn: (o: object | string) => problems.push(String(o)) };
  const base: MeshOptions = {
    ...(values.namespace !== undefined && { namespace: values.namespace }),
    ...(values.label !== undefined && { labels }),
    ...(values['mesh-config'] !== undefined && { meshConfig: values['mesh-config'] }),
    telemetry: false,
  };
  let options: MeshOptions;
  if (values.bootstrap !== undefined) {
    options = { ...base, bootstrap: values.bootstrap, listeners: values.listener ?? '*', logger: { ...silentLogger, error: (o, m) => out.error(`${m ?? ''} ${JSON.stringify(o)}`) } };
  } else if (kubernetes) {
    options = {
      ...base,
      logger,
      kubernetes: {
        ...(values.kubeconfig !== undefined && { kubeconfig: values.kubeconfig }),
        ...(values.context !== undefined && { context: values.context }),
        ...(values['watch-namespace'] && { namespaces: values['watch-namespace'] }),
      },
    };
  } else {
    options = { ...base, config: values.config!, watch: false, skipInvalidObjects: values['skip-invalid-objects'] === true, logger };
  }

  const mesh = await createMesh(options);
  try {
    for (const p of problems) out.error(p);
    if (command === 'dump') {
      out.log(JSON.stringify(mesh.configDump(), null, 2));
      return 0;
    }
    if (positionals.length !== 2) { out.error('meshlet explain: give <METHOD> <URL>, e.g. GET http://reviews:9080/'); return 2; }
    const headers: Record<string, string> = {};
    for (const h of values.header ?? []) {
      const i = h.indexOf(':');
      if (i <= 0) { out.error(`meshlet explain: header ${JSON.stringify(h)} is not 'name: value'`); return 2; }
      headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
    }
    out.log(JSON.stringify(mesh.explain({ method: positionals[0]!, url: positionals[1]!, headers }), null, 2));
    return 0;
  } finally {
    await mesh.close();
  }
}
