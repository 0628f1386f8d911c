// Durations in Istio CRDs are strings in Go's time.ParseDuration syntax ("1h2m3.5s", "250ms",
// "0"): the Kubernetes API server checks them with CEL's duration(), which uses that parser, and
// istiod converts them with the legacy jsonpb decoder, which does too. So a value is valid here
// exactly when Go would parse it; the range rules (>= 1ms, whole ms) are applied on top by the
// validators, field by field, because istiod does not apply them everywhere.

/** Nanoseconds per unit, as Go spells the units (both micro signs included). */
const UNIT_NANOS: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['\u00b5s', 1_000n],
  ['\u03bcs', 1_000n],
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);

const MAX_NANOS = (1n << 63n) - 1n;

export type DurationParse = { ok: true; nanos: bigint } | { ok: false; reason: string };

/** Parses a Go duration string to signed nanoseconds; never throws. */
export function parseGoDuration(input: string): DurationParse {
  let s = input;
  let negative = false;
  if (s.startsWith('-') || s.startsWith('+')) {
    negative = s[0] === '-';
    s = s.slice(1);
  }
  // Go accepts a bare zero (with or without a sign) and nothing else without a unit.
  if (s === '0') return { ok: true, nanos: 0n };
  if (s === '') return { ok: false, reason: `invalid duration "${input}"` };

  let total = 0n;
  while (s !== '') {
    const m = /^(\d*)(?:\.(\d*))?/.exec(s);
    const whole = m?.[1] ?? '';
    const frac = m?.[2];
    if (whole === '' && (frac === undefined || frac === '')) {
      return { ok: false, reason: `invalid duration "${input}"` };
    }
    s = s.slice(m?.[0].length ?? 0);
    const unitMatch = /^[^\d.]+/.exec(s);
    if (!unitMatch) return { ok: false, reason: `missing unit in duration "${input}"` };
    const unit = UNIT_NANOS.get(unitMatch[0]);
    if (unit === undefined) return { ok: false, reason: `unknown unit "${unitMatch[0]}" in duration "${input}"` };
    s = s.slice(unitMatch[0].length);

    let part = BigInt(whole === '' ? '0' : whole) * unit;
    if (frac !== undefined && frac !== '') {
      // Fraction digits below a nanosecond are dropped, as Go does.
      part += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
    }
    total += part;
    if (total > MAX_NANOS) return { ok: false, reason: `duration "${input}" is out of range` };
  }
  return { ok: true, nanos: negative ? -total : total };
}

/** Whole milliseconds of a Go duration string (fractions of a ms round up), or undefined if it does not parse. */
export function goDurationToMs(input: string): number | undefined {
  const r = parseGoDuration(input);
  if (!r.ok) return undefined;
  const ms = r.nanos / 1_000_000n;
  const rest = r.nanos % 1_000_000n;
  return Number(rest > 0n ? ms + 1n : ms);
}

/**
 * istiod's rule for most duration fields: at least 1ms and a whole number of milliseconds.
 * Returns the problem, or undefined when the value is acceptable.
 */
export function checkIstioDuration(input: string): string | undefined {
  const r = parseGoDuration(input);
  if (!r.ok) return r.reason;
  if (r.nanos < 1_000_000n) return `duration must be at least 1ms (got "${input}")`;
  if (r.nanos % 1_000_000n !== 0n) return `duration must be a whole number of milliseconds (got "${input}")`;
  return undefined;
}
