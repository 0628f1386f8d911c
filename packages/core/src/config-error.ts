// One problem found in a config input, formatted the way every Meshlet tool prints it:
//   file:line: Kind ns/name: field: message [CODE]
// An object read from the Kubernetes API has no file; it is named with its resourceVersion:
//   Kind ns/name (resourceVersion 4182): field: message [CODE]
// Errors found while loading reject the object they are found in (the last good config stays in
// force); warnings are reported and the object is used. Problems found by the cross-object
// analyzers (istio/analyze/) carry the code istioctl analyze gives the same finding (IST0101,
// ...) or a Meshlet one (MSH...), and never drop an object: they say what the config, applied as
// written, will do wrong.

/** istioctl analyze's levels: Error, Warning, Info. */
export type Severity = 'error' | 'warning' | 'info';

export interface ConfigProblem {
  severity: Severity;
  /** The file the object was read from; empty for an object read from the Kubernetes API. */
  file: string;
  /** 1-based line in `file`; 0 when there is no file. */
  line: number;
  /** The version of an object read from the Kubernetes API (metadata.resourceVersion). */
  resourceVersion?: string;
  /** Object kind, e.g. 'VirtualService'; empty when the document could not be read as an object. */
  kind: string;
  namespace: string;
  name: string;
  /** Dotted field path inside the object, e.g. 'spec.http[0].route[1].weight'; empty for the whole object. */
  field: string;
  message: string;
  /** The analyzer message code, e.g. 'IST0101' (istioctl analyze's) or 'MSH0001' (Meshlet's own). */
  code?: string;
}

/** Where a problem is, from the object's source: file and line, or the API object's version. */
export function locate(
  source: { file: string; lineOf(path: readonly (string | number)[]): number; resourceVersion?: string | undefined },
  path: readonly (string | number)[],
): Pick<ConfigProblem, 'file' | 'line' | 'resourceVersion'> {
  const at = { file: source.file, line: source.lineOf(path) };
  return source.resourceVersion === undefined ? at : { ...at, resourceVersion: source.resourceVersion };
}

export function formatProblem(p: ConfigProblem): string {
  const where = p.file === '' ? '' : `${p.file}:${p.line}`;
  const version = p.resourceVersion === undefined ? '' : ` (resourceVersion ${p.resourceVersion})`;
  // Cluster-scoped kinds (Node, Namespace) have no namespace.
  const what = p.kind ? `${p.kind} ${p.namespace ? `${p.namespace}/` : ''}${p.name}${version}` : '';
  const prefix = p.severity === 'error' ? '' : `${p.severity}: `;
  const code = p.code ? ` [${p.code}]` : '';
  return [where, what, p.field, prefix + p.message + code].filter((s) => s !== '').join(': ');
}

/** Renders a path like ['spec','http',0,'route'] as 'spec.http[0].route'. */
export function fieldPath(path: readonly (string | number)[]): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? seg : `.${seg}`;
  }
  return out;
}
