// Unknown fields are errors, as `kubectl apply` reports them since Kubernetes 1.27 (strict field
// validation): a misspelt `weigth` that were merely dropped would silently send all traffic
// elsewhere. The message names the nearest known field when one is close enough to be the one
// meant, so the fix is one glance away.

/**
 * Optimal string alignment distance (Levenshtein plus adjacent transpositions, each edit 1):
 * `weigth` → `weight` is 1, not 2.
 */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[] = new Array<number>(rows * cols).fill(0);
  for (let i = 0; i < rows; i++) d[i * cols] = i;
  for (let j = 0; j < cols; j++) d[j] = j;
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(d[(i - 1) * cols + j]! + 1, d[i * cols + j - 1]! + 1, d[(i - 1) * cols + j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) best = Math.min(best, d[(i - 2) * cols + j - 2]! + 1);
      d[i * cols + j] = best;
    }
  }
  return d[rows * cols - 1]!;
}

/** Case and `_`/`-` differences only: `per_try_timeout` and `PerTryTimeout` mean `perTryTimeout`. */
function folded(s: string): string {
  return s.toLowerCase().replace(/[_-]/g, '');
}

/**
 * The known name `word` most likely stands for, or undefined when none is close: same name but
 * for case and separators, else the fewest edits within a third of the word's length (at least
 * one, at most three), ties going to the earlier candidate.
 */
export function nearestName(word: string, candidates: Iterable<string>): string | undefined {
  // A key far longer than any field is not a typo of one; skip the quadratic work.
  if (word.length > 128) return undefined;
  const f = folded(word);
  const allowed = Math.min(3, Math.max(1, Math.floor(word.length / 3)));
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    if (folded(c) === f) return c;
    if (Math.abs(c.length - word.length) > allowed) continue;
    const dist = editDistance(word.toLowerCase(), c.toLowerCase());
    if (dist <= allowed && dist < bestDistance) {
      best = c;
      bestDistance = dist;
    }
  }
  return best;
}

/** `unknown field "weigth"; did you mean "weight"?`, or without the hint when nothing is close. */
export function unknownFieldMessage(key: string, known: Iterable<string>): string {
  const shown = key.length > 80 ? `${key.slice(0, 80)}...` : key;
  const near = nearestName(key, known);
  return near === undefined ? `unknown field "${shown}"` : `unknown field "${shown}"; did you mean "${near}"?`;
}
