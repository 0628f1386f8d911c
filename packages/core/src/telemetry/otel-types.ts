// The few OpenTelemetry API shapes Meshlet's public types mention, written out structurally.
// @opentelemetry/api is an optional peer dependency: the published declarations must compile
// for an application that does not have it (tsc with skipLibCheck: false), so they never
// import it. Values from the real API are assignable to these; the telemetry code casts them
// back to the API's own types inside.

/** OpenTelemetry's AttributeValue. */
export type AttributeValue =
  | string
  | number
  | boolean
  | Array<null | undefined | string>
  | Array<null | undefined | number>
  | Array<null | undefined | boolean>;

/** OpenTelemetry's Attributes: span and metric attributes by name. */
export interface Attributes {
  [key: string]: AttributeValue | undefined;
}

/** What Meshlet uses of an OpenTelemetry TracerProvider (any real one fits). */
export interface TracerProviderLike {
  getTracer(name: string, version?: string): unknown;
}

/** What Meshlet uses of an OpenTelemetry MeterProvider (any real one fits). */
export interface MeterProviderLike {
  getMeter(name: string, version?: string): unknown;
}

/** The @opentelemetry/api module itself (`import * as api from '@opentelemetry/api'`). */
export type OpenTelemetryApi = object;
