import { describe, expect, it } from 'vitest';
import { compareTraces, describePath, type PathComparisonRow, type TraceComparison } from './compare';
import { testSpan, type TestSpanFields } from './test-spans';
import type { TraceSpan } from './trace-model';
import { buildSpanTree } from './tree';

/** A span of service `serviceName` and operation `name`, lasting `duration` from `start`. */
function op(
  spanId: string,
  parentSpanId: string | null,
  serviceName: string,
  name: string,
  start: number,
  duration: number,
  fields: TestSpanFields = {},
): TraceSpan {
  return testSpan(spanId, parentSpanId, { serviceName, name, start, end: start + duration, ...fields });
}

function compare(spansA: readonly TraceSpan[], spansB: readonly TraceSpan[], relativeThreshold = 0.1): TraceComparison {
  return compareTraces(buildSpanTree(spansA), buildSpanTree(spansB), { relativeThreshold });
}

/** "service:name#occurrence" per row, indented by depth, with the outcome: readable diffs. */
function summarise(rows: readonly PathComparisonRow[]): string[] {
  return rows.map(
    (row) => `${'  '.repeat(row.depth)}${row.step.serviceName}:${row.step.name}#${row.step.occurrence} ${row.status}`,
  );
}

// Baseline: a checkout calling inventory, then three payment-db queries, then notify.
const baseline = [
  op('a-root', null, 'shop', 'POST /checkout', 0, 1_000),
  op('a-inv', 'a-root', 'shop', 'GET inventory', 10, 100),
  op('a-inv-srv', 'a-inv', 'inventory', 'GET /stock', 20, 80),
  op('a-q1', 'a-root', 'payments', 'SELECT', 200, 50),
  op('a-q2', 'a-root', 'payments', 'SELECT', 300, 50),
  op('a-q3', 'a-root', 'payments', 'SELECT', 400, 50),
  op('a-notify', 'a-root', 'shop', 'notify', 500, 100),
];

describe('compareTraces', () => {
  it('matches identical traces path by path, all unchanged', () => {
    const comparison = compare(baseline, baseline);
    expect(comparison.rows).toHaveLength(baseline.length);
    expect(comparison.countByStatus).toEqual({ missing: 0, added: 0, slower: 0, faster: 0, unchanged: 7 });
    expect(comparison.rows.every((row) => row.deltaNanos === 0 && row.relativeDelta === 0)).toBe(true);
  });

  it('reports missing, added, slower and faster paths, matching repeated siblings by occurrence', () => {
    const candidate = [
      op('b-root', null, 'shop', 'POST /checkout', 0, 1_500), // +50 %: slower
      op('b-inv', 'b-root', 'shop', 'GET inventory', 10, 105), // +5 %: within threshold
      // inventory's server span never arrived: missing
      op('b-q1', 'b-root', 'payments', 'SELECT', 200, 20), // -60 %: faster
      op('b-q2', 'b-root', 'payments', 'SELECT', 300, 200), // 4x: slower
      // only two SELECTs: the third is missing
      op('b-notify', 'b-root', 'shop', 'notify', 500, 100),
      op('b-retry', 'b-notify', 'shop', 'retry', 550, 40), // new: added
    ];
    const comparison = compare(baseline, candidate);
    expect(summarise(comparison.rows)).toEqual([
      'shop:POST /checkout#0 slower',
      '  shop:GET inventory#0 unchanged',
      '    inventory:GET /stock#0 missing',
      '  payments:SELECT#0 faster',
      '  payments:SELECT#1 slower',
      '  payments:SELECT#2 missing',
      '  shop:notify#0 unchanged',
      '    shop:retry#0 added',
    ]);
    expect(comparison.countByStatus).toEqual({ missing: 2, added: 1, slower: 2, faster: 1, unchanged: 2 });

    const secondSelect = comparison.rows[4]!;
    expect(secondSelect).toMatchObject({
      spanIdInA: 'a-q2',
      spanIdInB: 'b-q2',
      durationNanosA: 50,
      durationNanosB: 200,
      deltaNanos: 150,
      relativeDelta: 3,
    });
    const missing = comparison.rows[5]!;
    expect(missing).toMatchObject({ spanIdInA: 'a-q3', spanIdInB: null, durationNanosB: null, deltaNanos: null });
    const added = comparison.rows[7]!;
    expect(added).toMatchObject({ spanIdInA: null, spanIdInB: 'b-retry', durationNanosA: null, relativeDelta: null });
  });

  it('orders occurrences by start time, not by input order or span ID', () => {
    const a = [op('r', null, 's', 'root', 0, 100), op('z', 'r', 's', 'q', 10, 5), op('y', 'r', 's', 'q', 20, 7)];
    const b = [op('r', null, 's', 'root', 0, 100), op('m', 'r', 's', 'q', 20, 7), op('n', 'r', 's', 'q', 10, 5)];
    const rows = compare(a, b).rows;
    expect(rows.map((row) => [row.step.occurrence, row.spanIdInA, row.spanIdInB, row.status])).toEqual([
      [0, 'r', 'r', 'unchanged'],
      [0, 'z', 'n', 'unchanged'],
      [1, 'y', 'm', 'unchanged'],
    ]);
  });

  it('treats the same name in different services, or under different parents, as different paths', () => {
    const a = [
      op('r', null, 'gw', 'root', 0, 100),
      op('x', 'r', 'svc-a', 'call', 0, 10),
      op('p', 'r', 'gw', 'parent-1', 20, 30),
      op('c', 'p', 'db', 'query', 25, 5),
    ];
    const b = [
      op('r', null, 'gw', 'root', 0, 100),
      op('x', 'r', 'svc-b', 'call', 0, 10),
      op('p', 'r', 'gw', 'parent-2', 20, 30),
      op('c', 'p', 'db', 'query', 25, 5),
    ];
    expect(summarise(compare(a, b).rows)).toEqual([
      'gw:root#0 unchanged',
      '  svc-a:call#0 missing',
      '  gw:parent-1#0 missing',
      '    db:query#0 missing',
      '  svc-b:call#0 added',
      '  gw:parent-2#0 added',
      '    db:query#0 added',
    ]);
  });

  it('does not confuse names containing separators', () => {
    const a = [op('r', null, 'a/b', 'c', 0, 10)];
    const b = [op('r', null, 'a', 'b/c', 0, 10)];
    expect(compare(a, b).countByStatus).toMatchObject({ missing: 1, added: 1, unchanged: 0 });
  });

  it('compares orphan and additional roots by their own path', () => {
    const a = [op('r', null, 'gw', 'root', 0, 100), op('o', 'lost', 'worker', 'job', 200, 10)];
    const b = [op('r', null, 'gw', 'root', 0, 100), op('o', 'lost', 'worker', 'job', 200, 30)];
    expect(summarise(compare(a, b).rows)).toEqual(['gw:root#0 unchanged', 'worker:job#0 slower']);
  });

  it('applies the relative threshold strictly, in both directions', () => {
    const rowFor = (durationA: number, durationB: number, threshold: number): PathComparisonRow =>
      compare([op('r', null, 's', 'n', 0, durationA)], [op('r', null, 's', 'n', 0, durationB)], threshold).rows[0]!;
    expect(rowFor(1_000, 1_100, 0.1).status).toBe('unchanged');
    expect(rowFor(1_000, 1_101, 0.1).status).toBe('slower');
    expect(rowFor(1_000, 900, 0.1).status).toBe('unchanged');
    expect(rowFor(1_000, 899, 0.1).status).toBe('faster');
    expect(rowFor(1_000, 1_400, 0.5).status).toBe('unchanged');
    expect(rowFor(1_000, 1_001, 0).status).toBe('slower');
  });

  it('handles zero durations: any growth from zero is slower', () => {
    const rowFor = (durationA: number, durationB: number): PathComparisonRow =>
      compare([op('r', null, 's', 'n', 0, durationA)], [op('r', null, 's', 'n', 0, durationB)]).rows[0]!;
    expect(rowFor(0, 0)).toMatchObject({ status: 'unchanged', relativeDelta: 0 });
    expect(rowFor(0, 5)).toMatchObject({ status: 'slower', relativeDelta: Infinity });
    expect(rowFor(5, 0)).toMatchObject({ status: 'faster', relativeDelta: -1 });
  });

  it('ignores changes below the minimum absolute delta', () => {
    const a = buildSpanTree([op('r', null, 's', 'n', 0, 1_000)]);
    const b = buildSpanTree([op('r', null, 's', 'n', 0, 3_000)]);
    expect(compareTraces(a, b, { minimumDeltaNanos: 5_000 }).rows[0]?.status).toBe('unchanged');
    expect(compareTraces(a, b, { minimumDeltaNanos: 2_000 }).rows[0]?.status).toBe('slower');
  });

  it('compares empty traces to nothing, and everything against an empty trace', () => {
    expect(compare([], []).rows).toEqual([]);
    expect(compare(baseline, []).countByStatus.missing).toBe(7);
    expect(compare([], baseline).countByStatus.added).toBe(7);
  });

  it('describes a row’s full path from the root', () => {
    const comparison = compare(baseline, baseline);
    const stockRow = comparison.rows.find((row) => row.step.name === 'GET /stock')!;
    expect(stockRow.parentPathId).not.toBeNull();
    expect(describePath(comparison, stockRow.pathId)).toEqual([
      { serviceName: 'shop', name: 'POST /checkout', occurrence: 0 },
      { serviceName: 'shop', name: 'GET inventory', occurrence: 0 },
      { serviceName: 'inventory', name: 'GET /stock', occurrence: 0 },
    ]);
    expect(describePath(comparison, 12345)).toEqual([]);
  });

  it('aligns 100k-deep chains without recursion or path-length blow-up', () => {
    const depth = 100_000;
    const chain = (prefix: string, durationOf: (index: number) => number): TraceSpan[] =>
      Array.from({ length: depth }, (_, index) =>
        op(`${prefix}${index}`, index === 0 ? null : `${prefix}${index - 1}`, 'svc', 'step', index, durationOf(index)),
      );
    const comparison = compare(
      chain('a', () => 100),
      chain('b', (index) => (index === depth - 1 ? 500 : 100)),
    );
    expect(comparison.rows).toHaveLength(depth);
    expect(comparison.rows[depth - 1]).toMatchObject({ depth: depth - 1, status: 'slower', deltaNanos: 400 });
    expect(comparison.countByStatus.unchanged).toBe(depth - 1);
  });
});
