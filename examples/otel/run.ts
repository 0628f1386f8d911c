// Runs the OpenTelemetry example: a frontend and a backend, each its own Node process with the
// OpenTelemetry SDK; the frontend calls the backend through Meshlet. Prints the one trace that
// crosses both services and the Meshlet metrics scraped from the frontend, then exits.
//
//   node --conditions=source examples/otel/run.ts

import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const FRONTEND = 18180, BACKEND = 18181, METRICS = 18182;
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

export interface SpanLine { service: string; name: string; kind: number; traceId: string; spanId: string; parentSpanId?: string; attributes: Record<string, unknown> }

function start(file: string, args: number[], spans: SpanLine[]): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--conditions=source', here(file), ...args.map(String)], { stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`${file} did not start in 20 s`)), 20_000);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        if (line === 'READY') { clearTimeout(timer); resolve(child); }
        else if (line.startsWith('SPAN ')) spans.push(JSON.parse(line.slice(5)) as SpanLine);
      }
    });
    child.once('exit', (code) => reject(new Error(`${file} exited with ${code}`)));
  });
}

export async function runOtelExample(quiet = false): Promise<{ spans: SpanLine[]; metrics: string; body: string }> {
  const spans: SpanLine[] = [];
  const children: ChildProcess[] = [];
  try {
    children.push(await start('./backend.ts', [BACKEND], spans));
    children.push(await start('./frontend.ts', [FRONTEND, METRICS], spans));
    const body = await (await fetch(`http://127.0.0.1:${FRONTEND}/page`)).text();
    for (let i = 0; i < 50 && spans.length < 4; i++) await new Promise((r) => setTimeout(r, 100));
    const metrics = await (await fetch(`http://127.0.0.1:${METRICS}/metrics`)).text();
    if (!quiet) print(spans, metrics, body);
    return { spans, metrics, body };
  } finally {
    for (const c of children) c.kill('SIGTERM');
  }
}

function print(spans: SpanLine[], metrics: string, body: string): void {
  process.stdout.write(`response: ${body}\n\none trace across both services:\n`);
  const byParent = new Map<string | undefined, SpanLine[]>();
  for (const s of spans) byParent.set(s.parentSpanId, [...(byParent.get(s.parentSpanId) ?? []), s]);
  const ids = new Set(spans.map((s) => s.spanId));
  const walk = (s: SpanLine, depth: number) => {
    const mesh = Object.entries(s.attributes).filter(([k]) => k.startsWith('meshlet.')).map(([k, v]) => `${k}=${String(v)}`).join(' ');
    process.stdout.write(`  ${'  '.repeat(depth)}${s.service}: ${s.name} ${mesh}\n`);
    for (const c of byParent.get(s.spanId) ?? []) walk(c, depth + 1);
  };
  for (const root of spans.filter((s) => !s.parentSpanId || !ids.has(s.parentSpanId))) walk(root, 0);
  process.stdout.write('\nMeshlet metrics scraped from the frontend:\n');
  for (const line of metrics.split('\n')) if (/^(meshlet_|http_client_request_duration_count)/.test(line)) process.stdout.write(`  ${line}\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const { spans } = await runOtelExample();
  process.exitCode = new Set(spans.map((s) => s.traceId)).size === 1 && spans.length >= 4 ? 0 : 1;
}
