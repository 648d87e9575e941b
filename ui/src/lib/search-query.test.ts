import { describe, expect, it } from 'vitest';
import type { TraceSummary } from '../api';
import {
  DEFAULT_SORT,
  defaultSearchForm,
  formFromQuery,
  formToApiParams,
  formToQuery,
  formatTimeTick,
  hasConditions,
  hasErrors,
  linearScale,
  logScale,
  niceStep,
  normaliseTraceId,
  parseAttributeFilter,
  parseGoDuration,
  sortTraces,
  startMillis,
  timeTicks,
  validateSearchForm,
} from './search-query';

function urlOf(query: Record<string, string | string[]>): URLSearchParams {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    for (const item of typeof value === 'string' ? [value] : value) search.append(key, item);
  }
  return search;
}

describe('search form ⇄ URL', () => {
  it('an empty URL is the default search: last hour, 20 traces, no conditions', () => {
    const form = formFromQuery(new URLSearchParams(''));
    expect(form).toEqual(defaultSearchForm());
    expect(hasConditions(form)).toBe(false);
    expect(formToApiParams(form)).toEqual({ lookback: '1h', limit: 20 });
  });

  it('reads every field under the API parameter names and writes them back the same', () => {
    const text =
      'service=payment-service&operation=charge&attribute=http.method%3DPOST&attribute=user.tier%3Dgold&businessKey=order-42' +
      '&status=error&minDuration=100ms&maxDuration=1.5s&lookback=6h&limit=50';
    const form = formFromQuery(new URLSearchParams(text));
    expect(form.service).toBe('payment-service');
    expect(form.operation).toBe('charge');
    expect(form.attributes).toEqual([
      { key: 'http.method', value: 'POST' },
      { key: 'user.tier', value: 'gold' },
    ]);
    expect(form.businessKey).toBe('order-42');
    expect(form.status).toBe('error');
    expect(form.minDuration).toBe('100ms');
    expect(form.maxDuration).toBe('1.5s');
    expect(form.timeRange).toEqual({ kind: 'lookback', lookback: '6h' });
    expect(form.limit).toBe('50');
    expect(hasConditions(form)).toBe(true);
    expect(urlOf(formToQuery(form)).toString()).toBe(new URLSearchParams(text).toString());
  });

  it('keeps absolute ranges and API conditions the form has no field for', () => {
    const form = formFromQuery(
      new URLSearchParams('start=2026-11-21T10:00:00.000Z&end=2026-11-21T11:00:00.000Z&rootService=frontend&spanKind=server'),
    );
    expect(form.timeRange).toEqual({ kind: 'absolute', start: '2026-11-21T10:00:00.000Z', end: '2026-11-21T11:00:00.000Z' });
    expect(form.extra).toEqual([
      { name: 'spanKind', value: 'server' },
      { name: 'rootService', value: 'frontend' },
    ]);
    const params = formToApiParams(form);
    expect(params).toMatchObject({ start: '2026-11-21T10:00:00.000Z', end: '2026-11-21T11:00:00.000Z', rootService: 'frontend', spanKind: 'server' });
    expect(params.lookback).toBeUndefined();
  });

  it('drops blank attribute rows and trims values, but keeps "=" inside values', () => {
    const form = defaultSearchForm();
    form.attributes = [
      { key: ' http.url ', value: ' /a?b=c ' },
      { key: '', value: '' },
    ];
    form.service = '  ';
    expect(formToQuery(form)).toEqual({ attribute: ['http.url=/a?b=c'], lookback: '1h', limit: '20' });
    expect(parseAttributeFilter('http.url=/a?b=c')).toEqual({ key: 'http.url', value: '/a?b=c' });
    expect(parseAttributeFilter('flag')).toEqual({ key: 'flag', value: '' });
  });

  it('reads the error=true alias and the attr alias, and ignores an unknown status', () => {
    const form = formFromQuery(new URLSearchParams('error=true&attr=a%3D1'));
    expect(form.status).toBe('error');
    expect(form.attributes).toEqual([{ key: 'a', value: '1' }]);
    expect(formFromQuery(new URLSearchParams('status=broken')).status).toBe('');
  });

  it('passes a non-numeric limit through as text so the server names the problem', () => {
    const form = formFromQuery(new URLSearchParams('limit=lots'));
    expect(formToApiParams(form).limit as unknown).toBe('lots');
    expect(formToApiParams(formFromQuery(new URLSearchParams('limit=7'))).limit).toBe(7);
  });
});

describe('Go durations', () => {
  it('reads what the server reads', () => {
    const nanos = (text: string) => {
      const parsed = parseGoDuration(text);
      return parsed.ok ? parsed.nanos : parsed.error;
    };
    expect(nanos('250ms')).toBe(250_000_000);
    expect(nanos('1.5s')).toBe(1_500_000_000);
    expect(nanos('2h45m')).toBe((2 * 3600 + 45 * 60) * 1e9);
    expect(nanos('300us')).toBe(300_000);
    expect(nanos('300µs')).toBe(300_000);
    expect(nanos('12ns')).toBe(12);
    expect(nanos(' 0 ')).toBe(0);
    expect(nanos('.5s')).toBe(500_000_000);
  });

  it('refuses text, bare numbers, unknown units and signs with a message', () => {
    for (const text of ['abc', '100', '5 sec', '1.2.3s', '-1s', '', '10d', 'ms']) {
      const parsed = parseGoDuration(text);
      expect(parsed.ok, text).toBe(false);
      if (!parsed.ok) expect(parsed.error.length).toBeGreaterThan(5);
    }
    const bare = parseGoDuration('100');
    expect(!bare.ok && bare.error).toMatch(/unit/);
    const unknown = parseGoDuration('10d');
    expect(!unknown.ok && unknown.error).toMatch(/unknown unit "d"/);
  });
});

describe('form validation', () => {
  it('accepts the default form', () => {
    expect(validateSearchForm(defaultSearchForm())).toEqual({});
  });

  it('names each bad field', () => {
    const form = { ...defaultSearchForm(), minDuration: 'abc', limit: '0', attributes: [{ key: '', value: 'POST' }] };
    const errors = validateSearchForm(form);
    expect(hasErrors(errors)).toBe(true);
    expect(errors.minDuration).toMatch(/abc/);
    expect(errors.maxDuration).toBeUndefined();
    expect(errors.limit).toMatch(/1 to 1000/);
    expect(errors.attributes?.[0]).toMatch(/key/);
    expect(validateSearchForm({ ...defaultSearchForm(), attributes: [{ key: 'http.route', value: ' ' }] }).attributes?.[0]).toMatch(/value/);
    expect(validateSearchForm({ ...defaultSearchForm(), attributes: [{ key: '', value: '' }] })).toEqual({});
    expect(validateSearchForm({ ...defaultSearchForm(), limit: '1001' }).limit).toBeDefined();
    expect(validateSearchForm({ ...defaultSearchForm(), limit: '1000' }).limit).toBeUndefined();
  });

  it('refuses a max below the min, comparing durations rather than text', () => {
    expect(validateSearchForm({ ...defaultSearchForm(), minDuration: '2s', maxDuration: '500ms' }).maxDuration).toMatch(/smaller/);
    expect(validateSearchForm({ ...defaultSearchForm(), minDuration: '900ms', maxDuration: '1s' })).toEqual({});
  });
});

describe('trace ID lookup', () => {
  it('normalises full and short hex IDs and refuses anything else', () => {
    expect(normaliseTraceId(' 4BF92F3577B34DA6A3CE929D0E0E4736 ')).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(normaliseTraceId('a3ce929d0e0e4736')).toBe('0000000000000000a3ce929d0e0e4736');
    expect(normaliseTraceId('0xabc')).toBe('00000000000000000000000000000abc');
    expect(normaliseTraceId('payment-service')).toBeNull();
    expect(normaliseTraceId('')).toBeNull();
    expect(normaliseTraceId('1'.repeat(33))).toBeNull();
  });
});

function summary(traceId: string, startMillisValue: number, durationMillis: number, spanCount = 5, errorCount = 0): TraceSummary {
  return {
    traceId,
    rootServiceName: 'frontend',
    rootSpanName: 'GET /',
    rootSpanFound: true,
    startTimeUnixNano: `${BigInt(startMillisValue) * 1_000_000n}`,
    durationNanos: durationMillis * 1e6,
    spanCount,
    errorCount,
    services: [],
  };
}

describe('sorting results', () => {
  const traces = [
    summary('a', 1_000, 30, 4, 0),
    summary('b', 3_000, 10, 9, 2),
    summary('c', 2_000, 20, 9, 1),
    summary('d', 4_000, 20, 1, 0),
  ];
  const ids = (list: TraceSummary[]) => list.map((trace) => trace.traceId).join('');

  it('defaults to newest first and reads start times beyond 2^53 nanoseconds exactly', () => {
    expect(ids(sortTraces(traces, DEFAULT_SORT))).toBe('dbca');
    const close = [
      { ...summary('x', 0, 1), startTimeUnixNano: '1763700000000000001' },
      { ...summary('y', 0, 1), startTimeUnixNano: '1763700000000000002' },
    ];
    expect(ids(sortTraces(close, DEFAULT_SORT))).toBe('yx');
    expect(startMillis(close[0]!)).toBe(1_763_700_000_000);
  });

  it('sorts by duration, spans and errors both ways, ties newest first', () => {
    expect(ids(sortTraces(traces, { key: 'duration', direction: 'desc' }))).toBe('adcb');
    expect(ids(sortTraces(traces, { key: 'duration', direction: 'asc' }))).toBe('bdca');
    expect(ids(sortTraces(traces, { key: 'spans', direction: 'desc' }))).toBe('bcad');
    expect(ids(sortTraces(traces, { key: 'errors', direction: 'desc' }))).toBe('bcda');
  });

  it('leaves the input untouched', () => {
    const copy = [...traces];
    sortTraces(traces, { key: 'duration', direction: 'asc' });
    expect(traces).toEqual(copy);
  });

});

describe('scatter plot scales', () => {
  it('picks 1-2-5 steps', () => {
    expect(niceStep(0.7)).toBe(1);
    expect(niceStep(1.3)).toBe(2);
    expect(niceStep(3)).toBe(5);
    expect(niceStep(7)).toBe(10);
    expect(niceStep(240_000_000)).toBe(500_000_000);
  });

  it('a linear axis starts at 0, covers the maximum and has round ticks', () => {
    const scale = linearScale(1_234_000_000, 5);
    expect(scale.ticks[0]).toBe(0);
    expect(scale.max).toBeGreaterThanOrEqual(1_234_000_000);
    expect(scale.ticks).toEqual([0, 500_000_000, 1_000_000_000, 1_500_000_000]);
    expect(linearScale(0).max).toBeGreaterThan(0);
  });

  it('a log axis spans whole decades and adds 2× and 5× ticks when it is short', () => {
    const wide = logScale(2_000_000, 3_000_000_000);
    expect(wide.min).toBe(1_000_000);
    expect(wide.max).toBe(10_000_000_000);
    expect(wide.ticks).toEqual([1e6, 1e7, 1e8, 1e9, 1e10]);
    const narrow = logScale(3e6, 8e6);
    expect(narrow.min).toBe(1e6);
    expect(narrow.max).toBe(1e7);
    expect(narrow.ticks).toEqual([1e6, 2e6, 5e6, 1e7]);
    expect(logScale(0, 0).min).toBe(1);
  });

  it('time ticks fall on round local times inside the range', () => {
    const start = Date.UTC(2026, 10, 21, 10, 3, 0);
    const end = Date.UTC(2026, 10, 21, 11, 3, 0);
    const axis = timeTicks(start, end, 4, 0);
    expect(axis.step).toBe(900_000);
    expect(axis.ticks.map((tick) => new Date(tick).toISOString().slice(11, 16))).toEqual(['10:15', '10:30', '10:45', '11:00']);
    // In a zone 30 minutes off the hour, hour ticks fall on its local hours.
    const hours = timeTicks(start, start + 6 * 3_600_000, 6, 330);
    expect(hours.step).toBe(3_600_000);
    expect(hours.ticks.every((tick) => ((tick + 330 * 60_000) % 3_600_000) === 0)).toBe(true);
    expect(hours.ticks.every((tick) => tick >= start && tick <= start + 6 * 3_600_000)).toBe(true);
  });

  it('labels ticks as precisely as their step needs', () => {
    const millis = new Date(2026, 10, 21, 14, 5, 30, 250).getTime();
    expect(formatTimeTick(millis, 200)).toBe('14:05:30.250');
    expect(formatTimeTick(millis, 5_000)).toBe('14:05:30');
    expect(formatTimeTick(millis, 600_000)).toBe('14:05');
    expect(formatTimeTick(millis, 86_400_000)).toBe('Nov 21');
  });
});
