// `meshlet explain` and `meshlet dump` on tests/fixtures/bookinfo, a cluster dump of Istio's
// bookinfo with its networking rules: the decision and the config a user would check first.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

const MAIN = fileURLToPath(new URL('../src/cli/main.ts', import.meta.url));
const BOOKINFO = join(import.meta.dirname, '../../../tests/fixtures/bookinfo');

function meshlet(...args: string[]): { json: Record<string, unknown>; stderr: string } {
  const r = spawnSync(process.execPath, ['--conditions=source', MAIN, ...args], { encoding: 'utf8', timeout: 60_000 });
  expect(r.status, r.stderr).toBe(0);
  return { json: JSON.parse(r.stdout) as Record<string, unknown>, stderr: r.stderr };
}

interface Explained {
  service: string;
  route: { origin: string; index: number };
  clusters: { name: string; percent: number; endpoints: { address: string; healthy: boolean }[] }[];
}

describe('meshlet explain / dump on bookinfo', () => {
  it('explains the jason route to reviews v2, by name or cluster IP, and v3 (one pod not ready) for others', () => {
    const jason = meshlet('explain', '--config', BOOKINFO, '-H', 'end-user: jason', 'GET', 'http://reviews:9080/reviews/0');
    const j = jason.json as unknown as Explained;
    expect(j.service).toBe('reviews.default.svc.cluster.local:9080');
    expect(j.route).toMatchObject({ origin: 'VirtualService default/reviews', index: 0 });
    expect(j.clusters).toEqual([{ ...j.clusters[0], name: 'outbound|9080|v2|reviews.default.svc.cluster.local', percent: 100, endpoints: [{ address: '127.0.0.14:9080', weight: 1, healthy: true }] }]);
    // The notes go to stderr: one per skipped kind, and the subsets no pod carries.
    expect(jason.stderr.match(/kind Deployment \(apps\/v1\)/g)).toHaveLength(1);
    expect(jason.stderr).toMatch(/bookinfo\.yaml:\d+: warning: kind Deployment \(apps\/v1\): a Deployment is not an endpoint/);
    const other = meshlet('explain', '--config', BOOKINFO, 'GET', 'http://10.96.10.13:9080/').json as unknown as Explained;
    expect(other.clusters.map((c) => [c.name, c.endpoints])).toEqual([['outbound|9080|v3|reviews.default.svc.cluster.local', [{ address: '127.0.0.15:9080', weight: 1, healthy: true }, { address: '127.0.0.17:9080', weight: 1, healthy: false }]]]);
  });

  it("dumps each Service's listener, route table, subset clusters and pod endpoints with their locality", () => {
    const { json } = meshlet('dump', '--config', BOOKINFO);
    const names = (list: unknown) => (list as { name?: string; clusterName?: string }[]).map((x) => x.name ?? x.clusterName);
    expect(names(json['listeners']).sort()).toEqual(['details', 'productpage', 'ratings', 'reviews'].map((s) => `${s}.default.svc.cluster.local:9080`));
    expect(names(json['clusters'])).toContain('outbound|9080|v2-mysql|ratings.default.svc.cluster.local');
    const reviews = (json['endpoints'] as { clusterName: string; endpoints: { locality: unknown; lbEndpoints: { endpoint: { address: { socketAddress: { address: string } } }; healthStatus: string }[] }[] }[])
      .find((e) => e.clusterName === 'outbound|9080||reviews.default.svc.cluster.local');
    const flat = reviews?.endpoints.flatMap((g) => g.lbEndpoints.map((e) => `${e.endpoint.address.socketAddress.address} ${e.healthStatus} ${JSON.stringify(g.locality)}`));
    // The terminating reviews-v1 pod (127.0.0.18) is not sent at all.
    expect(flat?.sort()).toEqual([
      '127.0.0.13 HEALTHY {"region":"us-east-1","zone":"us-east-1a"}',
      '127.0.0.14 HEALTHY {"region":"us-east-1","zone":"us-east-1b"}',
      '127.0.0.15 HEALTHY {"region":"us-east-1","zone":"us-east-1a"}',
      '127.0.0.17 UNHEALTHY {"region":"us-east-1","zone":"us-east-1b"}',
    ]);
  });
});
