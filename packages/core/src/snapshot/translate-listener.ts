// Listener → the route configuration it serves. Client-side (API) listeners carry an
// HttpConnectionManager that either names a RouteConfiguration (RDS) or holds one inline.

import { memoByObject } from './translate-memo.ts';
import type { HttpConnectionManager, Listener, RouteConfiguration } from '../xds/resources.ts';
import { TYPE_URL } from '../xds/resources.ts';
import { fail, ok, type Result } from '../xds/translate-result.ts';

export interface ListenerSettings {
  readonly name: string;
  readonly routeConfigName: string | undefined;
  readonly inlineRouteConfig: RouteConfiguration | undefined;
}

/** Remembered per resource object (translate-memo.ts). */
export const translateListener = memoByObject(translateListenerOnce);

function translateListenerOnce(l: Listener): Result<ListenerSettings> {
  if (!l.name) return fail('Listener: name is required');
  const any = l.apiListener?.apiListener;
  if (!any) return fail(`Listener ${l.name}: apiListener.apiListener: required for a client listener`);
  if (any['@type'] !== TYPE_URL.HttpConnectionManager) return fail(`Listener ${l.name}: apiListener.apiListener: type ${any['@type']} is not an HttpConnectionManager`);
  const hcm = any as unknown as HttpConnectionManager;
  if (hcm.rds) {
    if (!hcm.rds.routeConfigName) return fail(`Listener ${l.name}: apiListener.apiListener.rds.routeConfigName: required`);
    if (hcm.rds.configSource && !hcm.rds.configSource.ads) return fail(`Listener ${l.name}: apiListener.apiListener.rds.configSource: only ads is supported`);
    return ok({ name: l.name, routeConfigName: hcm.rds.routeConfigName, inlineRouteConfig: undefined });
  }
  if (hcm.routeConfig) return ok({ name: l.name, routeConfigName: undefined, inlineRouteConfig: hcm.routeConfig });
  return fail(`Listener ${l.name}: apiListener.apiListener: neither rds nor routeConfig is set`);
}
