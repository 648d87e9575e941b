import { describe, expect, it } from 'vitest';
import { computeCriticalPath, criticalNanosBySpanId, type CriticalPathSegment } from './critical-path';
import ordersTraceJson from './fixtures/orders-trace.otlp.json';
import { seededRandom, testSpan } from './test-spans';
import { parseOtlpTrace, type OtlpTracesData, type TraceSpan } from './trace-model';
import { buildSpanTree, primaryRoot, type SpanTree, type SpanTreeNode } from './tree';

type Triple = [spanId: string, start: number, end: number];

function pathOf(spans: readonly TraceSpan[]): Triple[] {
  const tree = buildSpanTree(spans);
  const segments = computeCriticalPath(primaryRoot(tree)!);
  expectTilesRoot(segments, tree);
  return segments.map((segment) => [segment.spanId, segment.startOffsetNanos, segment.endOffsetNanos]);
}

/**
 * The defining property: segments cover the root's interval exactly once, in time order, each
 * inside its own span. Violations are collected rather than asserted one by one, because
 * per-segment `expect` calls dominate the run time on 100k-span traces.
 */
function expectTilesRoot(segments: readonly CriticalPathSegment[], tree: SpanTree<TraceSpan>): void {
  const root = primaryRoot(tree)!.span;
  const violations: string[] = [];
  let cursor = root.startOffsetNanos;
  let total = 0;
  for (const [index, segment] of segments.entries()) {
    const span = tree.nodeBySpanId.get(segment.spanId)!.span;
    if (segment.startOffsetNanos !== cursor) violations.push(`segment ${index} starts at ${segment.startOffsetNanos}, not ${cursor}`);
    if (segment.endOffsetNanos <= segment.startOffsetNanos) violations.push(`segment ${index} is empty or inverted`);
    if (segment.startOffsetNanos < span.startOffsetNanos || segment.endOffsetNanos > span.endOffsetNanos) {
      violations.push(`segment ${index} lies outside span ${segment.spanId}`);
    }
    total += segment.endOffsetNanos - segment.startOffsetNanos;
    cursor = segment.endOffsetNanos;
  }
  expect(violations).toEqual([]);
  expect(total).toBe(Math.max(0, root.endOffsetNanos - root.startOffsetNanos));
  if (segments.length > 0) expect(cursor).toBe(root.endOffsetNanos);
}

describe('computeCriticalPath', () => {
  it('is the whole span for a single span', () => {
    expect(pathOf([testSpan('root', null, { start: 5, end: 105 })])).toEqual([['root', 5, 105]]);
  });

  it('is empty for a zero-length root', () => {
    expect(pathOf([testSpan('root', null, { start: 5, end: 5 })])).toEqual([]);
  });

  it('follows sequential children, including back-to-back ones, with self time in the gaps', () => {
    expect(
      pathOf([
        testSpan('root', null, { start: 0, end: 100 }),
        testSpan('first', 'root', { start: 10, end: 40 }),
        testSpan('second', 'root', { start: 40, end: 90 }),
      ]),
    ).toEqual([
      ['root', 0, 10],
      ['first', 10, 40],
      ['second', 40, 90],
      ['root', 90, 100],
    ]);
  });

  it('takes only the last-finishing of parallel children', () => {
    expect(
      pathOf([
        testSpan('root', null, { start: 0, end: 100 }),
        testSpan('slow', 'root', { start: 10, end: 80 }),
        testSpan('fast', 'root', { start: 20, end: 60 }),
        testSpan('also-fast', 'root', { start: 12, end: 79 }),
      ]),
    ).toEqual([
      ['root', 0, 10],
      ['slow', 10, 80],
      ['root', 80, 100],
    ]);
  });

  it('skips a child overlapping the chosen one and continues before it', () => {
    // "overlap" ends after "last" starts, so "last" did not wait for it; "early" ended before.
    expect(
      pathOf([
        testSpan('root', null, { start: 0, end: 100 }),
        testSpan('early', 'root', { start: 5, end: 20 }),
        testSpan('overlap', 'root', { start: 10, end: 60 }),
        testSpan('last', 'root', { start: 50, end: 90 }),
      ]),
    ).toEqual([
      ['root', 0, 5],
      ['early', 5, 20],
      ['root', 20, 50],
      ['last', 50, 90],
      ['root', 90, 100],
    ]);
  });

  it('mixes parallel and sequential work (fan-out, then a follow-up call)', () => {
    expect(
      pathOf([
        testSpan('root', null, { start: 0, end: 100 }),
        testSpan('fan-a', 'root', { start: 10, end: 50 }),
        testSpan('fan-b', 'root', { start: 10, end: 30 }),
        testSpan('follow-up', 'root', { start: 55, end: 90 }),
      ]),
    ).toEqual([
      ['root', 0, 10],
      ['fan-a', 10, 50],
      ['root', 50, 55],
      ['follow-up', 55, 90],
      ['root', 90, 100],
    ]);
  });

  it('descends into grandchildren, the parent keeping the time around them', () => {
    expect(
      pathOf([
        testSpan('root', null, { start: 0, end: 250 }),
        testSpan('client', 'root', { start: 10, end: 60 }),
        testSpan('server', 'client', { start: 12, end: 58 }),
      ]),
    ).toEqual([
      ['root', 0, 10],
      ['client', 10, 12],
      ['server', 12, 58],
      ['client', 58, 60],
      ['root', 60, 250],
    ]);
  });

  it('clips a child running past its parent end, and its children with it', () => {
    expect(
      pathOf([
        testSpan('root', null, { start: 0, end: 100 }),
        testSpan('overrun', 'root', { start: 50, end: 150 }),
        testSpan('inside', 'overrun', { start: 60, end: 70 }),
        testSpan('straddling', 'overrun', { start: 90, end: 130 }),
        testSpan('beyond', 'overrun', { start: 120, end: 140 }),
      ]),
    ).toEqual([
      ['root', 0, 50],
      ['overrun', 50, 60],
      ['inside', 60, 70],
      ['overrun', 70, 90],
      ['straddling', 90, 100],
    ]);
  });

  it('clips a child starting before its parent (clock skew)', () => {
    expect(
      pathOf([testSpan('root', null, { start: 100, end: 200 }), testSpan('skewed', 'root', { start: 80, end: 150 })]),
    ).toEqual([
      ['skewed', 100, 150],
      ['root', 150, 200],
    ]);
  });

  it('ignores an async child that starts after its parent ended, or exactly at its end', () => {
    expect(
      pathOf([
        testSpan('root', null, { start: 0, end: 100 }),
        testSpan('sync', 'root', { start: 0, end: 50 }),
        testSpan('async', 'root', { start: 120, end: 200 }),
        testSpan('at-end', 'root', { start: 100, end: 180 }),
      ]),
    ).toEqual([
      ['sync', 0, 50],
      ['root', 50, 100],
    ]);
  });

  it('ignores zero-length children', () => {
    expect(
      pathOf([
        testSpan('root', null, { start: 0, end: 100 }),
        testSpan('instant', 'root', { start: 50, end: 50 }),
        testSpan('instant-too', 'root', { start: 50, end: 50 }),
      ]),
    ).toEqual([['root', 0, 100]]);
  });

  it('breaks end-time ties towards the earlier start, then the smaller span ID', () => {
    expect(
      pathOf([
        testSpan('root', null, { start: 0, end: 100 }),
        testSpan('short', 'root', { start: 60, end: 90 }),
        testSpan('long', 'root', { start: 20, end: 90 }),
      ]),
    ).toEqual([
      ['root', 0, 20],
      ['long', 20, 90],
      ['root', 90, 100],
    ]);
    expect(
      pathOf([
        testSpan('root', null, { start: 0, end: 100 }),
        testSpan('twin-b', 'root', { start: 20, end: 90 }),
        testSpan('twin-a', 'root', { start: 20, end: 90 }),
      ])[1],
    ).toEqual(['twin-a', 20, 90]);
  });

  it('walks a 100k-deep chain without recursion limits', () => {
    const depth = 100_000;
    // Each span encloses the next with 1 ns of self time on either side.
    const spans = Array.from({ length: depth }, (_, index) =>
      testSpan(`s${index}`, index === 0 ? null : `s${index - 1}`, { start: index, end: 2 * depth - index }),
    );
    const tree = buildSpanTree(spans);
    const segments = computeCriticalPath(tree.roots[0]!);
    expect(segments).toHaveLength(2 * depth - 1);
    expect(segments[depth - 1]).toEqual({ spanId: `s${depth - 1}`, startOffsetNanos: depth - 1, endOffsetNanos: depth + 1 });
    expectTilesRoot(segments, tree);
  });

  it('tiles the root on random trees', () => {
    const random = seededRandom(1234);
    for (let trial = 0; trial < 50; trial += 1) {
      const spans = [testSpan('s0', null, { start: 0, end: 1_000 })];
      for (let index = 1; index < 200; index += 1) {
        const start = Math.floor(random() * 1_200) - 100;
        const end = start + Math.floor(random() * 600);
        spans.push(testSpan(`s${index}`, `s${Math.floor(random() * index)}`, { start, end }));
      }
      const tree = buildSpanTree(spans);
      expectTilesRoot(computeCriticalPath(tree.roots[0]!), tree);
    }
  });

  it('works from any subtree root, e.g. to explain one slow call', () => {
    const tree = buildSpanTree([
      testSpan('root', null, { start: 0, end: 100 }),
      testSpan('call', 'root', { start: 10, end: 60 }),
      testSpan('inner', 'call', { start: 20, end: 30 }),
    ]);
    const call = tree.nodeBySpanId.get('call') as SpanTreeNode<TraceSpan>;
    expect(computeCriticalPath(call).map((segment) => segment.spanId)).toEqual(['call', 'inner', 'call']);
  });

  it('runs on the backend fixture parsed from OTLP/JSON', () => {
    const parsed = parseOtlpTrace(ordersTraceJson as OtlpTracesData);
    const segments = computeCriticalPath(primaryRoot(buildSpanTree(parsed.spans))!);
    expect(segments.map((segment) => [segment.spanId.slice(-1), segment.startOffsetNanos / 1e6, segment.endOffsetNanos / 1e6])).toEqual([
      ['1', 0, 10],
      ['2', 10, 12],
      ['3', 12, 58],
      ['2', 58, 60],
      ['1', 60, 250],
    ]);
  });
});

describe('criticalNanosBySpanId', () => {
  it('sums each span’s time on the path', () => {
    const tree = buildSpanTree([
      testSpan('root', null, { start: 0, end: 100 }),
      testSpan('a', 'root', { start: 10, end: 40 }),
    ]);
    const totals = criticalNanosBySpanId(computeCriticalPath(tree.roots[0]!));
    expect(Object.fromEntries(totals)).toEqual({ root: 70, a: 30 });
  });
});
