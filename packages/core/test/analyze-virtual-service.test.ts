// The VirtualService analyzers: references to hosts, ports, subsets and delegates (IST0101),
// VirtualServices conflicting on a host (IST0109), hosts with no service (MSH0001), and
// unreachable rules and matches (IST0130, IST0131) — each finding at its file:line.

import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeMesh } from '../src/istio/analyze/analyze-mesh.ts';
import { loadConfigFiles } from '../src/istio/load/load-files.ts';
import { analyzeYaml, destinationRule, lineOf, REVIEWS, serviceEntry, virtualService } from './analyze-helpers.ts';

const route = (dest: string, extra = ''): string => `  hosts: [reviews]\n  http:\n  - route:\n    - destination: ${dest}\n${extra}`;

describe('virtualservice.DestinationHosts (IST0101)', () => {
  it('a destination host no service declares', () => {
    const yaml = REVIEWS + virtualService('reviews', route('{ host: ratings }'));
    expect(analyzeYaml(yaml)).toEqual([
      `mesh.yaml:${lineOf(yaml, 'host: ratings')}: VirtualService default/reviews: spec.http[0].route[0].destination.host: Referenced host not found: "ratings.default.svc.cluster.local" (no Service or ServiceEntry declares it); requests routed there fail [IST0101]`,
    ]);
  });

  it('a host declared only for another namespace, or only by a wildcard entry', () => {
    const yaml = REVIEWS
      + serviceEntry('private', '  hosts: [private.example.com]\n  ports: [{ number: 80, name: http }]\n  resolution: DNS\n  exportTo: ["."]', 'other')
      + serviceEntry('wide', '  hosts: ["*.wide.com"]\n  ports: [{ number: 80, name: http }]\n  resolution: NONE')
      + virtualService('reviews', `  hosts: [reviews]\n  http:\n  - match: [{ uri: { prefix: /p } }]\n    route:\n    - destination: { host: private.example.com }\n  - route:\n    - destination: { host: api.wide.com }`);
    expect(analyzeYaml(yaml)).toEqual([
      expect.stringContaining('spec.http[0].route[0].destination.host: Referenced host not found: "private.example.com" (ServiceEntry other/private declares it but is not exported to namespace default)'),
      expect.stringContaining('spec.http[1].route[0].destination.host: Referenced host not found: "api.wide.com" (only the wildcard ServiceEntry host *.wide.com covers it'),
    ]);
  });

  it('a port the destination service does not have, and a mirror to nowhere', () => {
    const yaml = REVIEWS + virtualService('reviews', route('{ host: reviews, port: { number: 9999 } }', '    mirror: { host: shadow }'));
    expect(analyzeYaml(yaml)).toEqual([
      `mesh.yaml:${lineOf(yaml, 'number: 9999')}: VirtualService default/reviews: spec.http[0].route[0].destination.port.number: Referenced host:port not found: "reviews.default.svc.cluster.local:9999" (the service has port 9080); requests routed there fail [IST0101]`,
      `mesh.yaml:${lineOf(yaml, 'mirror:')}: VirtualService default/reviews: spec.http[0].mirror.host: Referenced mirror host not found: "shadow.default.svc.cluster.local" (no Service or ServiceEntry declares it); nothing is mirrored there [IST0101]`,
    ]);
  });

  it('says nothing about a destination that resolves', () => {
    expect(analyzeYaml(REVIEWS + virtualService('reviews', route('{ host: reviews.default.svc.cluster.local, port: { number: 9080 } }')))).toEqual([]);
  });
});

describe('virtualservice.DestinationSubsets (IST0101)', () => {
  it('a subset no DestinationRule defines, with or without a rule for the host', () => {
    const withRule = REVIEWS + destinationRule('reviews', '  host: reviews\n  subsets: [{ name: v1, labels: { version: v1 } }]') + virtualService('reviews', route('{ host: reviews, subset: v2 }'));
    expect(analyzeYaml(withRule)).toEqual([
      `mesh.yaml:${lineOf(withRule, 'subset: v2')}: VirtualService default/reviews: spec.http[0].route[0].destination.subset: Referenced host+subset in destinationrule not found: "reviews.default.svc.cluster.local+v2" (the DestinationRule for reviews.default.svc.cluster.local has no subset v2); requests routed there fail [IST0101]`,
    ]);
    const noRule = REVIEWS + virtualService('reviews', route('{ host: reviews, subset: v1 }'));
    expect(analyzeYaml(noRule)).toEqual([expect.stringContaining('(no DestinationRule is for reviews.default.svc.cluster.local)')]);
  });

  it('a subset defined by a DestinationRule for a wildcard host covering the destination is found', () => {
    const yaml = serviceEntry('api', '  hosts: [api.example.com]\n  ports: [{ number: 80, name: http }]\n  resolution: DNS')
      + destinationRule('all', '  host: "*.example.com"\n  subsets: [{ name: v1 }]')
      + virtualService('api', '  hosts: [api.example.com]\n  http:\n  - route:\n    - destination: { host: api.example.com, subset: v1 }');
    expect(analyzeYaml(yaml)).toEqual([]);
  });
});

describe('virtualservice.Delegates (IST0101)', () => {
  it('a delegate that is missing, or not exported to the delegating namespace; a found one is fine', () => {
    const delegate = (name: string, ns: string, exportTo = ''): string => virtualService(name, `${exportTo}  http:\n  - route:\n    - destination: { host: reviews.default.svc.cluster.local }`, ns);
    const yaml = REVIEWS
      + virtualService('root', `  hosts: [reviews]
  http:
  - match: [{ uri: { prefix: /a } }]
    delegate: { name: missing }
  - match: [{ uri: { prefix: /b } }]
    delegate: { name: private, namespace: team }
  - match: [{ uri: { prefix: /c } }]
    delegate: { name: shared, namespace: team }
  - route:
    - destination: { host: reviews }`)
      + delegate('private', 'team', '  exportTo: ["."]\n') + delegate('shared', 'team');
    expect(analyzeYaml(yaml)).toEqual([
      `mesh.yaml:${lineOf(yaml, 'name: missing')}: VirtualService default/root: spec.http[0].delegate: Referenced delegate VirtualService not found: "default/missing"; this rule is skipped and its requests fall through to the next rules [IST0101]`,
      `mesh.yaml:${lineOf(yaml, 'name: private')}: VirtualService default/root: spec.http[1].delegate: Referenced delegate VirtualService not found: "team/private" is not exported to namespace default; this rule is skipped and its requests fall through to the next rules [IST0101]`,
    ]);
  });
});

describe('virtualservice.ConflictingMeshGatewayHosts (IST0109)', () => {
  const vs = (name: string, hosts: string, exportTo = ''): string => virtualService(name, `  hosts: ${hosts}\n${exportTo}  http:\n  - route:\n    - destination: { host: reviews.default.svc.cluster.local }`);

  it('two VirtualServices for one host, however it is written, are both reported', () => {
    const yaml = REVIEWS + vs('a', '[reviews]') + vs('b', '[reviews.default.svc.cluster.local]');
    expect(analyzeYaml(yaml)).toEqual([
      `mesh.yaml:${lineOf(yaml, 'hosts: [reviews]')}: VirtualService default/a: spec.hosts[0]: The VirtualServices default/a, default/b associated with mesh gateway define the same host reviews.default.svc.cluster.local; a client uses only one of them for it (the one in its own namespace, else the oldest) and ignores the others' rules: merge them into one VirtualService [IST0109]`,
      `mesh.yaml:${lineOf(yaml, 'hosts: [reviews.default.svc.cluster.local]', 1)}: VirtualService default/b: spec.hosts[0]: The VirtualServices default/a, default/b associated with mesh gateway define the same host reviews.default.svc.cluster.local; a client uses only one of them for it (the one in its own namespace, else the oldest) and ignores the others' rules: merge them into one VirtualService [IST0109]`,
    ]);
  });

  it('VirtualServices exported to different namespaces do not conflict; one exported everywhere meets both', () => {
    const apart = REVIEWS + vs('a', '[reviews]', '  exportTo: [team-a]\n') + vs('b', '[reviews]', '  exportTo: [team-b]\n');
    expect(analyzeYaml(apart)).toEqual([]);
    const wide = apart + vs('c', '[reviews]');
    expect(analyzeYaml(wide).filter((l) => l.endsWith('[IST0109]'))).toHaveLength(3);
  });

  it('a VirtualService bound only to a gateway is not the mesh\'s', () => {
    const yaml = REVIEWS + vs('a', '[reviews]') + virtualService('gw', '  hosts: [reviews]\n  gateways: [istio-system/ingress]\n  http:\n  - route:\n    - destination: { host: reviews }');
    expect(analyzeYaml(yaml)).toEqual([]);
  });
});

describe('virtualservice.Hosts (MSH0001)', () => {
  it('a host no service declares, and a wildcard host that covers none, route nothing', () => {
    const yaml = REVIEWS + virtualService('ghost', '  hosts: [ghost.example.com, "*.nothing.org", reviews]\n  http:\n  - route:\n    - destination: { host: reviews }');
    expect(analyzeYaml(yaml)).toEqual([
      `mesh.yaml:${lineOf(yaml, 'hosts: [ghost')}: VirtualService default/ghost: spec.hosts[0]: warning: host ghost.example.com has no service (no Service or ServiceEntry declares it), so these rules route nothing [MSH0001]`,
      `mesh.yaml:${lineOf(yaml, 'hosts: [ghost')}: VirtualService default/ghost: spec.hosts[1]: warning: host *.nothing.org covers no host any ServiceEntry declares, so these rules route nothing [MSH0001]`,
    ]);
  });
});

describe('virtualservice.UnreachableRules (IST0130, IST0131)', () => {
  const check = (http: string): string[] => analyzeYaml(REVIEWS + virtualService('reviews', `  hosts: [reviews]\n  http:\n${http}`));
  const to = '    route:\n    - destination: { host: reviews }\n';

  it('a rule after a rule with no match (IST0130, warning)', () => {
    expect(check(`  - route:\n    - destination: { host: reviews }\n  - match: [{ uri: { prefix: /a } }]\n${to}`)).toEqual([
      expect.stringMatching(/: VirtualService default\/reviews: spec.http\[1\]: warning: rule #1 is never used: rule #0 before it has no match and takes every request \[IST0130\]$/),
    ]);
  });

  it('two rules without a match', () => {
    expect(check(`  - route:\n    - destination: { host: reviews }\n  - route:\n    - destination: { host: reviews }\n`)).toEqual([
      expect.stringMatching(/spec.http\[1\]: warning: rule #1 is never used: .* \(only the last rule may have no match\) \[IST0130\]$/),
    ]);
  });

  it('a match identical to an earlier one (IST0131, info) and a rule all of whose matches are taken (IST0130)', () => {
    expect(check(`  - name: first\n    match: [{ uri: { exact: /a }, name: one }]\n${to}  - match: [{ uri: { exact: /a }, name: two }]\n${to}`)).toEqual([
      expect.stringMatching(/spec.http\[1\].match\[0\]: info: match "two" of rule #1 is never used: rule "first" has the same match \[IST0131\]$/),
      expect.stringMatching(/spec.http\[1\]: warning: rule #1 is never used: all its matches are used by earlier rules \[IST0130\]$/),
    ]);
  });

  it('a prefix an earlier prefix covers (IST0131)', () => {
    expect(check(`  - match: [{ uri: { prefix: /api } }]\n${to}  - match: [{ uri: { prefix: /api/v1 } }]\n${to}`)).toEqual([
      expect.stringMatching(/spec.http\[1\].match\[0\]: info: match #0 \(prefix "\/api\/v1"\) of rule #1 is never used: match #0 \(prefix "\/api"\) of rule #0 takes its requests first \[IST0131\]$/),
    ]);
  });
});

describe('a config without mistakes', () => {
  it('the demo config has no findings', async () => {
    const { objects, problems } = await loadConfigFiles([join(import.meta.dirname, '../../../examples/demo/mesh')]);
    expect(problems).toEqual([]);
    expect(objects.length).toBeGreaterThan(5);
    expect(analyzeMesh(objects)).toEqual([]);
  });
});
