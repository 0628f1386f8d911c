// `meshlet validate`: `istioctl validate` and `istioctl analyze`, offline. Loads Istio CRD files
// the way the embedded mesh would (schema and istiod's webhook rules, per object), then runs the
// cross-object analyzers (istio/analyze/) over what loaded, and prints every problem in the one
// format every Meshlet tool uses — or as JSON for CI.

import { formatProblem, type ConfigProblem } from '../config-error.ts';
import { analyzeMesh } from '../istio/analyze/analyze-mesh.ts';
import { loadConfigFiles } from '../istio/load/load-files.ts';

export interface ValidateOptions {
  /** Fail (exit 1) on warnings too, not only on errors. */
  strict?: boolean;
  /** 'text' (default): one line per problem on stderr and a summary on stdout; 'json': a JSON list on stdout. */
  output?: 'text' | 'json';
}

/** One problem as `-o json` prints it; `code` is null for schema and webhook errors found while loading. */
export interface ValidateJsonProblem {
  code: string | null;
  level: ConfigProblem['severity'];
  file: string;
  line: number;
  kind: string;
  namespace: string;
  name: string;
  field: string;
  message: string;
}

function toJson(p: ConfigProblem): ValidateJsonProblem {
  return { code: p.code ?? null, level: p.severity, file: p.file, line: p.line, kind: p.kind, namespace: p.namespace, name: p.name, field: p.field, message: p.message };
}

/**
 * Validates and analyzes the Istio YAML/JSON under `paths` (files, or directories read
 * recursively). Text output: one line per problem, `file:line: Kind namespace/name: field:
 * message [CODE]` (warnings and info carry a `warning:` / `info:` prefix), on `out.error`, then a
 * one-line summary on `out.log`. JSON output: the list of problems on `out.log`.
 *
 * @returns the exit code: 1 if any error was found (or, with `strict`, any warning), else 0.
 */
export async function validateCommand(paths: string[], out: { log(s: string): void; error(s: string): void }, opts: ValidateOptions = {}): Promise<number> {
  const { objects, problems: loadProblems } = await loadConfigFiles(paths);
  const problems = [...loadProblems, ...analyzeMesh(objects)];
  const count = (level: ConfigProblem['severity']): number => problems.filter((p) => p.severity === level).length;
  const errors = count('error');
  const warnings = count('warning');
  const failed = errors > 0 || (opts.strict === true && warnings > 0);
  if (opts.output === 'json') {
    out.log(JSON.stringify(problems.map(toJson), null, 2));
    return failed ? 1 : 0;
  }
  for (const p of problems) out.error(formatProblem(p));
  const files = new Set([...objects.map((o) => o.source.file), ...problems.map((p) => p.file)]).size;
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const infos = count('info');
  const verdict = errors > 0 ? 'invalid' : failed ? 'invalid (--strict: warnings fail)' : 'valid';
  out.log(`${verdict}: ${plural(objects.length, 'object')} loaded from ${plural(files, 'file')}; ${plural(errors, 'error')}, ${plural(warnings, 'warning')}${infos > 0 ? `, ${infos} info` : ''}`);
  return failed ? 1 : 0;
}
