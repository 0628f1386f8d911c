// The resources of a type's last response on a stream, in order, each with the name it was
// handled under. A SotW server resends every resource of a type on each change — every
// ClusterLoadAssignment of the mesh when one endpoint moves — and sends them in the same order,
// so resource i of a response is compared in place with resource i of the last one; when the
// bytes are equal its name is known without reading it. Reading the name of each of 10k
// resources (a wire walk and a string decode each) cost more than comparing them.
//
// Only a hint: the client still checks that it holds those very bytes for that name
// (AdsStream#decodeSotw), so a resource that moved, was rejected or was dropped meanwhile is
// handled as any other. That check is one identity compare when the response also recorded
// who held each resource (`holders`, with `views` the very bytes each holder held then): if the
// holder's bytes are still those, nothing happened to it since — a 10k-name lookup per
// resend, otherwise. The new response is compared with the bytes held, so no older response
// is kept for it.

import type { ResourceSpans } from '../../xds/discovery-envelope.ts';

/** Whoever keeps a resource's value: its bytes are the view it was taken from, until it changes. */
export interface ResourceHolder {
  readonly bytes: Uint8Array | undefined;
}

export class LastResponse {
  readonly #names: readonly string[];
  readonly #views: readonly Uint8Array[];
  readonly #holders: readonly (ResourceHolder | undefined)[] | undefined;
  /** The response itself, where each resource lay in it (a resend's unchanged ends are found by runs). */
  readonly spans: ResourceSpans | undefined;
  /** The buffer the views are slices of, as a Buffer: one compare per resource, no view made. */
  readonly #whole: Buffer | undefined;

  constructor(names: readonly string[], views: readonly Uint8Array[], holders?: readonly (ResourceHolder | undefined)[], spans?: ResourceSpans) {
    this.#names = names;
    this.#views = views;
    this.#holders = holders;
    this.spans = spans;
    const first = views[0];
    this.#whole = first ? Buffer.from(first.buffer, 0, first.buffer.byteLength) : undefined;
  }

  /** Resource i of the last response: its name and bytes, when `bytes` equal them; else undefined. */
  nameIfSame(i: number, bytes: Uint8Array): string | undefined {
    const view = this.#views[i];
    if (view === undefined || view.byteLength !== bytes.byteLength) return undefined;
    const whole = this.#whole!;
    const same = view.buffer === whole.buffer
      ? whole.compare(bytes, 0, bytes.byteLength, view.byteOffset, view.byteOffset + view.byteLength) === 0
      : Buffer.from(view.buffer, view.byteOffset, view.byteLength).equals(bytes);
    return same ? this.#names[i] : undefined;
  }

  /**
   * Who holds resource i of the last response, when the bytes at [start, end) of `whole` (the
   * new response) equal it and the holder still holds that very view — nothing replaced,
   * rejected-and-dropped or deleted it since. One native compare, no object made.
   */
  holderAt(i: number, whole: Buffer, start: number, end: number): ResourceHolder | undefined {
    const holder = this.#holders?.[i];
    const view = this.#views[i];
    if (holder === undefined || view === undefined || holder.bytes !== view || view.byteLength !== end - start) return undefined;
    return whole.compare(view, 0, view.byteLength, start, end) === 0 ? holder : undefined;
  }

  /** Who holds resource i, if it still holds the bytes it held then (see holderAt). */
  heldAt(i: number): ResourceHolder | undefined {
    const holder = this.#holders?.[i];
    return holder !== undefined && holder.bytes === this.#views[i] ? holder : undefined;
  }

  /** The name resource i was handled under. */
  nameAt(i: number): string | undefined {
    return this.#names[i];
  }

  /** The bytes resource i came in (what the client holds for it if it took them). */
  viewAt(i: number): Uint8Array | undefined {
    return this.#views[i];
  }
}
