// IST0177: several ServiceEntries declare one host and port with different protocols — istioctl's
// serviceentry.ConflictingServiceEntryAnalyzer. Only one declaration is used, so whether the
// port is routed as HTTP depends on which.

import type { ServiceEntry } from '../types.ts';
import type { Analyzer } from './analysis-context.ts';

export const serviceEntryProtocols: Analyzer = {
  name: 'serviceentry.ConflictingProtocols',
  description: 'ServiceEntries that declare the same host and port agree on its protocol',
  messages: ['ConflictingServiceEntryProtocol'],
  run(ctx) {
    // host|port → declarations with the path of their port
    const byPort = new Map<string, { se: ServiceEntry; index: number; protocol: string }[]>();
    for (const se of ctx.serviceEntries) {
      for (const raw of se.spec.hosts ?? []) {
        const host = ctx.fqdn(raw, se.metadata.namespace);
        (se.spec.ports ?? []).forEach((p, index) => {
          const key = `${host}|${p.number}`;
          const list = byPort.get(key) ?? [];
          list.push({ se, index, protocol: (p.protocol ?? '').toUpperCase() });
          byPort.set(key, list);
        });
      }
    }
    for (const [key, list] of byPort) {
      const protocols = [...new Set(list.map((d) => d.protocol || '(none)'))];
      if (protocols.length < 2) continue;
      const [host, port] = key.split('|') as [string, string];
      const names = [...new Set(list.map((d) => `${d.se.metadata.namespace}/${d.se.metadata.name}`))].sort().join(', ');
      for (const d of list) {
        ctx.report('ConflictingServiceEntryProtocol', d.se, ['spec', 'ports', d.index, 'protocol'], `Multiple ServiceEntries (${names}) define the same host "${host}" and port ${port} with conflicting protocols (${protocols.join(', ')})`);
      }
    }
  },
};
