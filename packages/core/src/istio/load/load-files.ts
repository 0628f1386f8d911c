// Loads Istio CRDs from files and directories. A directory contributes every *.yaml, *.yml and
// *.json file under it, recursively and sorted by path, so the same tree always loads the same
// way. Hidden entries are skipped: editors' lock and swap files start with '.', and a Kubernetes
// ConfigMap volume keeps the real files in `..data` / `..<timestamp>` directories next to the
// symlinks, which would otherwise be read twice.

import { readdir, readFile, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { ConfigProblem } from '../../config-error.ts';
import { formatBytes, LOAD_LIMITS, type LoadLimits } from './load-limits.ts';
import { dropDuplicates, parseConfigTextInto, reportSkippedKinds, type LoadResult, type SkippedKinds } from './load-yaml.ts';
import { isMeshConfigFileName } from './load-mesh-config.ts';

export type { LoadResult } from './load-yaml.ts';

const CONFIG_EXTENSIONS = ['.yaml', '.yml', '.json'];

export function isConfigFileName(name: string): boolean {
  // `mesh` without an extension: the key of the istio ConfigMap as a volume mount shows it.
  return !name.startsWith('.') && (CONFIG_EXTENSIONS.some((ext) => name.endsWith(ext)) || name === 'mesh');
}

function fileProblem(file: string, message: string, severity: ConfigProblem['severity'] = 'error'): ConfigProblem {
  return { severity, file, line: 1, kind: '', namespace: '', name: '', field: '', message };
}

export interface ListedFiles {
  files: string[];
  problems: ConfigProblem[];
  /**
   * Paths whose contents could not be seen this time — a configured path that is gone, a
   * directory that cannot be read, a symlink whose target is missing (a ConfigMap mid-update).
   * What was last read from under them is not known to be gone, so callers keep it.
   */
  unavailable: string[];
}

/** Config files under `dir`, recursively, sorted by path; follows symlinks, skips hidden entries. */
async function listDir(dir: string, out: ListedFiles, depth = 0): Promise<string[]> {
  if (depth > 32) {
    out.problems.push(fileProblem(dir, 'directory nesting is too deep (a symlink loop?); not read further'));
    return [];
  }
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    out.problems.push(fileProblem(dir, `cannot read directory: ${(e as Error).message}`));
    out.unavailable.push(dir);
    return [];
  }
  const files: string[] = [];
  for (const entry of entries) {
    if (entry.name.startsWith('.')) continue;
    const full = join(dir, entry.name);
    let isDir = entry.isDirectory();
    let isFile = entry.isFile();
    if (entry.isSymbolicLink()) {
      const target = await stat(full).catch(() => undefined);
      isDir = target?.isDirectory() ?? false;
      isFile = target?.isFile() ?? false;
      if (!target && isConfigFileName(entry.name)) {
        // A ConfigMap volume between two versions, or a link to something moved away: not a
        // deletion anyone asked for, so what the file held stays until it resolves again.
        out.problems.push(fileProblem(full, 'symlink to a missing file (a ConfigMap being updated?); not read', 'warning'));
        out.unavailable.push(full);
      }
    }
    // A loop, not push(...spread): a directory of 200k files must not overflow the stack.
    if (isDir) for (const f of await listDir(full, out, depth + 1)) files.push(f);
    else if (isFile && isConfigFileName(entry.name)) files.push(full);
  }
  return files.sort();
}

/**
 * The files `paths` stand for: a file as given (whatever its extension), a directory expanded
 * as described above. Missing paths are reported, not thrown.
 */
export async function listConfigFiles(paths: readonly string[]): Promise<ListedFiles> {
  const out: ListedFiles = { files: [], problems: [], unavailable: [] };
  const seen = new Set<string>();
  for (const p of paths) {
    const info = await stat(p).catch((e: Error) => e);
    if (info instanceof Error) {
      const gone = (info as NodeJS.ErrnoException).code === 'ENOENT';
      out.problems.push(fileProblem(p, gone ? 'no such file or folder (renamed, deleted, or a volume being remounted?)' : `cannot read: ${info.message}`));
      out.unavailable.push(p);
      continue;
    }
    const found = info.isDirectory() ? await listDir(p, out) : [p];
    if (info.isDirectory() && found.length === 0) {
      out.problems.push(fileProblem(p, 'no *.yaml, *.yml or *.json files in this directory', 'warning'));
    }
    for (const f of found) {
      const key = resolve(f);
      if (seen.has(key)) continue;
      seen.add(key);
      out.files.push(f);
    }
  }
  return out;
}

export interface FilesLoadResult extends LoadResult {
  /** See ListedFiles.unavailable. */
  unavailable: string[];
}

/**
 * Loads and validates every config file `paths` stand for, within `limits` (see
 * ./load-limits.ts). Never throws for bad input. `meshConfigFiles` (absolute paths) are read as
 * MeshConfig whatever their names (createMesh({ meshConfig })).
 */
export async function loadConfigFiles(paths: readonly string[], limits: LoadLimits = LOAD_LIMITS, meshConfigFiles: ReadonlySet<string> = new Set()): Promise<FilesLoadResult> {
  const { files, problems, unavailable } = await listConfigFiles(paths);
  const result: FilesLoadResult = { objects: [], problems, unavailable };
  const skipped: SkippedKinds = new Map();
  for (const file of files) {
    if (result.objects.length >= limits.totalObjects) {
      result.problems.push(fileProblem(file, `not read: the config already holds ${limits.totalObjects} objects (the limit)`));
      continue;
    }
    const text = await readBounded(file, limits, result.problems);
    if (text === undefined) continue;
    const one: LoadResult = { objects: [], problems: [] };
    parseConfigTextInto(text, file, one, skipped, limits, { meshConfigFile: isMeshConfigFileName(file) || meshConfigFiles.has(resolve(file)) });
    if (result.objects.length + one.objects.length > limits.totalObjects) {
      result.problems.push(fileProblem(file, `not read: its ${one.objects.length} objects would take the config over ${limits.totalObjects} objects (the limit)`));
      continue;
    }
    // Loops, not push(...spread): spreading 130,000 objects overflows the stack.
    for (const o of one.objects) result.objects.push(o);
    for (const p of one.problems) result.problems.push(p);
  }
  reportSkippedKinds(result, skipped);
  dropDuplicates(result);
  return result;
}

/** The file's text, or undefined (with a problem) when it is unreadable or over the size limit. */
async function readBounded(file: string, limits: LoadLimits, problems: ConfigProblem[]): Promise<string | undefined> {
  try {
    // stat first: a 50 MB file is refused without reading or parsing any of it.
    const { size } = await stat(file);
    if (size > limits.fileBytes) {
      problems.push(fileProblem(file, `file is ${formatBytes(size)}, over the limit of ${formatBytes(limits.fileBytes)} per config file; not read (split it into several files)`));
      return undefined;
    }
    return await readFile(file, 'utf8');
  } catch (e) {
    // A file deleted between listing and reading is simply gone.
    problems.push(fileProblem(file, `cannot read: ${(e as Error).message}`));
    return undefined;
  }
}
