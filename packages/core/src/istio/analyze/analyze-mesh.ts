// The cross-object checks `meshlet validate` runs after loading — Meshlet's `istioctl analyze`,
// offline — and that createMesh, `meshlet dump` and `meshlet xds` report with every load. Each
// analyzer is a file of its own in this folder; the table in the README lists them with their
// codes. Findings never drop an object: they say what the config, applied as written, does wrong.

import type { ConfigProblem } from '../../config-error.ts';
import type { MeshObject } from '../types.ts';
import { AnalysisContext, type AnalysisOptions, type Analyzer } from './analysis-context.ts';
import { conflictingDestinationRules } from './analyze-conflicting-destination-rules.ts';
import { conflictingVirtualServices } from './analyze-conflicting-virtual-services.ts';
import { delegates } from './analyze-delegates.ts';
import { destinationHosts } from './analyze-destination-hosts.ts';
import { destinationRuleHosts } from './analyze-destination-rule-hosts.ts';
import { destinationSubsets } from './analyze-destination-subsets.ts';
import { gatewayRoutes } from './analyze-gateway-routes.ts';
import { serviceEntryProtocols } from './analyze-service-entry-protocols.ts';
import { subsetEndpoints } from './analyze-subset-endpoints.ts';
import { telemetrySelectors } from './analyze-telemetry-selectors.ts';
import { sidecarSelectors } from './analyze-sidecar-selectors.ts';
import { tlsPeerAuthentication } from './analyze-tls-peer-authentication.ts';
import { unreachableRules } from './analyze-unreachable-rules.ts';
import { virtualServiceHosts } from './analyze-virtual-service-hosts.ts';

export type { AnalysisOptions, Analyzer } from './analysis-context.ts';

export const ANALYZERS: readonly Analyzer[] = [
  destinationHosts,
  destinationSubsets,
  delegates,
  conflictingVirtualServices,
  virtualServiceHosts,
  unreachableRules,
  destinationRuleHosts,
  subsetEndpoints,
  conflictingDestinationRules,
  tlsPeerAuthentication,
  gatewayRoutes,
  serviceEntryProtocols,
  telemetrySelectors,
  sidecarSelectors,
];

/** Every finding of every analyzer over `objects` (loaded and valid), in analyzer order. */
export function analyzeMesh(objects: readonly MeshObject[], options: AnalysisOptions = {}): ConfigProblem[] {
  const ctx = new AnalysisContext(objects, options);
  for (const analyzer of ANALYZERS) analyzer.run(ctx);
  return ctx.findings;
}
