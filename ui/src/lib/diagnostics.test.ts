import { describe, expect, it } from 'vitest';
import type { AssemblerStatus, InterruptionReport, StatementRow } from '../api';
import {
  FINDING_KINDS,
  analysisState,
  describeAssembler,
  describeCompletion,
  describeFindingKind,
  describeFindingValue,
  describeHitRate,
  describeHotKeyCount,
  describeStatementTarget,
  findingLabels,
  findingSpans,
  formatBytes,
  formatNanos,
  formatShare,
  formatTimeout,
  formatUnixNanos,
  groupByKind,
  highlightedSpanIds,
  interruptionChart,
  interruptionHeadline,
  interruptionLevel,
  isFindingKind,
  kindFromQuery,
  shortTraceId,
  statementMatches,
  summariseFindings,
  topEndpoints,
  totalNanos,
  traceHref,
} from './diagnostics';

function assembler(overrides: Partial<AssemblerStatus> = {}): AssemblerStatus {
  return {
    openTraces: 3,
    openSpans: 40,
    tracesAnalyzed: 1200,
    lateSpans: 0,
    droppedSpans: 0,
    evictedTraces: 0,
    cutTraces: 0,
    replayedSpansSkipped: 0,
    inactivityTimeoutSeconds: 30,
    maxOpenTraces: 100_000,
    maxOpenSpans: 1_000_000,
    maxSpansPerTrace: 5000,
    ...overrides,
  };
}

function statement(overrides: Partial<StatementRow> = {}): StatementRow {
  return {
    service: 'inventory-service',
    system: 'mysql',
    database: 'inventory',
    tables: ['stock'],
    operation: 'SELECT',
    fingerprint: 'SELECT quantity FROM stock WHERE sku = ?',
    calls: 100,
    errors: 1,
    slow_calls: 2,
    latency: { mean_nanos: 2_000_000, p50_nanos: 1_000_000, p90_nanos: 3_000_000, p99_nanos: 9_000_000, max_nanos: 20_000_000 },
    endpoints: [],
    slowest: [],
    ...overrides,
  };
}

/** Unix nanoseconds of a local date and time. */
function localNanos(...parts: [number, number, number, number, number, number]): number {
  return new Date(...parts).getTime() * 1e6;
}

describe('finding kinds', () => {
  it('knows the five kinds in the server order', () => {
    expect(FINDING_KINDS.map((info) => info.kind)).toEqual(['broken_trace', 'bottleneck', 'repeated_calls', 'timeout_misconfiguration', 'cycle']);
    expect(isFindingKind('repeated_calls')).toBe(true);
    expect(isFindingKind('nonsense')).toBe(false);
    expect(isFindingKind('toString')).toBe(false);
  });

  it('describes a kind with the server title when there is one', () => {
    expect(describeFindingKind('repeated_calls')).toMatchObject({ label: 'repeated calls', tone: 'warning' });
    expect(describeFindingKind('broken_trace')).toMatchObject({ label: 'broken trace', tone: 'error' });
    expect(describeFindingKind('cycle', 'call cycle').label).toBe('call cycle');
    expect(describeFindingKind('bottleneck', '  ').label).toBe('bottleneck');
    expect(describeFindingKind('bottleneck').description).not.toBe('');
  });

  it('shows a kind it does not know as sent, muted', () => {
    expect(describeFindingKind('slow_start')).toMatchObject({ label: 'slow start', tone: 'muted' });
    expect(describeFindingKind('slow_start', 'slow start-up').label).toBe('slow start-up');
    expect(describeFindingKind('constructor').tone).toBe('muted');
  });

  it.each([
    ['repeated_calls', 8, '8 calls'],
    ['repeated_calls', 1, '1 call'],
    ['repeated_calls', 1234, '1,234 calls'],
    ['bottleneck', 620, '62 % self time'],
    ['bottleneck', 625, '62.5 % self time'],
    ['bottleneck', 1000, '100 % self time'],
    ['timeout_misconfiguration', 3_000_000_000, 'timeout 3 s'],
    ['timeout_misconfiguration', 250_000_000, 'timeout 250 ms'],
    ['cycle', 2, 'cycle of 2 services'],
    ['broken_trace', 1, '1 missing parent'],
    ['broken_trace', 4, '4 missing parents'],
    ['something_new', 42, '42'],
  ])('describes %s with value %d as "%s"', (kind, value, expected) => {
    expect(describeFindingValue(kind, value)).toBe(expected);
  });

  it('shows a dash for a value that is not a number', () => {
    expect(describeFindingValue('repeated_calls', Number.NaN)).toBe('\u2014');
  });

  it('reads the kind filter from the URL, passing unknown kinds on', () => {
    expect(kindFromQuery(new URLSearchParams(''))).toBe('');
    expect(kindFromQuery(new URLSearchParams('kind=bottleneck'))).toBe('bottleneck');
    expect(kindFromQuery(new URLSearchParams('kind=nonsense'))).toBe('nonsense');
  });

  it('groups by kind in kind order, unknown kinds last, rows in their order', () => {
    const groups = groupByKind([
      { kind: 'repeated_calls', id: 1 },
      { kind: 'mystery', id: 2 },
      { kind: 'broken_trace', id: 3 },
      { kind: 'repeated_calls', id: 4 },
    ]);
    expect(groups.map((group) => [group.kind, group.rows.map((row) => row.id)])).toEqual([
      ['broken_trace', [3]],
      ['repeated_calls', [1, 4]],
      ['mystery', [2]],
    ]);
    expect(groupByKind([])).toEqual([]);
  });

  it('summarises a trace diagnosis', () => {
    expect(summariseFindings([])).toBe('No findings');
    expect(summariseFindings([{ kind: 'repeated_calls', title: 'repeated calls' }])).toBe('1 finding: repeated calls');
    expect(
      summariseFindings([
        { kind: 'repeated_calls', title: 'repeated calls' },
        { kind: 'bottleneck', title: 'bottleneck' },
        { kind: 'repeated_calls', title: 'repeated calls' },
      ]),
    ).toBe('3 findings: bottleneck, repeated calls');
    expect(findingLabels([{ kind: 'cycle', title: 'call cycle' }, { kind: 'broken_trace', title: '' }])).toEqual(['broken trace', 'call cycle']);
    expect(findingLabels([])).toEqual([]);
  });
});

describe('spans of findings', () => {
  const findings = [{ spanIds: ['AAAA000000000001', 'aaaa000000000002'] }, { spanIds: ['aaaa000000000002', 'aaaa000000000002'] }, { spanIds: [] }];

  it('splits a finding’s spans into those in the trace and those not, lower-cased, each once', () => {
    const inTrace = new Set(['aaaa000000000001']);
    expect(findingSpans(['AAAA000000000001', 'bbbb000000000009', 'aaaa000000000001'], (id) => inTrace.has(id))).toEqual({
      present: ['aaaa000000000001'],
      missing: ['bbbb000000000009'],
    });
    expect(findingSpans([], () => true)).toEqual({ present: [], missing: [] });
  });

  it('collects the spans of the chosen findings', () => {
    expect([...highlightedSpanIds(findings, [0])].sort()).toEqual(['aaaa000000000001', 'aaaa000000000002']);
    expect([...highlightedSpanIds(findings, [1, 2, 7])]).toEqual(['aaaa000000000002']);
    expect(highlightedSpanIds(findings, []).size).toBe(0);
    expect([...highlightedSpanIds(findings, [0], (id) => id.endsWith('2'))]).toEqual(['aaaa000000000002']);
  });
});

describe('formatting', () => {
  it.each([
    [0.025, '2.5 %'],
    [0.8, '80 %'],
    [0, '0 %'],
    [1, '100 %'],
    [0.123456, '12.3 %'],
    [0.00001, '< 0.01 %'],
    [0.0001, '0.01 %'],
  ])('formats the share %d as %s', (share, expected) => {
    expect(formatShare(share)).toBe(expected);
  });

  it('shows a dash for what is not a share', () => {
    for (const share of [null, undefined, Number.NaN, -0.5]) expect(formatShare(share)).toBe('\u2014');
  });

  it('grades interruption rates', () => {
    expect(interruptionLevel(0)).toBe('ok');
    expect(interruptionLevel(0.009)).toBe('ok');
    expect(interruptionLevel(0.01)).toBe('warning');
    expect(interruptionLevel(0.05)).toBe('error');
    expect(interruptionLevel(null)).toBe('ok');
  });

  it('describes hit rates with their counts', () => {
    expect(describeHitRate({ hit_rate: 0.8, hits: 400, misses: 100 })).toEqual({ text: '80 %', title: '400 hits, 100 misses' });
    expect(describeHitRate({ hit_rate: 1, hits: 1, misses: 0 })).toEqual({ text: '100 %', title: '1 hit, 0 misses' });
    expect(describeHitRate({ hit_rate: null, hits: 0, misses: 0 }).text).toBe('\u2014');
  });

  it.each([
    [0, '0 B'],
    [512, '512 B'],
    [1024, '1 KiB'],
    [1536, '1.5 KiB'],
    [4_000_000, '3.81 MiB'],
    [5 * 1024 ** 3, '5 GiB'],
  ])('formats %d bytes as %s', (bytes, expected) => {
    expect(formatBytes(bytes)).toBe(expected);
  });

  it('shows a dash for a size that is not one', () => {
    expect(formatBytes(-1)).toBe('\u2014');
    expect(formatBytes(null)).toBe('\u2014');
  });

  it('formats nanosecond timestamps in local time, the date only on another day', () => {
    const now = new Date(2026, 8, 21, 18, 0, 0).getTime();
    expect(formatUnixNanos(localNanos(2026, 8, 21, 14, 5, 30), now)).toBe('14:05:30.000');
    expect(formatUnixNanos(localNanos(2026, 8, 20, 14, 5, 30), now)).toBe('2026-09-20 14:05:30.000');
    expect(formatUnixNanos(0, now)).toBe('\u2014');
  });

  it('formats latencies, timeouts, totals and trace links', () => {
    expect(formatNanos(1_500_000)).toBe('1.5 ms');
    expect(formatNanos(undefined)).toBe('\u2014');
    expect(formatTimeout(30)).toBe('30 s');
    expect(formatTimeout(1)).toBe('1 s');
    expect(totalNanos({ mean_nanos: 2_000_000 }, 10)).toBe(20_000_000);
    expect(shortTraceId('4bf92f3577b34da6a3ce929d0e0e4736')).toBe('4bf92f3577b34da6');
    expect(shortTraceId('abc')).toBe('abc');
    expect(traceHref('4bf92f3577b34da6a3ce929d0e0e4736')).toBe('/trace/4bf92f3577b34da6a3ce929d0e0e4736');
    expect(traceHref('4bf92f3577b34da6a3ce929d0e0e4736', '00F067AA0BA902B7')).toBe('/trace/4bf92f3577b34da6a3ce929d0e0e4736?span=00f067aa0ba902b7');
  });
});

describe('interruptions', () => {
  const report: InterruptionReport = {
    traces: 1200,
    broken_traces: 30,
    truncated_traces: 0,
    interruption_rate: 0.025,
    services: [
      { service: 'order-service', traces: 100, broken_traces: 10, interruption_rate: 0.1, example_trace_ids: [] },
      { service: 'frontend', traces: 1200, broken_traces: 0, interruption_rate: 0, example_trace_ids: [] },
    ],
    series: [
      { bucket_start_unix_nanos: 1_800_000_060_000_000_000, traces: 0, broken_traces: 0, interruption_rate: 0 },
      { bucket_start_unix_nanos: 1_800_000_000_000_000_000, traces: 40, broken_traces: 1, interruption_rate: 0.025 },
    ],
  };

  it('takes the headline from the totals, or from the chosen service’s row', () => {
    expect(interruptionHeadline(report, '')).toEqual({ traces: 1200, brokenTraces: 30, rate: 0.025 });
    expect(interruptionHeadline(report, 'order-service')).toEqual({ traces: 100, brokenTraces: 10, rate: 0.1 });
    expect(interruptionHeadline(report, 'unknown-service')).toEqual({ traces: 0, brokenTraces: 0, rate: 0 });
  });

  it('turns the series into ascending chart columns with gaps for empty buckets', () => {
    expect(interruptionChart(report.series)).toEqual({ x: [1_800_000_000, 1_800_000_060], percent: [2.5, null], traces: [40, 0] });
    expect(interruptionChart([])).toEqual({ x: [], percent: [], traces: [] });
  });
});

describe('the assembler', () => {
  it('tells nothing analyzed from nothing in the range', () => {
    expect(analysisState({ tracesAnalyzed: 0 }, 0)).toBe('nothing-analyzed');
    expect(analysisState({ tracesAnalyzed: 10 }, 0)).toBe('nothing-in-range');
    expect(analysisState({ tracesAnalyzed: 10 }, 4)).toBe('ready');
    // Restored state may count traces the counter does not.
    expect(analysisState({ tracesAnalyzed: 0 }, 4)).toBe('ready');
  });

  it('goes by the range alone when the query process runs no assembler', () => {
    expect(analysisState(null, 0)).toBe('nothing-in-range');
    expect(analysisState(null, 4)).toBe('ready');
  });

  it('says what was analyzed and what waits', () => {
    const described = describeAssembler(assembler());
    expect(described.summary).toBe('1,200 traces analyzed since the diagnostics state was created');
    expect(described.waiting).toBe('3 traces (40 spans) waiting: a trace is analyzed once no span has arrived for it for 30 s');
    expect(described.warnings).toEqual([]);
  });

  it('warns about spans and traces not analyzed as they arrived', () => {
    const described = describeAssembler(assembler({ droppedSpans: 1, evictedTraces: 2, cutTraces: 1, lateSpans: 5 }));
    expect(described.warnings).toEqual([
      '1 span was left out of traces over the 5,000-span cap.',
      '2 traces were analyzed early to stay within 100,000 open traces or 1,000,000 open spans.',
      '1 trace was still receiving spans at the maximum age and analyzed as truncated.',
      '5 spans arrived after their trace had been analyzed.',
    ]);
  });

  it('describes completions, unknown ones as sent', () => {
    expect(describeCompletion('inactive')).toBe('complete');
    expect(describeCompletion('max_age')).toBe('cut at the maximum age');
    expect(describeCompletion('brand_new')).toBe('brand new');
  });
});

describe('database and redis rows', () => {
  it('describes where a statement runs', () => {
    expect(describeStatementTarget(statement())).toBe('mysql inventory · stock');
    expect(describeStatementTarget(statement({ tables: ['orders', 'order_items'], database: 'shop' }))).toBe('mysql shop · orders, order_items');
    expect(describeStatementTarget(statement({ tables: [], database: '' }))).toBe('mysql');
  });

  it('filters statements by text, case-insensitively', () => {
    expect(statementMatches(statement(), 'from STOCK')).toBe(true);
    expect(statementMatches(statement(), 'inventory-service')).toBe(true);
    expect(statementMatches(statement(), 'orders')).toBe(false);
    expect(statementMatches(statement(), '  ')).toBe(true);
  });

  it('lists the busiest endpoints and counts the rest', () => {
    const endpoints = [
      { service: 'frontend', operation: 'GET /', calls: 3 },
      { service: 'frontend', operation: 'POST /checkout', calls: 10 },
      { service: 'api', operation: 'GET /stock', calls: 3 },
    ];
    expect(topEndpoints(endpoints, 2)).toEqual({
      shown: [
        { service: 'frontend', operation: 'POST /checkout', calls: 10 },
        { service: 'api', operation: 'GET /stock', calls: 3 },
      ],
      more: 1,
    });
    expect(topEndpoints([], 3)).toEqual({ shown: [], more: 0 });
  });

  it('marks hot key counts that may overcount', () => {
    expect(describeHotKeyCount({ calls: 1200, error: 0 })).toEqual({ text: '1,200', title: undefined });
    expect(describeHotKeyCount({ calls: 1200, error: 30 })).toEqual({ text: '\u2248 1,200', title: 'between 1,170 and 1,200 calls' });
  });
});
