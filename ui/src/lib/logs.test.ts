import { describe, expect, it } from 'vitest';
import type { LogRecord } from '../api';
import {
  DEFAULT_LOG_LIMIT,
  attributeEntries,
  attributeValueToText,
  countBySeverity,
  defaultLogSearchForm,
  describeLogSearch,
  formatLogTimestamp,
  formatOffset,
  formatUnixNanoPrecise,
  groupLogsBySpan,
  hasLogErrors,
  isAtLeast,
  linkableTraceId,
  logFormFromQuery,
  logFormToApiParams,
  logFormToQuery,
  logOffsetNanos,
  logTimeMillis,
  logTimeUnixNano,
  logsBySpanId,
  normaliseSpanId,
  severityClass,
  severityFromNumber,
  severityFromText,
  severityLabel,
  severityLevel,
  severityRank,
  severitySummary,
  sortLogs,
  truncateText,
  validateLogSearchForm,
  worstSeverity,
} from './logs';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';

function record(overrides: Partial<LogRecord> = {}): LogRecord {
  return {
    timeUnixNano: '1763781234567000000',
    observedTimeUnixNano: '1763781234568000000',
    traceId: TRACE_ID,
    spanId: '00f067aa0ba902b7',
    severityNumber: 9,
    severityText: 'INFO',
    severity: 'INFO',
    serviceName: 'checkout',
    body: 'order placed',
    attributes: {},
    resource: { 'service.name': 'checkout' },
    scope: { name: 'checkout.orders', version: '1.0.0' },
    eventName: '',
    ...overrides,
  };
}

describe('severities', () => {
  it('maps OpenTelemetry severity numbers to levels in blocks of four', () => {
    expect([1, 4, 5, 8, 9, 12, 13, 16, 17, 20, 21, 24].map(severityFromNumber)).toEqual([
      'trace', 'trace', 'debug', 'debug', 'info', 'info', 'warn', 'warn', 'error', 'error', 'fatal', 'fatal',
    ]);
    expect(severityFromNumber(0)).toBeNull();
    expect(severityFromNumber(25)).toBeNull();
    expect(severityFromNumber(-3)).toBeNull();
    expect(severityFromNumber(9.5)).toBeNull();
    expect(severityFromNumber(undefined)).toBeNull();
  });

  it('reads the names loggers use, whatever their case, with OpenTelemetry digit suffixes', () => {
    expect(severityFromText('WARNING')).toBe('warn');
    expect(severityFromText('Error')).toBe('error');
    expect(severityFromText('ERROR3')).toBe('error');
    expect(severityFromText(' crit ')).toBe('fatal');
    expect(severityFromText('notice')).toBe('info');
    expect(severityFromText('verbose-ish')).toBeNull();
    expect(severityFromText('')).toBeNull();
    expect(severityFromText(null)).toBeNull();
  });

  it('lets the number decide, then the text, as the server filters by level', () => {
    expect(severityLevel(record({ severityNumber: 17, severityText: 'oops', severity: 'oops' }))).toBe('error');
    expect(severityLevel(record({ severityNumber: 0, severityText: 'Warning', severity: 'Warning' }))).toBe('warn');
    expect(severityLevel(record({ severityNumber: 0, severityText: '', severity: 'FATAL' }))).toBe('fatal');
    expect(severityLevel(record({ severityNumber: 0, severityText: '', severity: '' }))).toBe('unspecified');
  });

  it('ranks, classes and labels levels', () => {
    expect(['unspecified', 'trace', 'debug', 'info', 'warn', 'error', 'fatal'].map((level) => severityRank(level as never))).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect(severityClass('warn')).toBe('severity-warn');
    expect(severityLabel(record({ severityNumber: 13, severityText: 'WARN', severity: 'WARN' }))).toBe('WARN');
    expect(severityLabel(record({ severityNumber: 18, severityText: '', severity: '' }))).toBe('ERROR');
    expect(severityLabel(record({ severityNumber: 0, severityText: '', severity: '' }))).toBe('UNSET');
  });

  it('keeps a minimum level and worse', () => {
    const error = record({ severityNumber: 17 });
    const info = record({ severityNumber: 9 });
    const fatal = record({ severityNumber: 21 });
    expect([error, info, fatal].filter((entry) => isAtLeast(entry, 'error'))).toEqual([error, fatal]);
    expect(isAtLeast(info, '')).toBe(true);
  });

  it('counts records per level and summarises the present levels worst first', () => {
    const logs = [record({ severityNumber: 9 }), record({ severityNumber: 17 }), record({ severityNumber: 10 }), record({ severityNumber: 0, severity: '', severityText: '' })];
    expect(countBySeverity(logs)).toEqual({ unspecified: 1, trace: 0, debug: 0, info: 2, warn: 0, error: 1, fatal: 0 });
    expect(severitySummary(logs)).toEqual([
      { level: 'error', count: 1 },
      { level: 'info', count: 2 },
      { level: 'unspecified', count: 1 },
    ]);
    expect(worstSeverity(logs)).toBe('error');
    expect(worstSeverity([])).toBeNull();
  });
});

describe('times', () => {
  it('uses the observed time when the record has none', () => {
    expect(logTimeUnixNano(record())).toBe(1763781234567000000n);
    expect(logTimeUnixNano(record({ timeUnixNano: '0' }))).toBe(1763781234568000000n);
    expect(logTimeUnixNano(record({ timeUnixNano: '0', observedTimeUnixNano: '0' }))).toBeNull();
    expect(logTimeUnixNano(record({ timeUnixNano: 'soon', observedTimeUnixNano: '' }))).toBeNull();
    expect(logTimeMillis(record())).toBe(1763781234567);
    expect(logTimeMillis(record({ timeUnixNano: '0', observedTimeUnixNano: '0' }))).toBeNaN();
  });

  it('measures the offset from the trace start exactly, beyond 2^53 nanoseconds', () => {
    const start = 1763781234554700000n;
    expect(logOffsetNanos(record(), start)).toBe(12_300_000);
    expect(formatOffset(logOffsetNanos(record(), start))).toBe('+12.3 ms');
    expect(formatOffset(logOffsetNanos(record({ timeUnixNano: '1763781234554699200' }), start))).toBe('-800 ns');
    expect(formatOffset(0)).toBe('+0 ns');
    expect(formatOffset(null)).toBe('\u2014');
    expect(logOffsetNanos(record({ timeUnixNano: '0', observedTimeUnixNano: '0' }), start)).toBeNull();
  });

  it('formats times to the microsecond and for table columns', () => {
    const local = new Date(2025, 10, 22, 3, 13, 54, 567).getTime();
    const nanos = BigInt(local) * 1_000_000n + 890_123n;
    expect(formatUnixNanoPrecise(nanos)).toBe('2025-11-22 03:13:54.567890');
    expect(formatUnixNanoPrecise(null)).toBe('\u2014');
    const entry = record({ timeUnixNano: String(nanos) });
    expect(formatLogTimestamp(entry, new Date(2025, 10, 22, 12).getTime())).toBe('03:13:54.567');
    expect(formatLogTimestamp(entry, new Date(2025, 10, 23, 12).getTime())).toBe('2025-11-22 03:13:54.567');
    expect(formatLogTimestamp(record({ timeUnixNano: '0', observedTimeUnixNano: '0' }), 0)).toBe('\u2014');
  });

  it('sorts by time either way, keeping the server order for ties and untimed records last', () => {
    const a = record({ body: 'a', timeUnixNano: '300' });
    const b = record({ body: 'b', timeUnixNano: '100' });
    const c = record({ body: 'c', timeUnixNano: '300' });
    const untimed = record({ body: 'untimed', timeUnixNano: '0', observedTimeUnixNano: '0' });
    expect(sortLogs([a, untimed, b, c]).map((entry) => entry.body)).toEqual(['b', 'a', 'c', 'untimed']);
    expect(sortLogs([a, untimed, b, c], 'newest').map((entry) => entry.body)).toEqual(['a', 'c', 'b', 'untimed']);
  });
});

describe('logs by span', () => {
  const root = record({ body: 'root info', spanId: 'AAAA000000000001', timeUnixNano: '100' });
  const childLate = record({ body: 'child error', spanId: 'aaaa000000000002', timeUnixNano: '400', severityNumber: 17 });
  const childEarly = record({ body: 'child info', spanId: 'aaaa000000000002', timeUnixNano: '200' });
  const stray = record({ body: 'other span', spanId: 'bbbb000000000009', timeUnixNano: '50' });
  const noSpan = record({ body: 'no span', spanId: null, timeUnixNano: '10' });
  const zeroSpan = record({ body: 'zero span', spanId: '0000000000000000', timeUnixNano: '20' });

  it('normalises span IDs; empty and all-zero IDs are no span', () => {
    expect(normaliseSpanId('00F067AA0BA902B7')).toBe('00f067aa0ba902b7');
    expect(normaliseSpanId('')).toBeNull();
    expect(normaliseSpanId('0000000000000000')).toBeNull();
    expect(normaliseSpanId(null)).toBeNull();
  });

  it('lists each span’s records oldest first by lower-case span ID', () => {
    const bySpan = logsBySpanId([childLate, root, noSpan, childEarly]);
    expect([...bySpan.keys()]).toEqual(['aaaa000000000001', 'aaaa000000000002']);
    expect(bySpan.get('aaaa000000000002')!.map((entry) => entry.body)).toEqual(['child info', 'child error']);
  });

  it('groups in the waterfall’s order, unknown spans by time, records without a span last', () => {
    const order = new Map([
      ['aaaa000000000001', 0],
      ['aaaa000000000002', 1],
    ]);
    const groups = groupLogsBySpan([childLate, zeroSpan, stray, root, noSpan, childEarly], (spanId) => order.get(spanId));
    expect(groups.map((group) => [group.spanId, group.logs.map((entry) => entry.body)])).toEqual([
      ['aaaa000000000001', ['root info']],
      ['aaaa000000000002', ['child info', 'child error']],
      ['bbbb000000000009', ['other span']],
      [null, ['no span', 'zero span']],
    ]);
  });

  it('orders groups by their first record without a span order', () => {
    const groups = groupLogsBySpan([childLate, root, childEarly]);
    expect(groups.map((group) => group.spanId)).toEqual(['aaaa000000000001', 'aaaa000000000002']);
    expect(groupLogsBySpan([])).toEqual([]);
  });
});

describe('attribute values as text', () => {
  it('writes strings bare and everything else as compact JSON', () => {
    expect(attributeValueToText('CardExpired')).toBe('CardExpired');
    expect(attributeValueToText(42)).toBe('42');
    expect(attributeValueToText(1.5)).toBe('1.5');
    expect(attributeValueToText(false)).toBe('false');
    expect(attributeValueToText(null)).toBe('null');
    expect(attributeValueToText(undefined)).toBe('');
    expect(attributeValueToText(['a', 1, true])).toBe('["a",1,true]');
    expect(attributeValueToText({ nested: { deep: [1, 2] } })).toBe('{"nested":{"deep":[1,2]}}');
    expect(attributeValueToText(12n)).toBe('12');
  });

  it('never throws on values JSON cannot write', () => {
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(attributeValueToText(loop)).toBe('[object Object]');
    expect(attributeValueToText('<script>alert(1)</script>')).toBe('<script>alert(1)</script>');
  });

  it('sorts entries by key, marks long ones and takes anything but an object as none', () => {
    expect(attributeEntries({ 'z.key': 'z', 'a.key': { x: 1 }, long: 'x'.repeat(121), lines: 'one\ntwo' })).toEqual([
      { key: 'a.key', text: '{"x":1}', long: false },
      { key: 'lines', text: 'one\ntwo', long: true },
      { key: 'long', text: 'x'.repeat(121), long: true },
      { key: 'z.key', text: 'z', long: false },
    ]);
    expect(attributeEntries(null)).toEqual([]);
    expect(attributeEntries(['a'])).toEqual([]);
    expect(attributeEntries('text')).toEqual([]);
  });

  it('truncates long text with an ellipsis', () => {
    expect(truncateText('short', 10)).toEqual({ text: 'short', truncated: false });
    expect(truncateText('0123456789abc', 10)).toEqual({ text: '012345678\u2026', truncated: true });
  });
});

describe('the Logs page’s form in the URL', () => {
  it('takes the defaults from an empty query: the last hour, 100 records', () => {
    const form = logFormFromQuery(new URLSearchParams(''));
    expect(form).toEqual(defaultLogSearchForm());
    expect(logFormToQuery(form)).toEqual({ lookback: '1h', limit: String(DEFAULT_LOG_LIMIT) });
    expect(validateLogSearchForm(form)).toEqual({});
  });

  it('round-trips every field through the URL', () => {
    const query = 'service=checkout&q=payment+declined&severity=warn&traceId=4BF92F&lookback=6h&limit=50&tier=cold';
    const form = logFormFromQuery(new URLSearchParams(query));
    expect(form).toEqual({
      service: 'checkout',
      q: 'payment declined',
      severity: 'warn',
      traceId: '4BF92F',
      lookback: '6h',
      start: '',
      end: '',
      limit: '50',
      tier: 'cold',
    });
    expect(new URLSearchParams(logFormToQuery(form)).toString()).toBe(query);
    expect(logFormFromQuery(new URLSearchParams(logFormToQuery(form)))).toEqual(form);
  });

  it('prefers absolute bounds in nanoseconds over a lookback, and ignores half a range', () => {
    const form = logFormFromQuery(new URLSearchParams('start=1763781000000000000&end=1763784600000000000&lookback=6h'));
    expect(form.start).toBe('1763781000000000000');
    expect(form.lookback).toBe('');
    expect(logFormToQuery(form)).toEqual({ start: '1763781000000000000', end: '1763784600000000000', limit: '100' });
    expect(validateLogSearchForm(form)).toEqual({});
    const half = logFormFromQuery(new URLSearchParams('start=1763781000000000000'));
    expect(half.start).toBe('');
    expect(half.lookback).toBe('1h');
  });

  it('builds the API request: a number limit, a canonical trace ID, blank fields left out', () => {
    const form = { ...defaultLogSearchForm(), service: ' checkout ', q: '  ', traceId: '0x4BF92F', severity: 'error', limit: '25' };
    expect(logFormToApiParams(form)).toEqual({
      service: 'checkout',
      traceId: '000000000000000000000000004bf92f',
      severity: 'error',
      lookback: '1h',
      limit: 25,
    });
    // Text the form cannot check is sent as typed, so the server's message names it.
    expect(logFormToApiParams({ ...defaultLogSearchForm(), limit: 'lots' }).limit).toBe('lots');
  });

  it('says what is wrong, field by field', () => {
    const errors = validateLogSearchForm({ ...defaultLogSearchForm(), lookback: 'forever', limit: '0', traceId: 'xyz', severity: 'loud' });
    expect(Object.keys(errors).sort()).toEqual(['limit', 'lookback', 'severity', 'traceId']);
    expect(errors.limit).toMatch(/1 to 1000/);
    expect(errors.severity).toMatch(/"loud" is not a severity/);
    expect(hasLogErrors(errors)).toBe(true);
    expect(validateLogSearchForm({ ...defaultLogSearchForm(), limit: '1001' }).limit).toBeDefined();
    expect(validateLogSearchForm({ ...defaultLogSearchForm(), lookback: '0' }).lookback).toBeDefined();
  });

  it('keeps a severity it does not know (the server names it) and lower-cases the known ones', () => {
    expect(logFormFromQuery(new URLSearchParams('severity=ERROR')).severity).toBe('error');
    expect(logFormFromQuery(new URLSearchParams('severity=loud')).severity).toBe('loud');
  });

  it('describes a search in one line', () => {
    expect(describeLogSearch(logFormFromQuery(new URLSearchParams('service=checkout&severity=warn&q=declined')))).toBe(
      'Last hour \u00b7 checkout \u00b7 warn or worse \u00b7 \u201cdeclined\u201d',
    );
    expect(describeLogSearch(logFormFromQuery(new URLSearchParams('lookback=90m&severity=fatal')))).toBe('Last 90m \u00b7 fatal only');
  });
});

describe('trace links', () => {
  it('links records with a real trace ID only', () => {
    expect(linkableTraceId(record())).toBe(TRACE_ID);
    expect(linkableTraceId(record({ traceId: TRACE_ID.toUpperCase() }))).toBe(TRACE_ID);
    expect(linkableTraceId(record({ traceId: null }))).toBeNull();
    expect(linkableTraceId(record({ traceId: '' }))).toBeNull();
    expect(linkableTraceId(record({ traceId: '0'.repeat(32) }))).toBeNull();
    expect(linkableTraceId(record({ traceId: 'not-hex' }))).toBeNull();
  });
});
