// google.protobuf.Duration in its JSON form ("1.5s", "0.025s", "-2s") to whole milliseconds.
// Sub-millisecond remainders round up so a 0.5 ms timeout never becomes "no timeout".

const DURATION = /^(-)?(\d+)(?:\.(\d{1,9}))?s$/;

export function durationToMs(value: string): number | undefined {
  const m = DURATION.exec(value);
  if (!m) return undefined;
  const seconds = Number(m[2]);
  const nanos = m[3] ? Number(m[3].padEnd(9, '0')) : 0;
  const ms = seconds * 1000 + Math.ceil(nanos / 1e6);
  return m[1] ? -ms : ms;
}

export function msToDuration(ms: number): string {
  const s = Math.trunc(ms / 1000);
  const rest = Math.abs(ms % 1000);
  return rest === 0 ? `${s}s` : `${s}.${String(rest).padStart(3, '0')}s`;
}
