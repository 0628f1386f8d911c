// The load loops leave nothing behind: a request still unanswered well after its run is
// aborted and counted, never left to load the next run (an overloaded proxy pair once still held
// thousands of them when its closed loop began, which then crawled at 0–300 req/s or hung a slice
// for 30 s), and an unanswered request has no latency (it used to count as 0 ms in the
// percentiles). The suite waits for a row's processes to go quiet before the next row runs.

import { spawn } from 'node:child_process';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closedStall } from './latency-suite.ts';
import { closedLoop, openLoop, type Send } from './load-loops.ts';
import { waitQuiet } from './proc-stats.ts';

let server: Server;
let base = '';
/** Requests to /hang the server holds without answering, until their client goes away. */
const held = new Set<IncomingMessage>();
let abandoned = 0;

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/hang') {
      held.add(req);
      req.socket.once('close', () => { if (held.delete(req)) abandoned++; });
      return;
    }
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

/** The requests `hang` picks (by number, from 1) go to /hang, the others are answered at once. */
function sender(dispatcher: Agent, hang: (n: number) => boolean): Send {
  let n = 0;
  return async (signal) => {
    const path = hang(++n) ? '/hang' : '/ok';
    const res = await request(`${base}${path}`, { dispatcher, signal });
    await res.body.dump();
  };
}

describe('load loops with requests that never answer', () => {
  it('open loop: the unanswered are aborted after the straggler wait, counted, and left out of the percentiles', async () => {
    const dispatcher = new Agent();
    const before = abandoned;
    // 50/s for 0.4 s: 20 requests, every 5th held by the server; 3 s for the others to answer.
    const r = await openLoop(sender(dispatcher, (n) => n % 5 === 0), 50, 0.4, 3_000);
    expect(r.scheduled).toBe(20);
    expect(r.unanswered).toBe(4);
    expect(r.errors).toBe(4);
    expect(r.ok).toBe(16);
    expect(r.firstError).toBe('4 unanswered 3 s after the run (aborted)');
    // Only answered requests carry a latency: none of the percentiles is a 0 from an unanswered one.
    expect(r.p50).toBeGreaterThan(0);
    expect(r.max).toBeLessThan(3_000);
    // The aborts reached the server: it holds nothing for the next run.
    for (let i = 0; i < 100 && held.size > 0; i++) await new Promise((res) => setTimeout(res, 20));
    expect(held.size).toBe(0);
    expect(abandoned - before).toBe(4);
    await dispatcher.close();
  }, 20_000);

  it('closed loop: a request that never answers ends the loop after the straggler wait instead of holding it', async () => {
    const dispatcher = new Agent();
    const t0 = performance.now();
    // The third request is held; the other three workers go on until the window closes.
    const r = await closedLoop(sender(dispatcher, (n) => n === 3), 4, 0.3, 400);
    const took = performance.now() - t0;
    expect(r.unanswered).toBe(1);
    expect(r.errors).toBe(1);
    expect(r.ok).toBeGreaterThan(0);
    expect(r.firstError).toBe('1 unanswered 0.4 s after the window (aborted)');
    // Window 0.3 s + 0.4 s of stragglers + at most 2 s for the aborts to settle.
    expect(took).toBeGreaterThanOrEqual(650);
    expect(took).toBeLessThan(2_700 + 2_000);
    for (let i = 0; i < 100 && held.size > 0; i++) await new Promise((res) => setTimeout(res, 20));
    expect(held.size).toBe(0);
    await dispatcher.close();
  }, 20_000);
});

describe('closedStall', () => {
  const clean = { answered: 5000, errors: 0, unanswered: 0, slow: 0, maxMs: 40 };
  it('a clean round, and one with a lone slow answer, are no stall', () => {
    expect(closedStall(clean)).toBeNull();
    expect(closedStall({ ...clean, slow: 1, maxMs: 1500 })).toBeNull();
  });
  it('unanswered, failed, or 1% of answers over a second is a stall, with the reason', () => {
    expect(closedStall({ ...clean, errors: 31, unanswered: 31, firstError: '31 unanswered' })).toBe('31 requests unanswered 10 s after their slice');
    expect(closedStall({ ...clean, errors: 2, firstError: 'other side closed' })).toBe('2 errors (other side closed)');
    expect(closedStall({ ...clean, answered: 600, slow: 30, maxMs: 4009 })).toBe('30 of 600 answers took over 1 s (slowest 4.0 s)');
  });
});

/** A node process that prints a line, then runs `code`. */
function busyChild(code: string) {
  return spawn(process.execPath, ['-e', `process.stdout.write('go\\n', () => { ${code} });`], { stdio: ['ignore', 'pipe', 'ignore'] });
}
const spinning = (child: ReturnType<typeof busyChild>) => new Promise((r) => child.stdout!.once('data', r));

describe('waitQuiet', () => {
  it('waits while a process burns CPU, gives up after maxMs, and is quiet once it stops', async () => {
    const child = busyChild('while (true);');
    try {
      await spinning(child);
      const busy = await waitQuiet([child.pid!], { maxMs: 1_000, busyShare: 0.02 });
      expect(busy.quiet).toBe(false);
      expect(busy.waitedMs).toBeGreaterThanOrEqual(1_000);
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((r) => child.once('exit', r));
    const gone = await waitQuiet([child.pid!], { maxMs: 10_000 });
    expect(gone).toEqual({ waitedMs: expect.any(Number), quiet: true });
  }, 20_000);

  it('an idle process is quiet', async () => {
    const child = busyChild('setTimeout(() => {}, 60_000);');
    try {
      await spinning(child);
      const idle = await waitQuiet([child.pid!], { maxMs: 10_000 });
      expect(idle.quiet).toBe(true);
    } finally {
      child.kill('SIGKILL');
    }
  }, 20_000);
});
