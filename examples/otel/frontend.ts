// The frontend: serves requests and calls the backend through Meshlet (global fetch routed by
// the mesh). Its incoming-request span is the parent of Meshlet's client spans, and its
// metrics (Meshlet's included) are served for Prometheus on metricsPort.

import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { createMesh } from '@meshlet/core';
import { installGlobalDispatcher } from '@meshlet/http';
import { startTelemetry } from './telemetry-setup.ts';

const [port, metricsPort] = process.argv.slice(2).map(Number) as [number, number];
const sdk = startTelemetry('frontend', metricsPort);
const mesh = await createMesh({ config: fileURLToPath(new URL('./mesh', import.meta.url)), watch: false });
const restore = installGlobalDispatcher(mesh);
const tracer = trace.getTracer('frontend');

const server = createServer((req, res) => {
  const parent = propagation.extract(context.active(), req.headers);
  const span = tracer.startSpan(`GET ${req.url}`, { kind: SpanKind.SERVER }, parent);
  context.with(trace.setSpan(parent, span), async () => {
    try {
      const r = await fetch('http://backend:8080/data');
      res.end(`frontend + ${await r.text()}`);
    } catch (err) {
      res.statusCode = 502;
      res.end(String(err));
    } finally {
      span.end();
    }
  });
});
server.listen(port, '127.0.0.1', () => process.stdout.write('READY\n'));
process.on('SIGTERM', () => {
  server.close();
  void restore().then(() => mesh.close()).then(() => sdk.shutdown()).then(() => process.exit(0));
});
