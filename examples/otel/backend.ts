// The backend: a plain node:http service that continues the caller's trace from the W3C
// traceparent header Meshlet sent.

import { createServer } from 'node:http';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { startTelemetry } from './telemetry-setup.ts';

const port = Number(process.argv[2]);
const sdk = startTelemetry('backend');
const tracer = trace.getTracer('backend');

const server = createServer((req, res) => {
  const parent = propagation.extract(context.active(), req.headers);
  const span = tracer.startSpan(`GET ${req.url}`, { kind: SpanKind.SERVER }, parent);
  res.end(JSON.stringify({ from: 'backend' }));
  span.end();
});
server.listen(port, '127.0.0.1', () => process.stdout.write('READY\n'));
process.on('SIGTERM', () => { server.close(); void sdk.shutdown().then(() => process.exit(0)); });
