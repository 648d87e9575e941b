// Time ranges as the URL and the API carry them: a lookback from now (`lookback=1h`) or absolute
// bounds (`start`/`end` as RFC 3339). Pure, so it is unit-tested.
import { formatLocalDateTime } from './format';
import { parseGoDuration } from './go-duration';

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


/**
 * A time as the API takes it — Unix nanoseconds (digits) or RFC 3339 — in milliseconds since
 * the epoch; null when it is neither.
 */
export function parseTimeParameter(text: string): number | null {
  if (/^\d{1,20}$/.test(text)) return Number(BigInt(text) / 1_000_000n);
  const millis = Date.parse(text);
  return Number.isNaN(millis) ? null : millis;
}

/** The range a URL's query names; absent or unreadable values fall back to `fallback`. */
export function timeRangeFromQuery(search: URLSearchParams, fallback: TimeRange = DEFAULT_TIME_RANGE): TimeRange {
  const start = search.get('start');
  const end = search.get('end');
  if (start && end && parseTimeParameter(start) !== null && parseTimeParameter(end) !== null) {
    return { kind: 'absolute', start, end };
  }
  const lookback = search.get('lookback');
  if (lookback && lookbackMillis(lookback) !== null) {
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
  return `${formatLocalDateTime(parseTimeParameter(range.start) ?? Number.NaN)} → ${formatLocalDateTime(parseTimeParameter(range.end) ?? Number.NaN)}`;
}

/** The value a `<input type="datetime-local">` shows for a time, in local time. */
export function toDateTimeLocalValue(millis: number): string {
  return formatLocalDateTime(millis).replace(' ', 'T');
}

/** A Go duration (`15m`, `2h45m`, `250ms`) in milliseconds; null when it is not one. */
export function lookbackMillis(lookback: string): number | null {
  const parsed = parseGoDuration(lookback);
  return parsed.ok && parsed.nanos > 0 ? parsed.nanos / 1e6 : null;
}

/** The absolute bounds of a range at `nowMillis`, in milliseconds. */
export function resolveTimeRange(range: TimeRange, nowMillis: number): { startMillis: number; endMillis: number } {
  if (range.kind === 'absolute') {
    return { startMillis: parseTimeParameter(range.start) ?? Number.NaN, endMillis: parseTimeParameter(range.end) ?? Number.NaN };
  }
  return { startMillis: nowMillis - (lookbackMillis(range.lookback) ?? 3_600_000), endMillis: nowMillis };
}
