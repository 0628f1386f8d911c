// The resources of a type's last response on a stream, in order, each with the name it was
// handled under. A SotW server resends every resource of a type on each change — every
// ClusterLoadAssignment of the mesh when one endpoint moves — and sends them in the same order,
// so resource i of a response is compared in place with resource i of the last one; when the
// bytes are equal its name is known without reading it. Reading the name of each of 10k
// resources (a wire walk and a string decode each) cost more than comparing them.
//
// Only a hint: the client still checks that it holds those very bytes for that name
// (AdsStream#decodeAll), so a resource that moved, was rejected or was dropped meanwhile is
// handled as any other.

export class LastResponse {
  readonly #names: readonly string[];
  readonly #views: readonly Uint8Array[];
  /** The buffer the views are slices of, as a Buffer: one compare per resource, no view made. */
  readonly #whole: Buffer | undefined;

  constructor(names: readonly string[], views: readonly Uint8Array[]) {
    this.#names = names;
    this.#views = views;
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

  /** The bytes resource i came in (what the client holds for it if it took them). */
  viewAt(i: number): Uint8Array | undefined {
    return this.#views[i];
  }
}
