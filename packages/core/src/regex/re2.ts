// The one regular-expression engine for everything that comes from configuration or a control
// plane: route, header and query matches, rewrites, hash-policy rewrites, RBAC and SAN string
// matchers, and the validator. Envoy and istiod use RE2, whose matching time is linear in the
// input; JavaScript's RegExp backtracks, so one request against `/(a+)+` could hold the event
// loop for minutes. Patterns run on re2js (a JavaScript port of RE2 through Go's regexp: same
// syntax, same linear-time automata), chosen by measurement over the native `re2` bindings,
// which cannot be installed for Node 24 here (no prebuilt binary is reachable, and node-gyp
// must download Node's headers) — figures in docs/hostile-input.md.
//
// This is the bottom layer: it imports nothing from the rest of core.
//
// Semantics kept from Envoy:
//  - a match is a full match: the regex must match the whole value (safe_regex);
//  - a rewrite replaces every non-overlapping match, RE2::GlobalReplace with \0..\9;
//  - the compiled program may not exceed a size limit (Envoy's
//    re2.max_program_size.error_level, which Istio's bootstrap sets to 32768; a matcher's own
//    google_re2.max_program_size wins). Program sizes are re2js's instruction counts, which
//    track RE2's closely but not to the instruction.
//
// The only JavaScript fast paths are provably safe ones read from the compiled program: a
// pattern that is one literal is a string comparison, a value that does not start with the
// literal every match starts with is rejected before the automaton runs, and the full-match
// question is answered by a DFA built from re2js's own program (full-match-dfa.ts), which
// hands re2js every value or program it does not take on.

import { createRequire } from 'node:module';
import type { RE2JS } from 're2js';
import { FullMatchDfa, type Prog } from './full-match-dfa.ts';

// re2js is ~260 KB of JavaScript: it is loaded when the first pattern is compiled, so a mesh
// whose config has no regex never parses it and importing @meshlet/core stays cheap.
// (Synchronously, through require: compiling is synchronous, and re2js ships a CommonJS build.)
const requireModule = createRequire(import.meta.url);
let engine: typeof RE2JS | undefined;
const re2js = (): typeof RE2JS => (engine ??= (requireModule('re2js') as { RE2JS: typeof RE2JS }).RE2JS);

/** Istio's bootstrap sets Envoy's re2.max_program_size.error_level to this. */
export const DEFAULT_MAX_PROGRAM_SIZE = 32768;

export class RegexError extends Error {}

export interface Re2Options {
  /** Largest program accepted; default DEFAULT_MAX_PROGRAM_SIZE. */
  readonly maxProgramSize?: number | undefined;
}

export interface Re2Regex {
  readonly source: string;
  /** RE2 program size (instructions). */
  readonly programSize: number;
  /** A literal every match starts with ('' when none); route indexes key regex routes by it. */
  readonly prefix: string;
  /** True when the pattern matches exactly `prefix` and nothing else. */
  readonly literal: boolean;
  /** Whether the regex matches the whole of `value`, as Envoy's safe_regex does. */
  matches(value: string): boolean;
  /** `value` with every non-overlapping match replaced (RE2::GlobalReplace). */
  replaceAll(value: string, rewrite: Re2Rewrite): string;
  /** Parses an RE2 substitution (\0–\9 name groups, \\ a backslash) against this regex's groups. */
  rewrite(substitution: string): Re2Rewrite;
}

/** A parsed substitution: literal text and group numbers, in order. */
export type Re2Rewrite = readonly (string | number)[];

// Compiling costs ~0.2 ms a pattern, and every snapshot rebuild would otherwise recompile the
// same route table; compiled programs are safe to share (matching keeps no state between calls).
const CACHE_LIMIT = 4096;
const cache = new Map<string, RE2JS | RegexError>();

function compileCached(pattern: string): RE2JS {
  let hit = cache.get(pattern);
  if (hit === undefined) {
    try {
      hit = re2js().compile(pattern);
    } catch (err) {
      hit = new RegexError(describe(err));
    }
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(pattern, hit);
  }
  if (hit instanceof RegexError) throw hit;
  return hit;
}

// One DFA per compiled program (compileRe2 runs again on every snapshot build; the states a
// DFA has built are worth keeping). null: the program is left to re2js.
const dfas = new WeakMap<RE2JS, FullMatchDfa | null>();

function dfaFor(re: RE2JS, prefix: string): FullMatchDfa | null {
  let dfa = dfas.get(re);
  if (dfa === undefined) {
    dfa = FullMatchDfa.build(re.re2Input.prog as Prog, (pattern) => re2js().compile(pattern).re2Input.prog as Prog, prefix) ?? null;
    dfas.set(re, dfa);
  }
  return dfa;
}

function describe(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  // re2js says "error parsing regexp: invalid escape sequence: `\1`", as Go does.
  return msg.replace(/^error parsing regexp: /, '');
}

/** Compiles an RE2 pattern; throws RegexError with RE2's reason (syntax, or the program-size limit). */
export function compileRe2(pattern: string, opts: Re2Options = {}): Re2Regex {
  const re = compileCached(pattern);
  const size = re.programSize();
  const max = opts.maxProgramSize ?? DEFAULT_MAX_PROGRAM_SIZE;
  if (size > max) throw new RegexError(`RE2 program size of ${size} > max program size of ${max}; simplify the regex (Envoy's re2.max_program_size)`);
  return new CompiledRe2(pattern, re, size);
}

/** RE2's reason for rejecting `pattern`, or undefined when it compiles within the size limit. */
export function re2Error(pattern: string, opts: Re2Options = {}): string | undefined {
  try {
    compileRe2(pattern, opts);
    return undefined;
  } catch (err) {
    if (err instanceof RegexError) return err.message;
    throw err;
  }
}

class CompiledRe2 implements Re2Regex {
  readonly source: string;
  readonly programSize: number;
  readonly prefix: string;
  readonly literal: boolean;
  readonly #re: RE2JS;
  /** Built on the first match (most compiled patterns are only validated). */
  #dfa: FullMatchDfa | null | undefined;

  constructor(source: string, re: RE2JS, programSize: number) {
    this.source = source;
    this.#re = re;
    this.programSize = programSize;
    const prog = re.re2Input;
    this.prefix = typeof prog.prefix === 'string' ? prog.prefix : '';
    this.literal = prog.prefixComplete === true && typeof prog.prefix === 'string';
  }

  matches(value: string): boolean {
    if (this.literal) return value === this.prefix;
    if (this.prefix !== '' && !value.startsWith(this.prefix)) return false;
    const verdict = (this.#dfa ??= dfaFor(this.#re, this.prefix))?.matchesAfterPrefix(value);
    return verdict ?? this.#re.testExact(value);
  }

  rewrite(substitution: string): Re2Rewrite {
    const groups = this.#re.groupCount();
    const out: (string | number)[] = [];
    let text = '';
    for (let i = 0; i < substitution.length; i++) {
      const c = substitution[i]!;
      if (c !== '\\') { text += c; continue; }
      const n = substitution[++i];
      if (n === '\\') { text += '\\'; continue; }
      if (n === undefined || n < '0' || n > '9') throw new RegexError(`invalid rewrite pattern ${JSON.stringify(substitution)}: a backslash must be followed by a digit or a backslash`);
      const g = Number(n);
      if (g > groups) throw new RegexError(`rewrite ${JSON.stringify(substitution)} names group \\${g}, but the regex has ${groups}`);
      if (text) out.push(text);
      text = '';
      out.push(g);
    }
    if (text) out.push(text);
    return out;
  }

  replaceAll(value: string, rewrite: Re2Rewrite): string {
    // Finding submatches runs RE2's capturing engines (~2 µs a character); whether there is a
    // match at all is the DFA's question (~0.2 µs), so a value with none is returned at once.
    if (!this.#re.test(value)) return value;
    const m = this.#re.matcher(value);
    const len = value.length;
    let out = '';
    let p = 0;
    let lastEnd = -1;
    while (p <= len && m.find(p)) {
      const start = m.start();
      const end = m.end();
      out += value.slice(p, start);
      if (start === end && start === lastEnd) {
        // No empty match right where the last match ended: keep one character and go on.
        const n = p < len && value.codePointAt(p)! > 0xffff ? 2 : 1;
        out += value.slice(p, p + n);
        p += n;
        continue;
      }
      for (const part of rewrite) out += typeof part === 'string' ? part : (m.group(part) ?? '');
      p = end;
      lastEnd = end;
    }
    return p < len ? out + value.slice(p) : out;
  }
}

/** A parsed substitution written back in RE2's form (for explain and dumps). */
export function rewriteText(rewrite: Re2Rewrite): string {
  return rewrite.map((p) => (typeof p === 'number' ? `\\${p}` : p.replace(/\\/g, '\\\\'))).join('');
}
