// A full-match DFA over re2js's own compiled program, for the boolean question a route, header
// or string matcher asks: does the regex match the whole value? re2js answers it through
// testExact, which costs ~1.5–4 µs for a 20-character path here — a fresh input object, a
// search record and a closure per call, and for anchored matching a function call per
// character into its lazy DFA's slow path. This file builds the same subset-construction DFA
// from the same program (so it accepts exactly what the program accepts) and runs it as one
// table look-up per character.
//
// What it takes on, and what it leaves to re2js (RE2 semantics are never guessed at here):
//  - only programs made of ALT, ALT_MATCH, CAPTURE, NOP, MATCH, FAIL, the rune instructions
//    and EMPTY_WIDTH for begin/end of text (`^`, `$`, `\A`, `\z` outside multi-line mode);
//    anything else (word boundaries, multi-line anchors, lookbehind) keeps re2js;
//  - only values whose every UTF-16 unit is below 256 (Latin-1): each is then one rune, and
//    the rune instructions' own matchRune (case folding included) decides each transition.
//    Any other value goes to re2js, so surrogates and folding beyond Latin-1 are RE2's;
//  - the empty value goes to re2js (`^`/`$` both hold there; not worth a special state);
//  - states are built lazily and capped: a program whose DFA would grow past the cap (the
//    classic exponential blow-up) hands every later value to re2js, as RE2 falls back from
//    its DFA to the NFA.
//
// The opcode and flag numbers are re2js's (2.x, Go's regexp/syntax numbering); the probe at the end checks
// them against a known program when the first DFA is built, so an engine whose internals moved
// disables this path instead of misreading it.

/** re2js's Inst opcodes. */
const ALT = 1, ALT_MATCH = 2, CAPTURE = 3, EMPTY_WIDTH = 4, FAIL = 5, MATCH = 6, NOP = 7, RUNE = 8, RUNE1 = 9, RUNE_ANY = 10, RUNE_ANY_NOT_NL = 11;
/** re2js's empty-width flags (Utils.EMPTY_*): the two this DFA understands. */
const BEGIN_TEXT = 4, END_TEXT = 8;

const MAX_STATES = 256;
const MAX_INSTRUCTIONS = 2048;

/** The parts of re2js's Inst and Prog read here. */
interface Inst { readonly op: number; readonly out: number; readonly arg: number; matchRune(r: number): boolean }
export interface Prog { readonly start: number; readonly numLb?: number; getInst(pc: number): Inst; numInst(): number }


export class FullMatchDfa {
  readonly #prog: Prog;
  /** Latin-1 code → character class (runes no instruction tells apart share one). */
  readonly #classOf: Uint8Array;
  readonly #classes: number;
  /** One representative rune per class, to compute a transition with. */
  readonly #sample: number[];
  /** state * classes + class → next state; -1 not built yet. State 0 is dead (no thread left). */
  #next: Int32Array;
  readonly #pcs: (readonly number[])[] = [];
  readonly #accepts: boolean[] = [];
  readonly #byKey = new Map<string, number>();
  readonly #start: number;
  /** The literal every match starts with, and the state after reading it (-1: none to skip). */
  readonly #prefix: string;
  #afterPrefix = -1;
  #full = false;

  private constructor(prog: Prog, classOf: Uint8Array, sample: number[], prefix: string) {
    this.#prog = prog;
    this.#classOf = classOf;
    this.#classes = sample.length;
    this.#sample = sample;
    this.#next = new Int32Array(16 * this.#classes).fill(-1);
    this.#state([]); // 0: dead
    this.#start = this.#state(this.#closure([prog.start], BEGIN_TEXT));
    this.#prefix = prefix;
    let s = this.#start;
    for (let i = 0; i < prefix.length && s > 0; i++) {
      const c = prefix.charCodeAt(i);
      s = c > 255 ? -1 : this.#step(s, this.#classOf[c]!);
    }
    if (prefix !== '' && s > 0) this.#afterPrefix = s;
  }

  /**
   * A DFA for `prog`, or undefined when the program uses what this DFA leaves to re2js.
   * `prefix`: a literal every match starts with (re2js's own), which matchesAfterPrefix skips.
   */
  static build(prog: Prog, compile: (pattern: string) => Prog, prefix = ''): FullMatchDfa | undefined {
    if (!opcodesAsExpected(compile)) return undefined;
    return FullMatchDfa.fromProgram(prog, prefix);
  }

  /** build() without the check of re2js's numbering (for that check itself). */
  static fromProgram(prog: Prog, prefix = ''): FullMatchDfa | undefined {
    const n = prog.numInst();
    if (n > MAX_INSTRUCTIONS || (prog.numLb ?? 0) > 0) return undefined;
    const runeInsts: Inst[] = [];
    for (let pc = 0; pc < n; pc++) {
      const inst = prog.getInst(pc);
      switch (inst.op) {
        case ALT: case ALT_MATCH: case CAPTURE: case FAIL: case MATCH: case NOP: break;
        case EMPTY_WIDTH: if ((inst.arg & ~(BEGIN_TEXT | END_TEXT)) !== 0) return undefined; break;
        case RUNE: case RUNE1: case RUNE_ANY: case RUNE_ANY_NOT_NL: runeInsts.push(inst); break;
        default: return undefined;
      }
    }
    // Classes: Latin-1 runes with the same answer from every rune instruction are one class.
    const classOf = new Uint8Array(256);
    const sample: number[] = [];
    const bySignature = new Map<string, number>();
    for (let r = 0; r < 256; r++) {
      let sig = '';
      for (const inst of runeInsts) sig += matchRune(inst, r) ? '1' : '0';
      let cls = bySignature.get(sig);
      if (cls === undefined) {
        cls = sample.length;
        bySignature.set(sig, cls);
        sample.push(r);
      }
      classOf[r] = cls;
    }
    return new FullMatchDfa(prog, classOf, sample, prefix);
  }

  /** True/false when the DFA decides `value`; undefined when re2js must (see the file comment). */
  matches(value: string): boolean | undefined {
    if (value.length === 0) return undefined;
    return this.#run(value, 0, this.#start);
  }

  /**
   * matches() for a value the caller has seen start with the build's `prefix`: the DFA starts
   * past it (a route regex's literal start is most of the path it reads).
   */
  matchesAfterPrefix(value: string): boolean | undefined {
    return this.#afterPrefix > 0 ? this.#run(value, this.#prefix.length, this.#afterPrefix) : this.matches(value);
  }

  #run(value: string, from: number, start: number): boolean | undefined {
    if (this.#full) return undefined;
    const len = value.length;
    const classOf = this.#classOf;
    const classes = this.#classes;
    let next = this.#next;
    let s = start;
    for (let i = from; i < len; i++) {
      const c = value.charCodeAt(i);
      if (c > 255) return undefined;
      let t = next[s * classes + classOf[c]!]!;
      if (t <= 0) {
        if (t === 0) return false;
        t = this.#step(s, classOf[c]!);
        if (t < 0) return undefined;
        if (t === 0) return false;
        next = this.#next; // the table may have grown
      }
      s = t;
    }
    return this.#accepts[s]!;
  }

  #step(s: number, cls: number): number {
    const r = this.#sample[cls]!;
    const targets: number[] = [];
    for (const pc of this.#pcs[s]!) {
      const inst = this.#prog.getInst(pc);
      if (isRuneOp(inst.op) && matchRune(inst, r)) targets.push(inst.out);
    }
    const t = this.#state(this.#closure(targets, 0));
    if (t < 0) return t;
    this.#next[s * this.#classes + cls] = t;
    return t;
  }

  /** The state for a set of pcs (made if new); -1 once the cap is reached. */
  #state(pcs: number[]): number {
    pcs.sort((a, b) => a - b);
    const key = pcs.join(',');
    const known = this.#byKey.get(key);
    if (known !== undefined) return known;
    const id = this.#pcs.length;
    if (id >= MAX_STATES) { this.#full = true; return -1; }
    this.#byKey.set(key, id);
    this.#pcs.push(pcs);
    // Accepting: MATCH is reachable with the end of the text reached (`$` holds, `^` does not:
    // the value is not empty).
    this.#accepts.push(this.#closure(pcs, END_TEXT).some((pc) => this.#prog.getInst(pc).op === MATCH));
    if ((id + 1) * this.#classes > this.#next.length) {
      const grown = new Int32Array(this.#next.length * 2).fill(-1);
      grown.set(this.#next);
      this.#next = grown;
    }
    return id;
  }

  /**
   * The instructions reachable from `pcs` without consuming a rune, where the empty-width
   * conditions in `flags` hold: rune instructions and MATCH (what a step or the end looks at),
   * and empty-width ones (kept, so the end of the text can pass a `$` later).
   */
  #closure(pcs: readonly number[], flags: number): number[] {
    const seen = new Set<number>();
    const out: number[] = [];
    const stack = [...pcs];
    while (stack.length > 0) {
      const pc = stack.pop()!;
      if (seen.has(pc)) continue;
      seen.add(pc);
      const inst = this.#prog.getInst(pc);
      switch (inst.op) {
        case FAIL: break;
        case ALT: case ALT_MATCH: stack.push(inst.out, inst.arg); break;
        case CAPTURE: case NOP: stack.push(inst.out); break;
        case EMPTY_WIDTH:
          out.push(pc);
          if ((inst.arg & ~flags) === 0) stack.push(inst.out);
          break;
        default: out.push(pc); // MATCH and rune instructions
      }
    }
    return out;
  }
}

function isRuneOp(op: number): boolean {
  return op >= RUNE && op <= RUNE_ANY_NOT_NL;
}

function matchRune(inst: Inst, r: number): boolean {
  if (inst.op === RUNE_ANY) return true;
  if (inst.op === RUNE_ANY_NOT_NL) return r !== 10;
  return inst.matchRune(r);
}

// The probe: a program that uses every kind of instruction this DFA reads, and answers it must
// give. Numbering that moved makes the build fail or the answers wrong, and the path stays off.
const PROBE = '^a[b-c]*$|(z)+';
const PROBE_ANSWERS: readonly [string, boolean][] = [['a', true], ['abcb', true], ['zz', true], ['b', false], ['az', false], ['abca', false], ['aB', false]];
let probed: boolean | undefined;

function opcodesAsExpected(compile: (pattern: string) => Prog): boolean {
  if (probed !== undefined) return probed;
  probed = false;
  const dfa = FullMatchDfa.fromProgram(compile(PROBE));
  probed = dfa !== undefined && PROBE_ANSWERS.every(([value, want]) => dfa.matches(value) === want);
  return probed;
}
