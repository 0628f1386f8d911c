// The proto3 JSON forms of google.protobuf.Duration, Timestamp and FieldMask: the string
// conversions only, kept apart from the wire code so they can be read (and tested) alone.
// Each parser returns a string describing the problem instead of throwing.

const DURATION_MAX_SECONDS = 315_576_000_000; // ±10,000 years, the limit duration.proto sets
const TIMESTAMP_MIN_SECONDS = -62_135_596_800; // 0001-01-01T00:00:00Z
const TIMESTAMP_MAX_SECONDS = 253_402_300_799; // 9999-12-31T23:59:59Z

/** Nanoseconds as 0, 3, 6 or 9 fractional digits, as the JSON mapping asks. */
function fraction(nanos: number): string {
  if (nanos === 0) return '';
  const digits = String(nanos).padStart(9, '0');
  if (nanos % 1_000_000 === 0) return '.' + digits.slice(0, 3);
  if (nanos % 1_000 === 0) return '.' + digits.slice(0, 6);
  return '.' + digits;
}

/** Duration {seconds, nanos} to "1.500s"; a string error if the pair is not a valid Duration. */
export function formatDuration(seconds: number, nanos: number): string | { error: string } {
  if (Math.abs(seconds) > DURATION_MAX_SECONDS) return { error: `Duration seconds ${seconds} out of range` };
  if (nanos <= -1_000_000_000 || nanos >= 1_000_000_000) return { error: `Duration nanos ${nanos} out of range` };
  if ((seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) return { error: 'Duration seconds and nanos have different signs' };
  const negative = seconds < 0 || nanos < 0;
  return `${negative ? '-' : ''}${Math.abs(seconds)}${fraction(Math.abs(nanos))}s`;
}

const DURATION_RE = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

/** "1.5s" / "-0.025s" / "10s" to {seconds, nanos}. */
export function parseDuration(text: string): { seconds: number; nanos: number } | { error: string } {
  const m = DURATION_RE.exec(text);
  if (!m) return { error: `"${text}" is not a Duration (expected e.g. "1.5s")` };
  const seconds = Number(m[2]);
  if (seconds > DURATION_MAX_SECONDS) return { error: `Duration "${text}" out of range` };
  const nanos = m[3] ? Number(m[3].padEnd(9, '0')) : 0;
  const sign = m[1] ? -1 : 1;
  // Normalise -0 to 0 so "-0s" encodes as the default Duration.
  return { seconds: seconds === 0 ? 0 : sign * seconds, nanos: nanos === 0 ? 0 : sign * nanos };
}

/** Timestamp {seconds, nanos} to RFC 3339 in UTC ("2024-05-01T12:00:00.250Z"). */
export function formatTimestamp(seconds: number, nanos: number): string | { error: string } {
  if (seconds < TIMESTAMP_MIN_SECONDS || seconds > TIMESTAMP_MAX_SECONDS) return { error: `Timestamp seconds ${seconds} out of range` };
  if (nanos < 0 || nanos >= 1_000_000_000) return { error: `Timestamp nanos ${nanos} out of range` };
  const iso = new Date(seconds * 1000).toISOString(); // "YYYY-MM-DDTHH:MM:SS.000Z" for years 0001..9999
  return iso.slice(0, 19) + fraction(nanos) + 'Z';
}

const TIMESTAMP_RE = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:([Zz])|([+-])(\d{2}):(\d{2}))$/;

/** RFC 3339 (any offset) to {seconds, nanos} since the Unix epoch. */
export function parseTimestamp(text: string): { seconds: number; nanos: number } | { error: string } {
  const m = TIMESTAMP_RE.exec(text);
  if (!m) return { error: `"${text}" is not an RFC 3339 timestamp` };
  const [year, month, day, hour, minute, second] = [m[1], m[2], m[3], m[4], m[5], m[6]].map(Number) as [number, number, number, number, number, number];
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) return { error: `"${text}" is not a valid date-time` };
  const ms = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(ms);
  // Date.UTC maps years 0..99 to 1900..1999 and rolls over day 31 of short months; reject both.
  check.setUTCFullYear(year, month - 1, day);
  if (check.getUTCDate() !== day) return { error: `"${text}" is not a valid date` };
  let seconds = check.getTime() / 1000;
  if (m[9]) {
    const offset = (Number(m[10]) * 60 + Number(m[11])) * 60;
    seconds -= m[9] === '+' ? offset : -offset;
  }
  if (seconds < TIMESTAMP_MIN_SECONDS || seconds > TIMESTAMP_MAX_SECONDS) return { error: `Timestamp "${text}" out of range` };
  return { seconds, nanos: m[7] ? Number(m[7].padEnd(9, '0')) : 0 };
}

/** FieldMask paths ("foo_bar.baz") to the JSON form ("fooBar.baz,qux"). Only "_" before a lowercase
 * letter folds (as protobuf's ToCamelCase does), so "a_9" stays and parse(format(x)) is stable. */
export function formatFieldMask(paths: readonly string[]): string {
  return paths.map((p) => p.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase())).join(',');
}

/** The JSON form of a FieldMask back to its snake_case paths. */
export function parseFieldMask(text: string): string[] {
  if (text === '') return [];
  return text.split(',').map((p) => p.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase()));
}
