// The parts every object Meshlet reads shares, Istio CRDs and Kubernetes objects alike: its
// metadata, and where it came from (a file, or the Kubernetes API).

/**
 * Where an object came from, so every error can name `file:line` — or, for an object read from
 * the Kubernetes API, its resourceVersion (file '' and line 0 then).
 */
export interface SourceRef {
  file: string;
  /** 1-based line of the document's first line. */
  line: number;
  /** metadata.resourceVersion of an object read from the Kubernetes API. */
  resourceVersion?: string;
  /** 1-based line of a field inside the document, e.g. ['spec','http',0,'route']; falls back to the nearest parent that exists. */
  lineOf(path: readonly (string | number)[]): number;
}

export interface ObjectMeta {
  name: string;
  namespace: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
}

/** One object of an Istio (or Gateway API) kind: its kind, metadata, spec and where it came from. */
export interface IstioObject<K extends string, S> {
  apiVersion: string;
  kind: K;
  metadata: ObjectMeta;
  spec: S;
  source: SourceRef;
}
