// A literal that every full match of an RE2 pattern contains, read from the pattern's text: a
// route table can then skip a regex route whose literal the path lacks without running its
// automaton (RE2's own prefilter idea, kept to what is provably required). Only the top level of
// the pattern is read: a run of plain characters there, none of them quantified, appears in
// every match exactly as written. Anything that could make that untrue — an alternation at the
// top level, case folding, \Q…\E — gives no literal, and the route is simply always tried.

/** Shortest literal worth indexing: shorter ones are in too many paths to narrow anything. */
const MIN_LITERAL = 3;

const QUANTIFIER = new Set(['*', '+', '?', '{']);

/** The longest literal every match of `pattern` contains, or '' when none can be proven. */
export function requiredLiteral(pattern: string): string {
  let best = '';
  let run = '';
  const endRun = () => {
    if (run.length > best.length) best = run;
    run = '';
  };
  let i = 0;
  while (i < pattern.length) {
    const c = pattern[i]!;
    if (c === '|') return '';
    if (c === '(') {
      // A flag group at the top level ((?i), (?s-i)) changes how the rest matches.
      if (pattern[i + 1] === '?' && /^[a-zA-Z-]*\)/.test(pattern.slice(i + 2))) return '';
      const end = closeParen(pattern, i);
      if (end < 0) return '';
      endRun();
      i = skipQuantifier(pattern, end + 1);
      continue;
    }
    if (c === '[') {
      const end = closeBracket(pattern, i);
      if (end < 0) return '';
      endRun();
      i = skipQuantifier(pattern, end + 1);
      continue;
    }
    let ch: string | undefined;
    let next = i + 1;
    if (c === '\\') {
      const e = pattern[i + 1];
      if (e === undefined || e === 'Q') return '';
      // An escaped punctuation character is itself; letters and digits are classes, anchors
      // or codes (\d, \b, \x41, \pL), which end the run.
      if (!/[0-9A-Za-z]/.test(e)) ch = e;
      next = escapeEnd(pattern, i);
    } else if (c !== '.' && c !== '^' && c !== '$' && !QUANTIFIER.has(c) && c !== ')' && c !== ']' && c !== '}') {
      ch = c;
    }
    if (ch !== undefined && !QUANTIFIER.has(pattern[next] ?? '')) {
      run += ch;
      i = next;
      continue;
    }
    // Not a plain character, or a quantified one (which may repeat or vanish): the run ends.
    endRun();
    i = skipQuantifier(pattern, next);
  }
  endRun();
  return best.length >= MIN_LITERAL ? best : '';
}

/** Where the escape starting at `i` (a backslash) ends: \x41, \x{263a}, \123, \pL, \p{Greek}, \d. */
function escapeEnd(p: string, i: number): number {
  const e = p[i + 1]!;
  let j = i + 2;
  if (e === 'x' || e === 'p' || e === 'P') {
    if (p[j] === '{') {
      const end = p.indexOf('}', j);
      return end < 0 ? p.length : end + 1;
    }
    return j + (e === 'x' ? 2 : 1);
  }
  if (e >= '0' && e <= '7') while (j < i + 4 && p[j]! >= '0' && p[j]! <= '7') j++;
  return j;
}

function skipQuantifier(p: string, i: number): number {
  while (i < p.length && QUANTIFIER.has(p[i]!)) {
    if (p[i] === '{') {
      // Only {n}, {n,} and {n,m} repeat; any other '{' is a plain character, read by the caller.
      const repeat = /^\{\d+(,\d*)?\}/.exec(p.slice(i, i + 24));
      if (!repeat) return i;
      i += repeat[0].length;
    } else i++;
  }
  return i;
}

/** The index of the ')' closing the group opened at `open`, or -1. */
function closeParen(p: string, open: number): number {
  let depth = 0;
  for (let i = open; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') i++;
    else if (c === '[') {
      const end = closeBracket(p, i);
      if (end < 0) return -1;
      i = end;
    } else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i;
  }
  return -1;
}

/** The index of the ']' closing the class opened at `open`, or -1 (a leading ']' or '^]' is a member). */
function closeBracket(p: string, open: number): number {
  let i = open + 1;
  if (p[i] === '^') i++;
  if (p[i] === ']') i++;
  for (; i < p.length; i++) {
    const c = p[i];
    if (c === '\\') i++;
    else if (c === '[' && p[i + 1] === ':') {
      const end = p.indexOf(':]', i + 2);
      if (end < 0) return -1;
      i = end + 1;
    } else if (c === ']') return i;
  }
  return -1;
}
