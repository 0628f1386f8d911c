// Syntax check for RE2 regular expressions as istiod applies it (Go's regexp package, Perl
// flavour). JavaScript's RegExp accepts a different language — lookarounds and backreferences
// that Envoy's RE2 would NACK, while it rejects RE2's (?P<name>…), \z, \Q…\E and [[:alpha:]] — so
// `new RegExp` cannot stand in for it. This is a recognizer only: it reports the first syntax
// error, it does not build a matcher.

const MAX_REPEAT = 1000;
/** istiod approximates Envoy's RE2 program-size limit by the pattern's length. */
export const MAX_REGEX_LENGTH = 1024;

const POSIX_CLASSES = new Set([
  'alnum', 'alpha', 'ascii', 'blank', 'cntrl', 'digit', 'graph',
  'lower', 'print', 'punct', 'space', 'upper', 'word', 'xdigit',
]);

const FLAG_CHARS = new Set(['i', 'm', 's', 'U']);

class RegexSyntaxError extends Error {}

/** Returns a description of the first RE2 syntax error in `re`, or undefined when it compiles. */
export function checkRe2Syntax(re: string): string | undefined {
  try {
    new Re2Recognizer(re).run();
    return undefined;
  } catch (e) {
    if (e instanceof RegexSyntaxError) return e.message;
    throw e;
  }
}

/** The length rule and the syntax rule together, as istiod checks every regex field. */
export function checkIstioRegex(re: string): string | undefined {
  if (re.length > MAX_REGEX_LENGTH) return `regex is longer than ${MAX_REGEX_LENGTH} characters`;
  const err = checkRe2Syntax(re);
  return err === undefined ? undefined : `${err} (Istio regexes are RE2: https://github.com/google/re2/wiki/Syntax)`;
}

function isUnicodeClassName(name: string): boolean {
  if (name === 'Any') return true;
  // Go accepts Unicode general categories and script names; JavaScript knows both sets.
  for (const probe of [`\\p{${name}}`, `\\p{Script=${name}}`]) {
    try {
      new RegExp(probe, 'u');
      return true;
    } catch {
      // try the next spelling
    }
  }
  return false;
}

class Re2Recognizer {
  private readonly src: string;
  private pos = 0;
  /** Capture names seen so far; RE2 rejects duplicates. */
  private readonly names = new Set<string>();

  constructor(src: string) {
    this.src = src;
  }

  run(): void {
    this.alternation(0);
    if (this.pos < this.src.length) {
      // Only an unmatched ')' can stop the top level early.
      this.fail('unexpected ): unmatched closing parenthesis');
    }
  }

  private fail(message: string): never {
    throw new RegexSyntaxError(message);
  }

  private peek(offset = 0): string | undefined {
    return this.src[this.pos + offset];
  }

  private alternation(depth: number): void {
    if (depth > 1000) this.fail('expression nests too deeply');
    this.sequence(depth);
    while (this.peek() === '|') {
      this.pos++;
      this.sequence(depth);
    }
  }

  /** A run of repeated atoms, ended by '|', ')' or the end of input. */
  private sequence(depth: number): void {
    // Whether the last item can take a repetition operator, and whether it already has one.
    let canRepeat = false;
    let repeated = false;
    while (this.pos < this.src.length) {
      const c = this.src[this.pos] as string;
      if (c === '|' || c === ')') return;
      if (c === '*' || c === '+' || c === '?') {
        this.repetition(c, canRepeat, repeated);
        this.pos++;
        if (this.peek() === '?') this.pos++; // non-greedy form
        repeated = true;
        continue;
      }
      if (c === '{') {
        const end = this.repeatCount();
        if (end !== undefined) {
          this.repetition(this.src.slice(this.pos, end), canRepeat, repeated);
          this.pos = end;
          if (this.peek() === '?') this.pos++;
          repeated = true;
          continue;
        }
        // Not a well-formed {n,m}: RE2 takes the brace literally.
        this.pos++;
        canRepeat = true;
        repeated = false;
        continue;
      }
      if (c === '(' && this.peek(1) === '?' && this.isFlagGroup()) {
        // (?i) only changes flags: it is not something a following operator could repeat.
        this.flags(this.pos++);
        repeated = false;
        continue;
      }
      repeated = false;
      canRepeat = this.atom(depth);
    }
  }

  private repetition(op: string, canRepeat: boolean, repeated: boolean): void {
    if (repeated) this.fail(`invalid nested repetition operator: ${op}`);
    if (!canRepeat) this.fail(`missing argument to repetition operator: ${op}`);
  }

  /** If a valid {n}, {n,} or {n,m} starts here, checks its counts and returns the index after it. */
  private repeatCount(): number | undefined {
    const m = /^\{(\d+)(,(\d*))?\}/.exec(this.src.slice(this.pos));
    if (!m) return undefined;
    // RE2 does not read counts with a leading zero; such a brace is a literal.
    if (/^0\d/.test(m[1] as string) || /^0\d/.test(m[3] ?? '')) return undefined;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : m[3] === '' ? -1 : Number(m[3]);
    if (lo > MAX_REPEAT || hi > MAX_REPEAT || (hi >= 0 && hi < lo)) {
      this.fail(`invalid repeat count: ${m[0]}`);
    }
    return this.pos + m[0].length;
  }

  /** Consumes one atom; returns whether a repetition operator may follow it. */
  private atom(depth: number): boolean {
    const c = this.src[this.pos] as string;
    switch (c) {
      case '(':
        this.group(depth);
        return true;
      case '[':
        this.charClass();
        return true;
      case '\\':
        return this.escape(false);
      case '^':
      case '$':
        // Anchors may be repeated in RE2 (pointless but legal).
        this.pos++;
        return true;
      default:
        this.pos += (c.codePointAt(0) ?? 0) > 0xffff ? 2 : 1;
        return true;
    }
  }

  private group(depth: number): void {
    const start = this.pos;
    this.pos++; // '('
    if (this.peek() === '?') {
      const rest = this.src.slice(this.pos + 1);
      const named = /^P?<([^>]*)>/.exec(rest);
      if (rest.startsWith('P<') || (rest.startsWith('<') && !rest.startsWith('<=') && !rest.startsWith('<!'))) {
        if (!named) this.fail(`invalid named capture: ${this.src.slice(start)}`);
        const name = named[1] as string;
        if (!/^\w+$/.test(name)) this.fail(`invalid named capture: (?${named[0]}`);
        if (this.names.has(name)) this.fail(`duplicate capture group name: ${name}`);
        this.names.add(name);
        this.pos += 1 + named[0].length;
      } else {
        this.flags(start);
      }
    }
    this.alternation(depth + 1);
    if (this.peek() !== ')') this.fail(`missing closing ): ${this.src.slice(start)}`);
    this.pos++;
  }

  /** Whether the '(' at pos opens a flags-only group like (?i) or (?-s). */
  private isFlagGroup(): boolean {
    return /^\(\?[imsU-]*\)/.test(this.src.slice(this.pos));
  }

  /** Parses the flags of (?flags) or (?flags:; leaves pos after the ')' or ':'. */
  private flags(start: number): void {
    this.pos++; // '?'
    let negated = false;
    let sawFlag = false;
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.fail(`missing closing ): ${this.src.slice(start)}`);
      this.pos++;
      if (FLAG_CHARS.has(c)) {
        sawFlag = true;
        continue;
      }
      if (c === '-' && !negated) {
        negated = true;
        sawFlag = false;
        continue;
      }
      if ((c === ':' || c === ')') && (sawFlag || !negated)) return;
      this.fail(`invalid or unsupported Perl syntax: ${this.src.slice(start, this.pos)}`);
    }
  }

  /** An escape after '\'; returns whether it can be repeated (every escape can). */
  private escape(inClass: boolean): boolean {
    const start = this.pos;
    this.pos++; // '\'
    const c = this.peek();
    if (c === undefined) this.fail('trailing backslash at end of expression');
    this.pos++;
    if (!inClass && 'AzbB'.includes(c)) return true;
    if ('dDsSwW'.includes(c)) return true;
    if (c === 'p' || c === 'P') {
      let name: string;
      if (this.peek() === '{') {
        const close = this.src.indexOf('}', this.pos);
        if (close < 0) this.fail(`invalid character class range: ${this.src.slice(start)}`);
        name = this.src.slice(this.pos + 1, close);
        this.pos = close + 1;
        if (name.startsWith('^')) name = name.slice(1);
      } else {
        name = this.peek() ?? '';
        if (name === '') this.fail(`invalid character class range: ${this.src.slice(start)}`);
        this.pos++;
      }
      if (!isUnicodeClassName(name)) this.fail(`invalid character class range: ${this.src.slice(start, this.pos)}`);
      return true;
    }
    if (!inClass && c === 'Q') {
      const end = this.src.indexOf('\\E', this.pos);
      this.pos = end < 0 ? this.src.length : end + 2;
      return true;
    }
    if (c >= '1' && c <= '7') {
      // A lone digit is a backreference, which RE2 does not have; \12 is an octal code.
      const next = this.peek();
      if (next === undefined || next < '0' || next > '7') this.fail(`invalid escape sequence: \\${c}`);
    }
    if (c >= '0' && c <= '7') {
      for (let i = 0; i < 2 && /[0-7]/.test(this.peek() ?? ''); i++) this.pos++;
      return true;
    }
    if (c === 'x') {
      if (this.peek() === '{') {
        const m = /^\{([0-9A-Fa-f]+)\}/.exec(this.src.slice(this.pos));
        if (!m || parseInt(m[1] as string, 16) > 0x10ffff) this.fail(`invalid escape sequence: ${this.src.slice(start, this.pos + 1)}`);
        this.pos += m[0].length;
        return true;
      }
      if (!/^[0-9A-Fa-f]{2}/.test(this.src.slice(this.pos))) this.fail(`invalid escape sequence: ${this.src.slice(start, this.pos + 2)}`);
      this.pos += 2;
      return true;
    }
    if ('afnrtv'.includes(c)) return true;
    // Any ASCII punctuation may be escaped to stand for itself; letters and digits may not.
    if (c.charCodeAt(0) < 0x80 && !/[A-Za-z0-9]/.test(c)) return true;
    this.fail(`invalid escape sequence: \\${c}`);
  }

  private charClass(): void {
    const start = this.pos;
    this.pos++; // '['
    if (this.peek() === '^') this.pos++;
    let first = true;
    // The previous single character, when it can start a range.
    let prev: number | undefined;
    while (first || this.peek() !== ']') {
      const c = this.peek();
      if (c === undefined) this.fail(`missing closing ]: ${this.src.slice(start)}`);
      if (c === '[' && this.peek(1) === ':') {
        // Like RE2, a '[:' with a ':]' anywhere after it is taken as a POSIX class name.
        const close = this.src.indexOf(':]', this.pos + 2);
        if (close >= 0) {
          const name = this.src.slice(this.pos + 2, close).replace(/^\^/, '');
          if (!POSIX_CLASSES.has(name)) this.fail(`invalid character class range: ${this.src.slice(this.pos, close + 2)}`);
          this.pos = close + 2;
          prev = undefined;
          first = false;
          continue;
        }
      }
      if (c === '-' && !first && this.peek(1) !== ']' && prev !== undefined) {
        // A range: prev '-' hi
        this.pos++;
        const hi = this.classChar(start);
        if (hi === undefined) this.fail(`invalid character class range: ${this.src.slice(start, this.pos)}`);
        if (hi < prev) this.fail(`invalid character class range: ${String.fromCodePoint(prev)}-${String.fromCodePoint(hi)}`);
        prev = undefined;
        first = false;
        continue;
      }
      prev = this.classChar(start);
      first = false;
    }
    this.pos++; // ']'
  }

  /** One character (or escape) inside a class; returns its code point, or undefined for \d-like classes. */
  private classChar(start: number): number | undefined {
    const c = this.peek();
    if (c === undefined) this.fail(`missing closing ]: ${this.src.slice(start)}`);
    if (c === '\\') {
      const at = this.pos;
      const next = this.peek(1);
      this.escape(true);
      if (next !== undefined && 'dDsSwWpP'.includes(next)) return undefined;
      return decodeEscapeValue(this.src.slice(at, this.pos));
    }
    const cp = c.codePointAt(0) ?? 0;
    this.pos += cp > 0xffff ? 2 : 1;
    return cp;
  }
}

/** The code point a single-character escape inside a class stands for. */
function decodeEscapeValue(esc: string): number {
  const body = esc.slice(1);
  const simple: Record<string, number> = { a: 7, f: 12, n: 10, r: 13, t: 9, v: 11 };
  if (body.length === 1 && simple[body] !== undefined) return simple[body];
  if (body.startsWith('x{')) return parseInt(body.slice(2, -1), 16);
  if (body.startsWith('x')) return parseInt(body.slice(1), 16);
  if (/^[0-7]+$/.test(body)) return parseInt(body, 8);
  return body.codePointAt(0) ?? 0;
}
