import { describe, expect, it } from 'vitest';
import {
  DEFAULT_TIME_RANGE,
  describeTimeRange,
  lookbackMillis,
  resolveTimeRange,
  timeRangeFromQuery,
  timeRangeToQuery,
} from './time-range';

describe('time ranges in the URL', () => {
  it('reads a lookback and writes it back unchanged', () => {
    const range = timeRangeFromQuery(new URLSearchParams('lookback=6h'));
    expect(range).toEqual({ kind: 'lookback', lookback: '6h' });
    expect(timeRangeToQuery(range)).toEqual({ lookback: '6h' });
  });

  it('prefers absolute bounds over a lookback when both are given', () => {
    const range = timeRangeFromQuery(new URLSearchParams('lookback=6h&start=2026-11-21T10:00:00Z&end=2026-11-21T11:00:00Z'));
    expect(range).toEqual({ kind: 'absolute', start: '2026-11-21T10:00:00Z', end: '2026-11-21T11:00:00Z' });
    expect(timeRangeToQuery(range)).toEqual({ start: '2026-11-21T10:00:00Z', end: '2026-11-21T11:00:00Z' });
  });

  it('reads Unix nanoseconds, as the API takes them, and compound Go durations', () => {
    const range = timeRangeFromQuery(new URLSearchParams('start=1763719200000000000&end=1763722800000000000'));
    expect(range).toEqual({ kind: 'absolute', start: '1763719200000000000', end: '1763722800000000000' });
    expect(resolveTimeRange(range, 0)).toEqual({ startMillis: 1763719200000, endMillis: 1763722800000 });
    expect(timeRangeFromQuery(new URLSearchParams('lookback=2h45m'))).toEqual({ kind: 'lookback', lookback: '2h45m' });
    expect(lookbackMillis('2h45m')).toBe(9_900_000);
    expect(lookbackMillis('1500us')).toBe(1.5);
  });

  it('falls back to the default on unreadable values instead of sending them to the API', () => {
    expect(timeRangeFromQuery(new URLSearchParams('lookback=forever'))).toEqual(DEFAULT_TIME_RANGE);
    expect(timeRangeFromQuery(new URLSearchParams('start=yesterday&end=now'))).toEqual(DEFAULT_TIME_RANGE);
    expect(timeRangeFromQuery(new URLSearchParams('start=2026-11-21T10:00:00Z'))).toEqual(DEFAULT_TIME_RANGE);
  });

  it('names quick ranges by their label and other lookbacks by their duration', () => {
    expect(describeTimeRange({ kind: 'lookback', lookback: '1h' })).toBe('Last hour');
    expect(describeTimeRange({ kind: 'lookback', lookback: '90m' })).toBe('Last 90m');
  });

  it('converts lookbacks to milliseconds and resolves them against now', () => {
    expect(lookbackMillis('15m')).toBe(900_000);
    expect(lookbackMillis('1.5h')).toBe(5_400_000);
    expect(lookbackMillis('250ms')).toBe(250);
    expect(lookbackMillis('1d')).toBeNull();
    expect(resolveTimeRange({ kind: 'lookback', lookback: '1h' }, 10_000_000)).toEqual({ startMillis: 6_400_000, endMillis: 10_000_000 });
    expect(
      resolveTimeRange({ kind: 'absolute', start: '1970-01-01T00:00:01Z', end: '1970-01-01T00:00:02Z' }, 0),
    ).toEqual({ startMillis: 1000, endMillis: 2000 });
  });
});
