// The config watcher against real files in a temporary directory: edits in place, editors that
// replace the file, files appearing and disappearing, debouncing, and close().

import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchPaths } from '../src/config/file-watch.ts';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Counts onChange calls and lets a test wait for the next one. */
function recorder(): { onChange: () => void; count: () => number; next: (timeoutMs?: number) => Promise<void> } {
  let calls = 0;
  let waiters: (() => void)[] = [];
  return {
    onChange: () => {
      calls++;
      const w = waiters;
      waiters = [];
      for (const f of w) f();
    },
    count: () => calls,
    next: (timeoutMs = 1000) =>
      new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no change reported within ${timeoutMs} ms`)), timeoutMs);
        waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      }),
  };
}

// Watchers are registered synchronously, but give the recursive one a moment to walk its tree.
const SETTLE_MS = 50;

let dir: string;
let closers: { close(): void }[] = [];
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'meshlet-watch-'));
});
afterEach(() => {
  for (const c of closers) c.close();
  closers = [];
  rmSync(dir, { recursive: true, force: true });
});

function watch(paths: string[], onChange: () => void, debounceMs = 20): void {
  closers.push(watchPaths(paths, onChange, { debounceMs }));
}

describe('watchPaths', () => {
  it('reports an edit to a watched file', async () => {
    const file = join(dir, 'mesh.yaml');
    writeFileSync(file, 'a: 1\n');
    const r = recorder();
    watch([file], r.onChange);
    await sleep(SETTLE_MS);
    const changed = r.next();
    writeFileSync(file, 'a: 2\n');
    await changed;
  });

  it('keeps reporting after an editor replaces the file by rename', async () => {
    const file = join(dir, 'mesh.yaml');
    writeFileSync(file, 'a: 1\n');
    const r = recorder();
    watch([file], r.onChange);
    await sleep(SETTLE_MS);
    for (let i = 0; i < 2; i++) {
      const changed = r.next();
      writeFileSync(join(dir, '.mesh.yaml.swp'), `a: ${i}\n`);
      renameSync(join(dir, '.mesh.yaml.swp'), file);
      await changed;
    }
    // And a plain write to the new inode is seen too.
    const changed = r.next();
    writeFileSync(file, 'a: 3\n');
    await changed;
  });

  it('does not report changes to other files next to a watched file', async () => {
    const file = join(dir, 'mesh.yaml');
    writeFileSync(file, 'a: 1\n');
    const r = recorder();
    watch([file], r.onChange);
    await sleep(SETTLE_MS);
    writeFileSync(join(dir, 'other.yaml'), 'b: 1\n');
    await sleep(200);
    expect(r.count()).toBe(0);
  });

  it('reports files created, changed and deleted anywhere under a watched directory', async () => {
    mkdirSync(join(dir, 'sub/deeper'), { recursive: true });
    const r = recorder();
    watch([dir], r.onChange);
    await sleep(SETTLE_MS);

    let changed = r.next();
    writeFileSync(join(dir, 'sub/deeper/new.yaml'), 'a: 1\n');
    await changed;

    changed = r.next();
    writeFileSync(join(dir, 'sub/deeper/new.yaml'), 'a: 2\n');
    await changed;

    changed = r.next();
    unlinkSync(join(dir, 'sub/deeper/new.yaml'));
    await changed;
  });

  it('reports a ConfigMap volume swapping its ..data symlink, and a key symlink removed', async () => {
    // Node's recursive watcher on Linux is silent about symlinks replaced in the directory.
    mkdirSync(join(dir, '..2026_01_01'));
    writeFileSync(join(dir, '..2026_01_01/mesh.yaml'), 'a: 1\n');
    symlinkSync('..2026_01_01', join(dir, '..data'));
    symlinkSync('..data/mesh.yaml', join(dir, 'mesh.yaml'));
    const r = recorder();
    watch([dir], r.onChange);
    await sleep(SETTLE_MS);

    let changed = r.next();
    unlinkSync(join(dir, '..data'));
    await changed;

    changed = r.next();
    symlinkSync('..2026_01_01', join(dir, '..data'));
    await changed;

    changed = r.next();
    unlinkSync(join(dir, 'mesh.yaml'));
    await changed;
  });

  it('reports a directory created after watching started, and files inside it', async () => {
    const r = recorder();
    watch([dir], r.onChange);
    await sleep(SETTLE_MS);
    let changed = r.next();
    mkdirSync(join(dir, 'later'));
    await changed;
    await sleep(SETTLE_MS);
    changed = r.next();
    writeFileSync(join(dir, 'later/x.yaml'), 'a: 1\n');
    await changed;
  });

  it('reports a watched file that did not exist yet when it appears', async () => {
    const file = join(dir, 'later.yaml');
    const r = recorder();
    watch([file], r.onChange);
    await sleep(SETTLE_MS);
    const changed = r.next();
    writeFileSync(file, 'a: 1\n');
    await changed;
  });

  it('coalesces a burst of writes into one call', async () => {
    const file = join(dir, 'mesh.yaml');
    writeFileSync(file, 'a: 0\n');
    const r = recorder();
    watch([file], r.onChange, 100);
    await sleep(SETTLE_MS);
    const changed = r.next();
    for (let i = 1; i <= 10; i++) writeFileSync(file, `a: ${i}\n`);
    await changed;
    await sleep(250);
    expect(r.count()).toBe(1);
  });

  it('stops after close()', async () => {
    const file = join(dir, 'mesh.yaml');
    writeFileSync(file, 'a: 1\n');
    const r = recorder();
    const w = watchPaths([file, dir], r.onChange, { debounceMs: 20 });
    await sleep(SETTLE_MS);
    // A change already waiting for its debounce is dropped too.
    writeFileSync(file, 'a: 2\n');
    w.close();
    writeFileSync(file, 'a: 3\n');
    writeFileSync(join(dir, 'new.yaml'), 'b: 1\n');
    await sleep(250);
    expect(r.count()).toBe(0);
  });

  it('survives a listener that throws', async () => {
    const file = join(dir, 'mesh.yaml');
    writeFileSync(file, 'a: 1\n');
    const r = recorder();
    let first = true;
    const warnings: string[] = [];
    const onWarning = (w: Error): void => {
      warnings.push(w.message);
    };
    process.on('warning', onWarning);
    try {
      watch([file], () => {
        r.onChange();
        if (first) {
          first = false;
          throw new Error('listener failed');
        }
      });
      await sleep(SETTLE_MS);
      let changed = r.next();
      writeFileSync(file, 'a: 2\n');
      await changed;
      changed = r.next();
      writeFileSync(file, 'a: 3\n');
      await changed;
      await sleep(10);
      expect(warnings.some((m) => m.includes('listener failed'))).toBe(true);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
