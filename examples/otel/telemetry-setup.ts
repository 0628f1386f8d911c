// What an application does to see Meshlet in its traces and metrics: set up the OpenTelemetry
// SDK (here @opentelemetry/sdk-node) once at start-up. Meshlet itself only uses
// @opentelemetry/api, so it reports into whatever SDK the application chose.
//
// Spans are printed to stdout as JSON lines (prefix "SPAN ") so the example's runner can show
// the whole trace; metrics are served for scraping by the Prometheus exporter.

import { NodeSDK } from '@opentelemetry/sdk-node';
import { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { SimpleSpanProcessor, type ReadableSpan, type SpanExporter } from '@opentelemetry/sdk-trace-base';

class JsonLineExporter implements SpanExporter {
  readonly #service: string;
  constructor(service: string) {
    this.#service = service;
  }
  export(spans: ReadableSpan[], done: (r: { code: number }) => void): void {
    for (const s of spans) {
      process.stdout.write(`SPAN ${JSON.stringify({
        service: this.#service,
        name: s.name,
        kind: s.kind,
        traceId: s.spanContext().traceId,
        spanId: s.spanContext().spanId,
        parentSpanId: s.parentSpanContext?.spanId,
        attributes: s.attributes,
      })}\n`);
    }
    done({ code: 0 });
  }
  async shutdown(): Promise<void> {}
}

export function startTelemetry(service: string, metricsPort?: number): NodeSDK {
  const sdk = new NodeSDK({
    serviceName: service,
    spanProcessors: [new SimpleSpanProcessor(new JsonLineExporter(service))],
    ...(metricsPort !== undefined && { metricReaders: [new PrometheusExporter({ port: metricsPort, host: '127.0.0.1' })] }),
    instrumentations: [],
  });
  sdk.start();
  return sdk;
}
