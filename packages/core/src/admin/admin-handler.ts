// What a sidecar's admin page gives, in-process: a request handler a service can mount on its
// own node:http server (or an Express/Fastify raw route) to look inside the mesh.
//
//   /config_dump          the xDS resources in force, with versions and problems (JSON);
//                         ?format=csds gives a CSDS ClientStatusResponse
//   /clusters             every cluster: endpoints with health, ejection state, counters, limits
//   /stats                Envoy-style counters, `cluster.<name>.<stat>: <value>` (or ?format=json)
//   /explain?url=...      the decision for a request (&method=GET&header=name:value...)

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Mesh } from '../mesh.ts';

export type AdminHandler = (req: IncomingMessage, res: ServerResponse) => void;

/** `prefix` is where the handler is mounted, e.g. '/meshlet' (default ''). */
export function createAdminHandler(mesh: Mesh, opts: { prefix?: string } = {}): AdminHandler {
  const prefix = opts.prefix ?? '';
  return (req, res) => {
    const url = new URL(req.url ?? '/', 'http://admin');
    const path = url.pathname.startsWith(prefix) ? url.pathname.slice(prefix.length) || '/' : url.pathname;
    try {
      switch (path) {
        case '/config_dump': return json(res, 200, url.searchParams.get('format') === 'csds' ? mesh.clientStatus() : mesh.configDump());
        case '/clusters': return json(res, 200, clusters(mesh));
        case '/stats': {
          const rows = stats(mesh);
          if (url.searchParams.get('format') === 'json') return json(res, 200, Object.fromEntries(rows));
          return text(res, 200, rows.map(([k, v]) => `${k}: ${v}`).join('\n') + '\n');
        }
        case '/explain': {
          const target = url.searchParams.get('url');
          if (!target) return json(res, 400, { error: 'explain needs ?url=<request URL>, e.g. /explain?url=http://reviews:9080/' });
          const headers: Record<string, string> = {};
          for (const h of url.searchParams.getAll('header')) {
            const i = h.indexOf(':');
            if (i > 0) headers[h.slice(0, i).trim().toLowerCase()] = h.slice(i + 1).trim();
          }
          return json(res, 200, mesh.explain({ method: url.searchParams.get('method') ?? 'GET', url: target, headers }));
        }
        case '/':
          return text(res, 200, 'meshlet admin: /config_dump /clusters /stats /explain?url=\n');
        default:
          return json(res, 404, { error: `no admin page ${path}; try /config_dump, /clusters, /stats, /explain?url=` });
      }
    } catch (err) {
      return json(res, 500, { error: err instanceof Error ? err.message : String(err) });
    }
  };
}

function clusters(mesh: Mesh) {
  const now = Date.now();
  return [...mesh.snapshot.clusters.values()].map((c) => ({
    name: c.name,
    lbPolicy: c.lbPolicy,
    limits: c.limits,
    outlierDetection: c.outlier ?? null,
    stats: c.runtime.stats(),
    endpoints: c.endpoints.map((e) => ({
      address: e.key,
      healthy: e.healthy,
      ejected: e.ejectedUntil > 0,
      ...(e.ejectedUntil > 0 && { ejectedForMs: Math.max(0, e.ejectedUntil - now) }),
      ejections: e.ejections,
      activeRequests: e.active,
      weight: e.weight,
      priority: e.priority,
      locality: e.locality ?? null,
      labels: e.labels,
    })),
  }));
}

function stats(mesh: Mesh): [string, number][] {
  const rows: [string, number][] = [['meshlet.config.version', mesh.snapshot.version]];
  for (const c of mesh.snapshot.clusters.values()) {
    for (const [k, v] of Object.entries(c.runtime.stats())) rows.push([`cluster.${c.name}.${k}`, v]);
  }
  return rows;
}

function json(res: ServerResponse, status: number, body: unknown): void {
  const data = JSON.stringify(body, null, 2);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(data) });
  res.end(data);
}

function text(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
