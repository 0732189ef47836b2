/** Where a function is served: its default URL (and below it) and each `config.path`. */
export interface Route {
  unitId: string;
  /** Segments; `:name` matches one segment, `*` the rest (none or more). */
  segments: string[];
  /** `/.netlify/functions/<name>` also answers below it. */
  prefix: boolean;
}

export interface RouteMatch {
  unitId: string;
  params: Record<string, string>;
}

const defaultPrefix = '/.netlify/functions/';

export function routesOf(unitId: string, name: string, paths: readonly string[]): Route[] {
  const routes: Route[] = [{ unitId, segments: split(`${defaultPrefix}${name}`), prefix: true }];
  for (const p of paths) {
    if (p === `${defaultPrefix}${name}`) continue;
    routes.push({ unitId, segments: split(p), prefix: false });
  }
  return routes;
}

/**
 * The route for `pathname`: a path of literal segments wins over one with `:param` or `*`, and
 * among those the one with more literal segments, so `/api/users/me` beats `/api/users/:id`.
 */
export function matchRoute(routes: readonly Route[], pathname: string): RouteMatch | undefined {
  const parts = split(pathname).map(decodeSegment);
  let best: { match: RouteMatch; score: number } | undefined;
  for (const route of routes) {
    const params = matchSegments(route, parts);
    if (params === undefined) continue;
    const score = route.segments.filter((s) => !s.startsWith(':') && s !== '*').length * 2 + (route.segments.every((s) => !s.startsWith(':') && s !== '*') ? 1 : 0);
    if (best === undefined || score > best.score) best = { match: { unitId: route.unitId, params }, score };
  }
  return best?.match;
}

function matchSegments(route: Route, parts: string[]): Record<string, string> | undefined {
  const params: Record<string, string> = {};
  const { segments } = route;
  for (let i = 0; i < segments.length; i += 1) {
    const want = segments[i]!;
    if (want === '*') return params;
    const got = parts[i];
    if (got === undefined) return undefined;
    if (want.startsWith(':')) params[want.slice(1)] = got;
    else if (want !== got) return undefined;
  }
  return parts.length === segments.length || route.prefix ? params : undefined;
}

/** `/a//b/` -> `['a', 'b']`: a trailing or doubled slash does not change the route. */
function split(pathname: string): string[] {
  return pathname.split('/').filter((s) => s !== '');
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}
