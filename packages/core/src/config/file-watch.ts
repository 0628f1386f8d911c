// Tells the embedded config source when its files may have changed. Built on fs.watch, with
// the cases that make naive watching miss edits handled:
// - editors that save by writing a new file and renaming it over the old one (vim, IntelliJ,
//   `kubectl cp`) replace the inode, so a watch on the file itself goes silent: files are
//   watched through their parent directory, filtered by name;
// - files created or deleted later in a watched directory: directories are watched recursively;
// - a Kubernetes ConfigMap volume swaps a `..data` symlink: those events pass the filter, and
//   a watched directory also has a plain watch of its own entries, because Node's recursive
//   watcher on Linux reports nothing when a symlink in it is removed or replaced;
// - a watched path that is missing or removed: it is polled for until it exists again, then
//   watched anew (and that counts as a change).
// Events come in bursts (one save is several events), so callbacks are debounced; a burst that
// never pauses still fires after ten debounce periods. Nothing here keeps the process alive.

import { existsSync, statSync, watch, type FSWatcher } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

export interface WatchOptions {
  /** Quiet time after the last event before `onChange` runs; default 50 ms. */
  debounceMs?: number;
}

const POLL_MS = 250;

/**
 * Calls `onChange` (debounced) whenever something under `paths` (files or directories) may
 * have changed. `onChange` should re-read everything; it is not told what changed, because
 * the events fs.watch gives are not reliable enough to say. Call `close()` to stop; no call
 * happens after it.
 */
export function watchPaths(paths: string[], onChange: () => void, opts: WatchOptions = {}): { close(): void } {
  const debounceMs = opts.debounceMs ?? 50;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;
  let burstStart: number | undefined;

  const fire = (): void => {
    timer = undefined;
    burstStart = undefined;
    if (closed) return;
    try {
      onChange();
    } catch (err) {
      // A failing listener must not take the process down from inside a timer.
      process.emitWarning(`meshlet: config change listener threw: ${err instanceof Error ? err.message : String(err)}`);
    }
  };

  const schedule = (): void => {
    if (closed) return;
    const now = Date.now();
    burstStart ??= now;
    if (timer) clearTimeout(timer);
    const wait = Math.max(0, Math.min(debounceMs, burstStart + debounceMs * 10 - now));
    timer = setTimeout(fire, wait);
    timer.unref();
  };

  const watches = paths.map((p) => new PathWatch(resolve(p), schedule));
  return {
    close() {
      closed = true;
      if (timer) clearTimeout(timer);
      timer = undefined;
      for (const w of watches) w.close();
    },
  };
}

type Mode = 'dir' | 'file' | 'missing';

function modeOf(path: string): Mode {
  try {
    return statSync(path).isDirectory() ? 'dir' : 'file';
  } catch {
    return 'missing';
  }
}

/** Watches one path, re-arming itself when the path appears, disappears or changes kind. */
class PathWatch {
  readonly #path: string;
  readonly #onEvent: () => void;
  #watcher: FSWatcher | undefined;
  /** A directory's own entries (see the header: symlinks the recursive watcher misses). */
  #entries: FSWatcher | undefined;
  #poll: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(path: string, onEvent: () => void) {
    this.#path = path;
    this.#onEvent = onEvent;
    this.#arm();
  }

  close(): void {
    this.#closed = true;
    this.#disarm();
  }

  #disarm(): void {
    this.#watcher?.close();
    this.#watcher = undefined;
    this.#entries?.close();
    this.#entries = undefined;
    if (this.#poll) clearInterval(this.#poll);
    this.#poll = undefined;
  }

  #arm(): void {
    if (this.#closed) return;
    this.#disarm();
    const mode = modeOf(this.#path);
    try {
      if (mode === 'dir') {
        const onEvent = (type: string): void => {
          this.#onEvent();
          // The directory itself was removed or replaced: watch for it to come back.
          if (type === 'rename' && modeOf(this.#path) !== 'dir') this.#arm();
        };
        this.#watcher = watch(this.#path, { recursive: true, persistent: false }, onEvent);
        this.#entries = watch(this.#path, { persistent: false }, onEvent);
        this.#entries.on('error', () => this.#arm());
      } else {
        // A file (or a path that does not exist yet): watch its directory for that name.
        const dir = dirname(this.#path);
        const name = basename(this.#path);
        this.#watcher = watch(dir, { persistent: false }, (_type, filename) => {
          const f = filename === null ? null : String(filename);
          if (f === null || f === name || f.startsWith('..')) {
            this.#onEvent();
            // Created as a directory after all: it needs a recursive watch.
            if (modeOf(this.#path) === 'dir') this.#arm();
          }
          if (!existsSync(dir)) this.#arm();
        });
      }
      this.#watcher.on('error', () => {
        this.#onEvent();
        this.#arm();
      });
    } catch (err) {
      this.#watcher = undefined;
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        // e.g. the inotify watch limit: say so once rather than failing silently.
        process.emitWarning(`meshlet: cannot watch ${this.#path} for config changes: ${(err as Error).message}`);
      }
      this.#pollForChange();
    }
  }

  /** Polls until the path or its directory appears, disappears or changes kind, then re-arms. */
  #pollForChange(): void {
    const state = (): string => `${modeOf(this.#path)}/${modeOf(dirname(this.#path))}`;
    const before = state();
    this.#poll = setInterval(() => {
      if (state() === before) return;
      this.#onEvent();
      this.#arm();
    }, POLL_MS);
    this.#poll.unref();
  }
}
