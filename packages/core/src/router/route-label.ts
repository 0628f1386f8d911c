// How errors and logs name a route: its name, else its position, and the object it came from.
// Its own file so the adapters name routes without loading the router (see adapter.ts).

import type { CompiledRoute } from '../snapshot/mesh-snapshot.ts';

export function routeLabel(route: CompiledRoute): string {
  const name = route.name || `#${route.index}`;
  return route.origin ? `${name} (${route.origin})` : name;
}
