// Which of many literals occur in a string, in one pass over it (Aho–Corasick): the time is
// linear in the string plus the hits reported, whatever the number of literals, so a route
// table can ask "which regex routes' required literals does this path contain?" for the cost of
// reading the path once. It walks UTF-16 code units (a literal and a path agree on them), so the
// request path allocates nothing per character.

export class LiteralSet {
  /** Trie edges per state: UTF-16 code unit → state. */
  readonly #next: Map<number, number>[] = [new Map()];
  /** Failure link per state: the longest proper suffix that is also a trie state. */
  readonly #fail: number[] = [0];
  /** Literal positions ending at each state, including those reached by failure links. */
  readonly #out: number[][] = [[]];

  constructor(literals: readonly string[]) {
    literals.forEach((lit, at) => {
      let s = 0;
      for (let k = 0; k < lit.length; k++) {
        const c = lit.charCodeAt(k);
        let t = this.#next[s]!.get(c);
        if (t === undefined) {
          t = this.#next.length;
          this.#next.push(new Map());
          this.#fail.push(0);
          this.#out.push([]);
          this.#next[s]!.set(c, t);
        }
        s = t;
      }
      this.#out[s]!.push(at);
    });
    // Breadth first, so a state's failure target is finished before the state.
    const queue: number[] = [...this.#next[0]!.values()];
    for (let q = 0; q < queue.length; q++) {
      const s = queue[q]!;
      for (const [c, t] of this.#next[s]!) {
        let f = this.#fail[s]!;
        while (f !== 0 && !this.#next[f]!.has(c)) f = this.#fail[f]!;
        const via = this.#next[f]!.get(c);
        this.#fail[t] = via !== undefined && via !== t ? via : 0;
        const inherited = this.#out[this.#fail[t]!]!;
        if (inherited.length > 0) this.#out[t] = [...this.#out[t]!, ...inherited];
        queue.push(t);
      }
    }
  }

  /** Calls `hit` with the position of each literal found in `text` (a literal may be reported more than once). */
  scan(text: string, hit: (at: number) => void): void {
    let s = 0;
    for (let k = 0; k < text.length; k++) {
      const c = text.charCodeAt(k);
      for (;;) {
        const t = this.#next[s]!.get(c);
        if (t !== undefined) {
          s = t;
          break;
        }
        if (s === 0) break;
        s = this.#fail[s]!;
      }
      const out = this.#out[s]!;
      for (let k = 0; k < out.length; k++) hit(out[k]!);
    }
  }
}
