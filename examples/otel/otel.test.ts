// The OpenTelemetry example: a trace crosses two Node services through Meshlet, and the
// frontend's Meshlet metrics can be scraped.

import { expect, it } from 'vitest';
import { runOtelExample } from './run.ts';

it('one trace spans frontend server → Meshlet request → attempt → backend server, and metrics scrape', async () => {
  const { spans, metrics, body } = await runOtelExample(true);
  expect(body).toBe('frontend + {"from":"backend"}');
  expect(new Set(spans.map((s) => s.traceId)).size).toBe(1);
  const frontendServer = spans.find((s) => s.service === 'frontend' && s.kind === 1)!;
  const meshRequest = spans.find((s) => s.attributes['meshlet.route'] === 'backend-v1')!;
  const attempt = spans.find((s) => s.parentSpanId === meshRequest.spanId)!;
  const backendServer = spans.find((s) => s.service === 'backend')!;
  expect(meshRequest.parentSpanId).toBe(frontendServer.spanId);
  expect(meshRequest.attributes['meshlet.cluster']).toBe('outbound|8080||backend.default.svc.cluster.local');
  expect(backendServer.parentSpanId).toBe(attempt.spanId);
  expect(metrics).toMatch(/http_client_request_duration_count\{[^}]*meshlet_cluster="outbound\|8080\|\|backend\.default\.svc\.cluster\.local"[^}]*\} 1/);
  expect(metrics).toMatch(/meshlet_config_version\{[^}]*\} 1/);
}, 60_000);
