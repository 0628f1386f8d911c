// `meshlet validate`: load Istio CRD files the way the embedded mesh would and print what is
// wrong with them, in the one format every Meshlet tool uses.

import { formatProblem } from '../config/config-error.ts';
import { loadConfigFiles } from '../istio/load/load-files.ts';

/**
 * Validates the Istio YAML/JSON under `paths` (files, or directories read recursively) and
 * prints one line per problem, errors and warnings alike, as
 * `file:line: Kind namespace/name: field: message` (warnings carry a `warning:` prefix), followed
 * by a one-line summary.
 *
 * Usage: `meshlet validate <paths..>`, e.g. `pnpm meshlet validate ./mesh ./extra/vs.yaml`.
 * Problems go to `out.error`, the summary to `out.log`.
 *
 * @returns the exit code: 1 if any error was found, else 0 (warnings alone do not fail).
 */
export async function validateCommand(paths: string[], out: { log(s: string): void; error(s: string): void }): Promise<number> {
  const { objects, problems } = await loadConfigFiles(paths);
  for (const p of problems) out.error(formatProblem(p));
  const errors = problems.filter((p) => p.severity === 'error').length;
  const warnings = problems.length - errors;
  const files = new Set([...objects.map((o) => o.source.file), ...problems.map((p) => p.file)]).size;
  const plural = (n: number, word: string): string => `${n} ${word}${n === 1 ? '' : 's'}`;
  const verdict = errors > 0 ? 'invalid' : 'valid';
  out.log(`${verdict}: ${plural(objects.length, 'object')} loaded from ${plural(files, 'file')}; ${plural(errors, 'error')}, ${plural(warnings, 'warning')}`);
  return errors > 0 ? 1 : 0;
}
