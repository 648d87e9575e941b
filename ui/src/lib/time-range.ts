// Time ranges as the URL and the API carry them: a lookback from now (`lookback=1h`) or absolute
// bounds (`start`/`end` as RFC 3339). Pure, so it is unit-tested.

export interface QuickRange {
  lookback: string;
  label: string;
}

export const QUICK_RANGES: readonly QuickRange[] = [
  { lookback: '5m', label: 'Last 5 minutes' },
  { lookback: '15m', label: 'Last 15 minutes' },
  { lookback: '1h', label: 'Last hour' },
  { lookback: '6h', label: 'Last 6 hours' },
  { lookback: '24h', label: 'Last 24 hours' },
  { lookback: '48h', label: 'Last 2 days' },
  { lookback: '168h', label: 'Last 7 days' },
];

export type TimeRange = { kind: 'lookback'; lookback: string } | { kind: 'absolute'; start: string; end: string };

export const DEFAULT_TIME_RANGE: TimeRange = { kind: 'lookback', lookback: '1h' };

/** The range a URL's query names; absent or unreadable values fall back to `fallback`. */
export function timeRangeFromQuery(search: URLSearchParams, fallback: TimeRange = DEFAULT_TIME_RANGE): TimeRange {
  const start = search.get('start');
  const end = search.get('end');
  if (start && end && !Number.isNaN(Date.parse(start)) && !Number.isNaN(Date.parse(end))) {
    return { kind: 'absolute', start, end };
  }
  const lookback = search.get('lookback');
  if (lookback && /^\d+(\.\d+)?(ms|s|m|h)$/.test(lookback)) {
    return { kind: 'lookback', lookback };
  }
  return fallback;
}

/** The query parameters of a range, for the URL and the API alike. */
export function timeRangeToQuery(range: TimeRange): { lookback?: string; start?: string; end?: string } {
  return range.kind === 'lookback' ? { lookback: range.lookback } : { start: range.start, end: range.end };
}

/** A short human label for a range. */
export function describeTimeRange(range: TimeRange): string {
  if (range.kind === 'lookback') {
    return QUICK_RANGES.find((quick) => quick.lookback === range.lookback)?.label ?? `Last ${range.lookback}`;
  }
  return `${formatLocalDateTime(Date.parse(range.start))} → ${formatLocalDateTime(Date.parse(range.end))}`;
}

/** Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS` in local time. */
export function formatLocalDateTime(millis: number): string {
  const date = new Date(millis);
  const two = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${two(date.getMonth() + 1)}-${two(date.getDate())} ${two(date.getHours())}:${two(date.getMinutes())}:${two(date.getSeconds())}`;
}

/** The value a `<input type="datetime-local">` shows for a time, in local time. */
export function toDateTimeLocalValue(millis: number): string {
  return formatLocalDateTime(millis).replace(' ', 'T');
}

/** The lookback duration of a quick range in milliseconds, for charts' x-axis bounds. */
export function lookbackMillis(lookback: string): number | null {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(lookback);
  if (!match) return null;
  const value = Number(match[1]);
  const unit = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[match[2] as 'ms' | 's' | 'm' | 'h'];
  return value * unit;
}

/** The absolute bounds of a range at `nowMillis`, in milliseconds. */
export function resolveTimeRange(range: TimeRange, nowMillis: number): { startMillis: number; endMillis: number } {
  if (range.kind === 'absolute') {
    return { startMillis: Date.parse(range.start), endMillis: Date.parse(range.end) };
  }
  return { startMillis: nowMillis - (lookbackMillis(range.lookback) ?? 3_600_000), endMillis: nowMillis };
}
