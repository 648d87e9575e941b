import { describe, expect, it } from 'vitest';
import { alignTraces, classifyPaths, compareTraces, type PathComparisonRow } from './compare';
import {
  attributeDifferences,
  barFractions,
  candidateSearchWindow,
  compareUrl,
  createTraceCache,
  defaultHiddenStatuses,
  describeRowChange,
  focusedRowIndex,
  durationText,
  formatAgo,
  formatAnyValue,
  formatDelta,
  formatRelativeDelta,
  indexRowStructure,
  indexRows,
  isValidTraceId,
  normaliseTraceIdInput,
  pathIdsWithChildren,
  quickPicks,
  readCompareUrl,
  sameTraceId,
  sortCandidates,
  summaryText,
  traceFacts,
  visibleCompareRows,
} from './compare-view';
import { testSpan } from './test-spans';
import { parseOtlpTrace, type TraceSpan } from './trace-model';
import { buildSpanTree } from './tree';

function op(spanId: string, parentSpanId: string | null, serviceName: string, name: string, start: number, duration: number): TraceSpan {
  return testSpan(spanId, parentSpanId, { serviceName, name, start, end: start + duration });
}

const baseline = [
  op('root', null, 'shop', 'POST /checkout', 0, 1_000),
  op('inv', 'root', 'shop', 'GET inventory', 10, 100),
  op('stock', 'inv', 'inventory', 'GET /stock', 20, 80),
  op('q1', 'root', 'payments', 'SELECT', 200, 50),
  op('q2', 'root', 'payments', 'SELECT', 300, 50),
  op('notify', 'root', 'shop', 'notify', 500, 100),
];
const candidate = [
  op('root', null, 'shop', 'POST /checkout', 0, 1_000),
  op('inv', 'root', 'shop', 'GET inventory', 10, 100),
  op('stock', 'inv', 'inventory', 'GET /stock', 20, 80),
  op('q1', 'root', 'payments', 'SELECT', 200, 50),
  op('q2', 'root', 'payments', 'SELECT', 300, 50),
  op('q3', 'root', 'payments', 'SELECT', 400, 50),
  op('notify', 'root', 'shop', 'notify', 500, 300),
];

function comparison() {
  return compareTraces(buildSpanTree(baseline), buildSpanTree(candidate));
}

const names = (rows: readonly { row: PathComparisonRow }[]): string[] =>
  rows.map(({ row }) => `${row.step.name}#${row.step.occurrence}`);

describe('candidate search window', () => {
  it('spans 30 minutes either side of A’s start, in exact Unix nanoseconds', () => {
    // 2024-05-01T12:00:00.123456789Z, beyond Number's exact integers.
    const start = 1_714_564_800_123_456_789n;
    expect(candidateSearchWindow(start)).toEqual({ start: '1714563000123456789', end: '1714566600123456789' });
    expect(BigInt(candidateSearchWindow(start).end) - BigInt(candidateSearchWindow(start).start)).toBe(3_600_000_000_000n);
  });

  it('never starts before 1970', () => {
    expect(candidateSearchWindow(5n)).toEqual({ start: '0', end: '1800000000005' });
    expect(candidateSearchWindow(0n)).toEqual({ start: '0', end: '1800000000000' });
  });
});

describe('trace IDs', () => {
  it('normalises, validates and matches padded IDs', () => {
    expect(normaliseTraceIdInput('  ABCdef \n')).toBe('abcdef');
    expect(normaliseTraceIdInput(null)).toBe('');
    expect(isValidTraceId('abcdef')).toBe(true);
    expect(isValidTraceId('a'.repeat(32))).toBe(true);
    expect(isValidTraceId('a'.repeat(33))).toBe(false);
    expect(isValidTraceId('xyz')).toBe(false);
    expect(isValidTraceId('')).toBe(false);
    expect(sameTraceId('00ab', 'AB')).toBe(true);
    expect(sameTraceId('ab', 'abc')).toBe(false);
    expect(sameTraceId('', '')).toBe(false);
  });
});

describe('URL state', () => {
  it('reads IDs, filters and thresholds with defaults', () => {
    expect(readCompareUrl(new URLSearchParams(''))).toEqual({ a: '', b: '', hidden: null, thresholdPercent: 10, minDeltaNanos: 0 });
    const state = readCompareUrl(new URLSearchParams('a=AB&b=cd&hide=unchanged,bogus,faster&threshold=25&minDelta=100us'));
    expect(state).toMatchObject({ a: 'ab', b: 'cd', thresholdPercent: 25, minDeltaNanos: 100_000 });
    expect([...state.hidden!]).toEqual(['unchanged', 'faster']);
    expect([...readCompareUrl(new URLSearchParams('hide=none')).hidden!]).toEqual([]);
    expect(readCompareUrl(new URLSearchParams('threshold=-3&minDelta=soon'))).toMatchObject({ thresholdPercent: 10, minDeltaNanos: 0 });
  });

  it('treats a lone B as the reference', () => {
    expect(readCompareUrl(new URLSearchParams('b=cd'))).toMatchObject({ a: 'cd', b: '' });
  });

  it('writes URLs that read back, leaving defaults out', () => {
    expect(compareUrl({})).toBe('/compare');
    expect(compareUrl({ a: 'ab', b: '', thresholdPercent: 10, minDeltaNanos: 0 })).toBe('/compare?a=ab');
    const url = compareUrl({ a: 'ab', b: 'cd', hidden: new Set(['unchanged', 'added']), thresholdPercent: 5, minDeltaNanos: 1_000_000 });
    expect(url).toBe('/compare?a=ab&b=cd&hide=added%2Cunchanged&threshold=5&minDelta=1ms');
    const back = readCompareUrl(new URLSearchParams(url.split('?')[1]));
    expect(back).toMatchObject({ a: 'ab', b: 'cd', thresholdPercent: 5, minDeltaNanos: 1_000_000 });
    expect([...back.hidden!].sort()).toEqual(['added', 'unchanged']);
    expect(compareUrl({ a: 'ab', b: 'cd', hidden: new Set() })).toBe('/compare?a=ab&b=cd&hide=none');
  });

  it('reads the minimum change as a Go duration and prints it back', () => {
    const minDelta = (text: string) => readCompareUrl(new URLSearchParams({ a: 'ab', minDelta: text })).minDeltaNanos;
    expect(minDelta('100us')).toBe(100_000);
    expect(minDelta('1.5ms')).toBe(1_500_000);
    expect(minDelta('2s')).toBe(2e9);
    // A bare number's unit would be a guess, as in the API: ignored, not read as nanoseconds.
    expect(minDelta('250')).toBe(0);
    expect(durationText(0)).toBe('0');
    expect(durationText(100_000)).toBe('100us');
    expect(durationText(3e9)).toBe('3s');
    expect(durationText(1_500)).toBe('1500ns');
  });

  it('hides unchanged rows by default only when they are many and something changed', () => {
    const counts = (unchanged: number, slower: number) => ({ added: 0, missing: 0, slower, faster: 0, unchanged });
    expect([...defaultHiddenStatuses(counts(40, 1))]).toEqual(['unchanged']);
    expect([...defaultHiddenStatuses(counts(5, 1))]).toEqual([]);
    expect([...defaultHiddenStatuses(counts(40, 0))]).toEqual([]);
  });
});

describe('rows of the aligned tree', () => {
  it('indexes parents, subtrees, sibling counts and changes below', () => {
    const { rows } = comparison();
    expect(names(rows.map((row) => ({ row })))).toEqual([
      'POST /checkout#0',
      'GET inventory#0',
      'GET /stock#0',
      'SELECT#0',
      'SELECT#1',
      'notify#0',
      'SELECT#2',
    ]);
    const infos = indexRows(rows);
    expect(infos.map((info) => info.parentIndex)).toEqual([-1, 0, 1, 0, 0, 0, 0]);
    expect(infos.map((info) => info.subtreeEnd)).toEqual([7, 3, 3, 4, 5, 6, 7]);
    expect(infos.map((info) => [info.siblingCountA, info.siblingCountB])[3]).toEqual([2, 3]);
    expect(infos[6]).toMatchObject({ siblingCountA: 2, siblingCountB: 3 });
    expect(infos[5]).toMatchObject({ siblingCountA: 1, siblingCountB: 1 });
    // notify is slower, SELECT#2 added; the root itself does not count.
    expect(infos[0]!.changedBelow).toBe(2);
    expect(infos[1]!.changedBelow).toBe(0);
  });

  it('reuses the structure of one alignment across thresholds, recounting only the changes below', () => {
    const alignment = alignTraces(buildSpanTree(baseline), buildSpanTree(candidate));
    const structure = indexRowStructure(alignment.paths);
    const usual = classifyPaths(alignment);
    const lax = classifyPaths(alignment, { relativeThreshold: 5 });
    expect(indexRows(usual.rows, structure)).toEqual(indexRows(usual.rows));
    expect(indexRows(lax.rows, structure)).toEqual(indexRows(lax.rows));
    // notify (3×) is within a 500 % threshold: only the added SELECT is left below the root.
    expect(indexRows(usual.rows, structure)[0]!.changedBelow).toBe(2);
    expect(indexRows(lax.rows, structure)[0]!.changedBelow).toBe(1);
    expect(indexRows(lax.rows, structure).map((info) => info.subtreeEnd)).toEqual([7, 3, 3, 4, 5, 6, 7]);
  });

  it('shows everything, or matches with their ancestors as context', () => {
    const { rows } = comparison();
    const infos = indexRows(rows);
    const all = visibleCompareRows(rows, infos, new Set(), new Set());
    expect(all).toHaveLength(7);
    expect(all.every((row) => !row.context)).toBe(true);
    expect(all[0]).toMatchObject({ hasChildren: true, collapsed: false });

    const differences = visibleCompareRows(rows, infos, new Set(['unchanged']), new Set());
    expect(names(differences)).toEqual(['POST /checkout#0', 'notify#0', 'SELECT#2']);
    expect(differences.map((row) => row.context)).toEqual([true, false, false]);

    const onlyAdded = visibleCompareRows(rows, infos, new Set(['unchanged', 'slower', 'faster', 'missing']), new Set());
    expect(names(onlyAdded)).toEqual(['POST /checkout#0', 'SELECT#2']);

    const nothing = visibleCompareRows(rows, infos, new Set(['unchanged', 'slower', 'faster', 'missing', 'added']), new Set());
    expect(nothing).toEqual([]);
  });

  it('hides what is below a collapsed path, keeping the path itself', () => {
    const { rows } = comparison();
    const infos = indexRows(rows);
    const inventoryPath = rows[1]!.pathId;
    const collapsedInventory = visibleCompareRows(rows, infos, new Set(), new Set([inventoryPath]));
    expect(names(collapsedInventory)).toEqual(['POST /checkout#0', 'GET inventory#0', 'SELECT#0', 'SELECT#1', 'notify#0', 'SELECT#2']);
    expect(collapsedInventory[1]).toMatchObject({ collapsed: true, hasChildren: true });
    // A leaf cannot be collapsed.
    const leaf = visibleCompareRows(rows, infos, new Set(), new Set([rows[2]!.pathId]));
    expect(leaf[2]).toMatchObject({ collapsed: false, hasChildren: false });
    const collapsedRoot = visibleCompareRows(rows, infos, new Set(), pathIdsWithChildren(rows, infos));
    expect(names(collapsedRoot)).toEqual(['POST /checkout#0']);
    expect([...pathIdsWithChildren(rows, infos)]).toEqual([rows[0]!.pathId, rows[1]!.pathId]);
  });

  it('walks a 100k-deep chain without recursion', () => {
    const depth = 100_000;
    const chain = (last: number) =>
      Array.from({ length: depth }, (_, index) =>
        op(`s${index}`, index === 0 ? null : `s${index - 1}`, 'svc', 'step', index, index === depth - 1 ? last : 100),
      );
    const { rows } = compareTraces(buildSpanTree(chain(100)), buildSpanTree(chain(500)));
    const infos = indexRows(rows);
    expect(infos[0]!.subtreeEnd).toBe(depth);
    expect(infos[0]!.changedBelow).toBe(1);
    const visible = visibleCompareRows(rows, infos, new Set(['unchanged']), new Set());
    expect(visible).toHaveLength(depth);
    expect(visible[depth - 1]).toMatchObject({ context: false });
    expect(visible[0]).toMatchObject({ context: true });
  });
});

describe('keyboard focus', () => {
  it('follows the selected path, not a position, when filters and collapsing shift the rows', () => {
    const { rows, rowByPathId } = comparison();
    const infos = indexRows(rows);
    const notify = rows.find((row) => row.step.name === 'notify')!;
    const stock = rows.find((row) => row.step.name === 'GET /stock')!;
    const all = visibleCompareRows(rows, infos, new Set(), new Set());
    const differences = visibleCompareRows(rows, infos, new Set(['unchanged']), new Set());
    expect(all[focusedRowIndex(all, notify.pathId, rowByPathId)]!.row).toBe(notify);
    expect(focusedRowIndex(all, notify.pathId, rowByPathId)).toBe(5);
    // Hiding unchanged rows moves notify from the sixth row to the second: the focus goes with it.
    expect(focusedRowIndex(differences, notify.pathId, rowByPathId)).toBe(1);
    expect(differences[1]!.row).toBe(notify);
    // A path filtered out or collapsed away hands the focus to its nearest shown ancestor.
    expect(differences[focusedRowIndex(differences, stock.pathId, rowByPathId)]!.row.step.name).toBe('POST /checkout');
    const inventoryCollapsed = visibleCompareRows(rows, infos, new Set(), new Set([rows[1]!.pathId]));
    expect(inventoryCollapsed[focusedRowIndex(inventoryCollapsed, stock.pathId, rowByPathId)]!.row.step.name).toBe('GET inventory');
    // Nothing selected, or an unknown path: the first row.
    expect(focusedRowIndex(all, null, rowByPathId)).toBe(0);
    expect(focusedRowIndex(all, 999, rowByPathId)).toBe(0);
    expect(focusedRowIndex([], notify.pathId, rowByPathId)).toBe(0);
  });
});

describe('trace cache', () => {
  const fetcher = () => {
    const calls: { traceId: string; signal: AbortSignal }[] = [];
    const fetchOne = (traceId: string, signal: AbortSignal) => {
      calls.push({ traceId, signal });
      return Promise.resolve({ traceId });
    };
    return { calls, fetchOne };
  };

  it('loads each trace once, whatever the spelling of its ID, and keeps A and B', async () => {
    const { calls, fetchOne } = fetcher();
    const cache = createTraceCache(fetchOne);
    const signal = new AbortController().signal;
    await cache.load('ab', signal);
    await cache.load('cd', signal);
    // Swapping A and B loads nothing again.
    await cache.load('cd', signal);
    expect(await cache.load('00AB', signal)).toEqual({ traceId: 'ab' });
    expect(calls.map((call) => call.traceId)).toEqual(['ab', 'cd']);
    expect(calls[0]!.signal).toBe(signal);
    // A third trace evicts the least recently used one (cd), never more than two are kept.
    await cache.load('ef', signal);
    expect(cache.size).toBe(2);
    await cache.load('ab', signal);
    await cache.load('cd', signal);
    expect(calls.map((call) => call.traceId)).toEqual(['ab', 'cd', 'ef', 'cd']);
    cache.clear();
    expect(cache.size).toBe(0);
    await cache.load('ab', signal);
    expect(calls).toHaveLength(5);
  });

  it('passes the signal through, and keeps neither aborted nor failed loads', async () => {
    let finish: (value: { traceId: string }) => void = () => {};
    const signals: AbortSignal[] = [];
    let fail = false;
    const cache = createTraceCache((traceId: string, signal: AbortSignal) => {
      signals.push(signal);
      if (fail) return Promise.reject(new Error('HTTP 500'));
      return new Promise<{ traceId: string }>((resolve) => {
        finish = resolve;
      });
    });
    const superseded = new AbortController();
    const pending = cache.load('ab', superseded.signal);
    expect(signals[0]).toBe(superseded.signal);
    superseded.abort();
    finish({ traceId: 'ab' });
    await expect(pending).rejects.toThrow();
    expect(cache.size).toBe(0);
    // Already aborted: nothing is requested.
    await expect(cache.load('cd', superseded.signal)).rejects.toThrow();
    expect(signals).toHaveLength(1);
    fail = true;
    await expect(cache.load('ab', new AbortController().signal)).rejects.toThrow('HTTP 500');
    expect(cache.size).toBe(0);
  });
});

describe('display', () => {
  it('formats absolute and relative deltas with signs', () => {
    expect(formatDelta(1_200_000)).toBe('+1.2 ms');
    expect(formatDelta(-300_000)).toBe('\u2212300 \u00b5s');
    expect(formatDelta(0)).toBe('\u00b10');
    expect(formatDelta(null)).toBe('\u2014');
    expect(formatRelativeDelta(0.35)).toBe('+35 %');
    expect(formatRelativeDelta(-0.042)).toBe('\u22124.2 %');
    expect(formatRelativeDelta(0.05)).toBe('+5 %');
    expect(formatRelativeDelta(-1)).toBe('\u2212100 %');
    expect(formatRelativeDelta(11.4)).toBe('12.4\u00d7');
    expect(formatRelativeDelta(Infinity)).toBe('+\u221e');
    expect(formatRelativeDelta(0)).toBe('0 %');
    expect(formatRelativeDelta(null)).toBe('\u2014');
  });

  it('scales the pair of bars to the longer duration', () => {
    expect(barFractions(100, 200)).toEqual({ a: 0.5, b: 1 });
    expect(barFractions(null, 200)).toEqual({ a: null, b: 1 });
    expect(barFractions(0, 0)).toEqual({ a: 0, b: 0 });
  });

  it('describes a row and the summary in words', () => {
    const { rows, countByStatus } = comparison();
    expect(describeRowChange(rows[6]!)).toBe('Only in B (took 50 ns).');
    expect(describeRowChange(rows[5]!)).toBe('Slower in B: +200 ns (+200 %).');
    expect(summaryText(countByStatus)).toBe('1 added \u00b7 0 missing \u00b7 1 slower \u00b7 0 faster \u00b7 5 unchanged');
  });

  it('prints relative times', () => {
    const now = 1_700_000_000_000;
    const nanos = (millis: number) => (BigInt(millis) * 1_000_000n).toString();
    expect(formatAgo(nanos(now - 1_000), now)).toBe('just now');
    expect(formatAgo(nanos(now - 42_000), now)).toBe('42 s ago');
    expect(formatAgo(nanos(now - 5 * 60_000), now)).toBe('5 min ago');
    expect(formatAgo(nanos(now - 3 * 3_600_000), now)).toBe('3 h ago');
    expect(formatAgo(nanos(now - 3 * 86_400_000), now)).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}$/);
  });
});

describe('trace facts', () => {
  it('finds the root, counts spans, errors and services', () => {
    const parsed = parseOtlpTrace({
      resourceSpans: [
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'frontend' } }] },
          scopeSpans: [
            {
              spans: [
                { traceId: 'AB', spanId: '01', parentSpanId: '', name: 'GET /', startTimeUnixNano: '1000', endTimeUnixNano: '5000' },
                { traceId: 'AB', spanId: '02', parentSpanId: '01', name: 'call', startTimeUnixNano: '2000', endTimeUnixNano: '3000', status: { code: 2 } },
              ],
            },
          ],
        },
        {
          resource: { attributes: [{ key: 'service.name', value: { stringValue: 'db' } }] },
          scopeSpans: [{ spans: [{ traceId: 'AB', spanId: '03', parentSpanId: '02', name: 'q', startTimeUnixNano: '2100', endTimeUnixNano: '2200' }] }],
        },
      ],
    });
    expect(traceFacts(parsed, buildSpanTree(parsed.spans))).toEqual({
      rootServiceName: 'frontend',
      rootSpanName: 'GET /',
      rootFound: true,
      durationNanos: 4000,
      spanCount: 3,
      errorCount: 1,
      serviceNames: ['db', 'frontend'],
      traceStartUnixNano: 1000n,
    });
  });

  it('marks a stand-in root when the real one never arrived', () => {
    const spans = [op('child', 'lost', 'svc', 'work', 0, 10)];
    const parsed = { traceId: 't', traceStartUnixNano: 0n, durationNanos: 10, spans, droppedSpanCount: 0 };
    expect(traceFacts(parsed, buildSpanTree(spans))).toMatchObject({ rootFound: false, rootSpanName: 'work' });
  });
});

describe('attributes', () => {
  it('prints every kind of value', () => {
    expect(formatAnyValue({ stringValue: 'x' })).toBe('x');
    expect(formatAnyValue({ boolValue: false })).toBe('false');
    expect(formatAnyValue({ intValue: '9007199254740993' })).toBe('9007199254740993');
    expect(formatAnyValue({ doubleValue: 1.5 })).toBe('1.5');
    expect(formatAnyValue({ bytesValue: 'AAE=' })).toBe('base64:AAE=');
    expect(formatAnyValue({ arrayValue: { values: [{ stringValue: 'a' }, { intValue: 3 }] } })).toBe('["a", "3"]');
    expect(formatAnyValue({ kvlistValue: { values: [{ key: 'k', value: { boolValue: true } }] } })).toBe('{"k": "true"}');
    expect(formatAnyValue(undefined)).toBe('');
  });

  it('lists differing attributes first, then the rest by key', () => {
    const a = [
      { key: 'db.system', value: { stringValue: 'redis' } },
      { key: 'cache.hit', value: { boolValue: true } },
      { key: 'only.a', value: { stringValue: 'x' } },
    ];
    const b = [
      { key: 'cache.hit', value: { boolValue: false } },
      { key: 'db.system', value: { stringValue: 'redis' } },
    ];
    expect(attributeDifferences(a, b)).toEqual([
      { key: 'cache.hit', valueA: 'true', valueB: 'false', differs: true },
      { key: 'only.a', valueA: 'x', valueB: null, differs: true },
      { key: 'db.system', valueA: 'redis', valueB: 'redis', differs: false },
    ]);
    expect(attributeDifferences(null, b).every((difference) => difference.valueA === null && difference.differs)).toBe(true);
  });
});

describe('picker', () => {
  const traces = [
    { traceId: 'aa', startTimeUnixNano: '3', durationNanos: 300, spanCount: 5 },
    { traceId: 'bb', startTimeUnixNano: '2', durationNanos: 100, spanCount: 5 },
    { traceId: 'cc', startTimeUnixNano: '1', durationNanos: 900, spanCount: 7 },
    { traceId: 'dd', startTimeUnixNano: '0', durationNanos: 500, spanCount: 5 },
  ];
  const ids = (list: readonly { traceId: string }[]) => list.map((trace) => trace.traceId);

  it('leaves the reference out and sorts as asked', () => {
    expect(ids(sortCandidates(traces, 'newest', '00aa', 300))).toEqual(['bb', 'cc', 'dd']);
    expect(ids(sortCandidates(traces, 'slowest', 'aa', 300))).toEqual(['cc', 'dd', 'bb']);
    expect(ids(sortCandidates(traces, 'fastest', 'aa', 300))).toEqual(['bb', 'dd', 'cc']);
    expect(ids(sortCandidates(traces, 'closest', 'aa', 400))).toEqual(['dd', 'bb', 'cc']);
    expect(ids(sortCandidates(traces, 'closest', 'zz', null))).toEqual(['aa', 'bb', 'cc', 'dd']);
  });

  it('offers the fastest, median and slowest', () => {
    expect(quickPicks([])).toBeNull();
    const picks = quickPicks(traces)!;
    expect([picks.fastest.traceId, picks.median.traceId, picks.slowest.traceId]).toEqual(['bb', 'aa', 'cc']);
  });
});
