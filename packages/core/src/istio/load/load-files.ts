// Loads Istio CRDs from files and directories. A directory contributes every *.yaml, *.yml and
// *.json file under it, recursively and sorted by path, so the same tree always loads the same
// way. Hidden entries are skipped: editors' lock and swap files start with '.', and a Kubernetes
// ConfigMap volume keeps the real files in `..data` / `..<timestamp>` directories next to the
// symlinks, which would otherwise be read twice.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ConfigProblem } from '../../config/config-error.ts';
import { dropDuplicates, parseConfigTextInto, reportSkippedKinds, type LoadResult, type SkippedKinds } from './load-yaml.ts';

export type { LoadResult } from './load-yaml.ts';

const CONFIG_EXTENSIONS = ['.yaml', '.yml', '.json'];

export function isConfigFileName(name: string): boolean {
  return !name.startsWith('.') && CONFIG_EXTENSIONS.some((ext) => name.endsWith(ext));
}

function fileProblem(file: string, message: string, severity: ConfigProblem['severity'] = 'error'): ConfigProblem {
  return { severity, file, line: 1, kind: '', namespace: '', name: '', field: '', message };
}

/** Config files under `dir`, recursively, sorted by path; follows symlinks, skips hidden entries. */
async function listDir(dir: string, problems: ConfigProblem[], depth = 0): Promise<string[]> {
  if (depth > 32) {
    problems.push(fileProblem(dir, 'directory nesting is too deep (a symlink loop?); not read further'));
    return [];
  }
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    problems.push(fileProblem(dir, `cannot read directory: ${(e as Error).message}`));
    return [];
  }
  const files: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      // Dangling links (an editor's lock file, a half-updated ConfigMap) are skipped.
      const target = await stat(full).catch(() => undefined);
      isDir = target?.isDirectory() ?? false;
      isFile = target?.isFile() ?? false;
    }
    if (isDir) files.push(...(await listDir(full, problems, depth + 1)));
    else if (isFile && isConfigFileName(entry.name)) files.push(full);
  }
  return files.sort();
}

/**
 * The files `paths` stand for: a file as given (whatever its extension), a directory expanded
 * as described above. Missing paths are reported, not thrown.
 */
export async function listConfigFiles(paths: readonly string[]): Promise<{ files: string[]; problems: ConfigProblem[] }> {
  const problems: ConfigProblem[] = [];
  const files: string[] = [];
  const seen = new Set<string>();
  for (const p of paths) {
    const info = await stat(p).catch((e: Error) => e);
    if (info instanceof Error) {
      problems.push(fileProblem(p, `cannot read: ${info.message}`));
      continue;
    }
    const found = info.isDirectory() ? await listDir(p, problems) : [p];
    if (info.isDirectory() && found.length === 0) {
      problems.push(fileProblem(p, 'no *.yaml, *.yml or *.json files in this directory', 'warning'));
    }
    for (const f of found) {
      const key = resolve(f);
      if (seen.has(key)) continue;
      seen.add(key);
      files.push(f);
    }
  }
  return { files, problems };
}

/** Loads and validates every config file `paths` stand for. Never throws for bad input. */
export async function loadConfigFiles(paths: string[]): Promise<LoadResult> {
  const { files, problems } = await listConfigFiles(paths);
  const result: LoadResult = { objects: [], problems };
  const skipped: SkippedKinds = new Map();
  for (const file of files) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (e) {
      // A file deleted between listing and reading is simply gone.
      result.problems.push(fileProblem(file, `cannot read: ${(e as Error).message}`));
      continue;
    }
    parseConfigTextInto(text, file, result, skipped);
  }
  reportSkippedKinds(result, skipped);
  dropDuplicates(result);
  return result;
}
