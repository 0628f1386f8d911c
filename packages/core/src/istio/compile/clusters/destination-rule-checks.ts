// DestinationRule settings that compile to nothing, reported so a user does not believe they
// hold: fields istiod ignores and fields Meshlet does not enforce yet. (A rule whose host no
// ServiceEntry declares is an analyzer finding, IST0174, analyze/.)

import type { CompileContext, Path } from '../common/compile-context.ts';
import type { DestinationRule, TrafficPolicy } from '../../types.ts';

export function checkDestinationRules(ctx: CompileContext, rules: readonly DestinationRule[]): void {
  for (const dr of rules) {
    checkPolicy(ctx, dr, dr.spec.trafficPolicy, ['spec', 'trafficPolicy']);
    (dr.spec.subsets ?? []).forEach((s, i) => checkPolicy(ctx, dr, s.trafficPolicy, ['spec', 'subsets', i, 'trafficPolicy']));
  }
}

function checkPolicy(ctx: CompileContext, dr: DestinationRule, policy: TrafficPolicy | undefined, path: Path): void {
  if (!policy) return;
  checkBlocks(ctx, dr, policy, path);
  (policy.portLevelSettings ?? []).forEach((p, i) => checkBlocks(ctx, dr, p, [...path, 'portLevelSettings', i]));
}

function checkBlocks(ctx: CompileContext, dr: DestinationRule, p: Omit<TrafficPolicy, 'portLevelSettings'>, path: Path): void {
  const od = p.outlierDetection;
  if (od?.consecutiveErrors !== undefined && od.consecutive5xxErrors === undefined) {
    ctx.problems.warn(dr, [...path, 'outlierDetection', 'consecutiveErrors'], 'consecutiveErrors is deprecated and istiod ignores it; use consecutive5xxErrors or consecutiveGatewayErrors');
  }
  const lb = p.loadBalancer;
  if ((lb?.warmup || lb?.warmupDurationSecs) && (lb.simple === 'RANDOM' || lb.simple === 'PASSTHROUGH' || lb.consistentHash)) {
    // istiod writes slow start only into the ROUND_ROBIN / LEAST_REQUEST configs.
    ctx.problems.warn(dr, [...path, 'loadBalancer', lb.warmup ? 'warmup' : 'warmupDurationSecs'], 'warmup applies only to ROUND_ROBIN and LEAST_REQUEST balancing; it is ignored here');
  }
  if (p.tunnel !== undefined) ctx.problems.warn(dr, [...path, 'tunnel'], 'tunnel settings are not applied by Meshlet');
  if (p.proxyProtocol !== undefined) ctx.problems.warn(dr, [...path, 'proxyProtocol'], 'PROXY protocol is not applied by Meshlet');
}
