import { describe, expect, it } from 'vitest';
import { alignTraces, classifyPaths, compareTraces, describePath, type PathComparisonRow, type TraceComparison } from './compare';
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

  it('does not confuse a service and name that concatenate alike, whatever characters they hold', () => {
    const pairs: [string, string, string, string][] = [
      ['ab', 'c', 'a', 'bc'],
      ['1:a', 'b', '1', ':ab'],
      ['a\u0000b', 'c', 'a', 'b\u0000c'],
      ['', 'x', 'x', ''],
    ];
    for (const [serviceA, nameA, serviceB, nameB] of pairs) {
      const a = [op('r', null, 'gw', 'root', 0, 100), op('c', 'r', serviceA, nameA, 0, 10)];
      const b = [op('r', null, 'gw', 'root', 0, 100), op('c', 'r', serviceB, nameB, 0, 10)];
      expect(summarise(compare(a, b).rows)).toEqual([
        'gw:root#0 unchanged',
        `  ${serviceA}:${nameA}#0 missing`,
        `  ${serviceB}:${nameB}#0 added`,
      ]);
    }
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

  it('looks rows up by path ID, which is the row position', () => {
    const comparison = compare(baseline, baseline);
    comparison.rows.forEach((row, index) => expect(row.pathId).toBe(index));
    expect(comparison.rowByPathId.size).toBe(7);
    expect(comparison.rowByPathId.get(3)).toBe(comparison.rows[3]);
    expect(comparison.rowByPathId.has(7)).toBe(false);
    expect(comparison.rowByPathId.get(-1)).toBeUndefined();
    expect(comparison.rowByPathId.get(1.5)).toBeUndefined();
    expect([...comparison.rowByPathId.keys()]).toEqual([0, 1, 2, 3, 4, 5, 6]);
    expect([...comparison.rowByPathId].map(([pathId, row]) => [pathId, row.step.name])[6]).toEqual([6, 'notify']);
  });

  it('counts same-named siblings of each path in A and in B', () => {
    const candidate = [...baseline.filter((span) => span.spanId !== 'a-q3'), op('b-q4', 'a-root', 'payments', 'SELECT', 600, 50), op('b-q5', 'a-root', 'payments', 'SELECT', 700, 50)];
    const rows = compare(baseline, candidate).rows;
    const selects = rows.filter((row) => row.step.name === 'SELECT');
    expect(selects.map((row) => [row.siblingCountA, row.siblingCountB])).toEqual([
      [3, 4],
      [3, 4],
      [3, 4],
      [3, 4],
    ]);
    expect(rows.find((row) => row.step.name === 'notify')).toMatchObject({ siblingCountA: 1, siblingCountB: 1 });
  });

  it('aligns once and reclassifies under other thresholds without changing the paths', () => {
    const candidate = [
      op('b-root', null, 'shop', 'POST /checkout', 0, 1_300), // +30 %
      op('b-inv', 'b-root', 'shop', 'GET inventory', 10, 105), // +5 %, +5 ns
      op('b-inv-srv', 'b-inv', 'inventory', 'GET /stock', 20, 40), // −50 %
      op('b-q1', 'b-root', 'payments', 'SELECT', 200, 80), // +60 %, +30 ns
      op('b-notify', 'b-root', 'shop', 'notify', 500, 100),
      op('b-extra', 'b-root', 'shop', 'audit', 900, 10),
    ];
    const alignment = alignTraces(buildSpanTree(baseline), buildSpanTree(candidate));
    const frozen = JSON.stringify(alignment.paths);
    const strict = classifyPaths(alignment, { relativeThreshold: 0 });
    const usual = classifyPaths(alignment, { relativeThreshold: 0.1 });
    const lax = classifyPaths(alignment, { relativeThreshold: 0.4 });
    const coarse = classifyPaths(alignment, { relativeThreshold: 0, minimumDeltaNanos: 50 });
    // The alignment is left as it was, and every classification has the same paths.
    expect(JSON.stringify(alignment.paths)).toBe(frozen);
    const shape = (comparison: TraceComparison) =>
      comparison.rows.map((row) => [row.pathId, row.parentPathId, row.depth, row.step, row.spanIdInA, row.spanIdInB, row.deltaNanos]);
    for (const comparison of [usual, lax, coarse]) expect(shape(comparison)).toEqual(shape(strict));
    // …but the statuses follow the thresholds.
    const statuses = (comparison: TraceComparison) => comparison.rows.map((row) => `${row.step.name}#${row.step.occurrence} ${row.status}`);
    expect(statuses(strict)).toEqual([
      'POST /checkout#0 slower',
      'GET inventory#0 slower',
      'GET /stock#0 faster',
      'SELECT#0 slower',
      'SELECT#1 missing',
      'SELECT#2 missing',
      'notify#0 unchanged',
      'audit#0 added',
    ]);
    expect(statuses(usual).slice(0, 4)).toEqual(['POST /checkout#0 slower', 'GET inventory#0 unchanged', 'GET /stock#0 faster', 'SELECT#0 slower']);
    expect(statuses(lax).slice(0, 4)).toEqual(['POST /checkout#0 unchanged', 'GET inventory#0 unchanged', 'GET /stock#0 faster', 'SELECT#0 slower']);
    expect(statuses(coarse).slice(0, 4)).toEqual(['POST /checkout#0 slower', 'GET inventory#0 unchanged', 'GET /stock#0 unchanged', 'SELECT#0 unchanged']);
    expect(lax.countByStatus).toEqual({ missing: 2, added: 1, slower: 1, faster: 1, unchanged: 3 });
    // compareTraces is the two steps in one.
    expect(compareTraces(buildSpanTree(baseline), buildSpanTree(candidate), { relativeThreshold: 0.4 }).rows).toEqual(lax.rows);
  });

  it('aligns two ~50k-span traces with repeated siblings, keeping the known paths right', () => {
    // gw:root → 1,000 × api:request, each with 30 × db:SELECT and 19 × cache:GET interleaved
    // (50,001 spans). B: request #500 has a 31st SELECT, request #10 lacks its last GET, and
    // request #999's last SELECT took ten times as long.
    const requests = 1_000;
    const build = (prefix: string, variant: 'a' | 'b'): TraceSpan[] => {
      const spans: TraceSpan[] = [op(`${prefix}root`, null, 'gw', 'root', 0, 10_000_000)];
      for (let request = 0; request < requests; request += 1) {
        const requestId = `${prefix}r${request}`;
        const requestStart = request * 10_000;
        spans.push(op(requestId, `${prefix}root`, 'api', 'request', requestStart, 9_000));
        let selects = 30;
        let gets = 19;
        if (variant === 'b' && request === 500) selects = 31;
        if (variant === 'b' && request === 10) gets = 18;
        for (let child = 0; child < Math.max(selects, gets); child += 1) {
          if (child < selects) {
            const slow = variant === 'b' && request === requests - 1 && child === selects - 1;
            spans.push(op(`${requestId}s${child}`, requestId, 'db', 'SELECT', requestStart + child * 100, slow ? 500 : 50));
          }
          if (child < gets) spans.push(op(`${requestId}g${child}`, requestId, 'cache', 'GET', requestStart + child * 100 + 50, 20));
        }
      }
      return spans;
    };
    const spansA = build('a', 'a');
    const spansB = build('b', 'b');
    expect(spansA).toHaveLength(50_001);
    const alignment = alignTraces(buildSpanTree(spansA), buildSpanTree(spansB));
    const comparison = classifyPaths(alignment);
    expect(comparison.rows).toHaveLength(50_002);
    expect(comparison.countByStatus).toEqual({ missing: 1, added: 1, slower: 1, faster: 0, unchanged: 49_999 });

    const find = (request: number, serviceName: string, name: string, occurrence: number): PathComparisonRow => {
      const requestRow = comparison.rows.find((row) => row.depth === 1 && row.step.occurrence === request)!;
      expect(requestRow.step).toEqual({ serviceName: 'api', name: 'request', occurrence: request });
      const row = comparison.rows.find(
        (candidate) =>
          candidate.parentPathId === requestRow.pathId &&
          candidate.step.serviceName === serviceName &&
          candidate.step.name === name &&
          candidate.step.occurrence === occurrence,
      );
      expect(row, `${request} ${name}#${occurrence}`).toBeDefined();
      return row!;
    };
    expect(find(500, 'db', 'SELECT', 30)).toMatchObject({ status: 'added', spanIdInA: null, spanIdInB: 'br500s30', siblingCountA: 30, siblingCountB: 31 });
    expect(find(500, 'db', 'SELECT', 29)).toMatchObject({ status: 'unchanged', spanIdInA: 'ar500s29', spanIdInB: 'br500s29' });
    expect(find(10, 'cache', 'GET', 18)).toMatchObject({ status: 'missing', spanIdInA: 'ar10g18', spanIdInB: null, siblingCountB: 18 });
    expect(find(999, 'db', 'SELECT', 29)).toMatchObject({ status: 'slower', deltaNanos: 450, relativeDelta: 9 });
    expect(find(0, 'cache', 'GET', 0)).toMatchObject({ status: 'unchanged', spanIdInA: 'ar0g0', spanIdInB: 'br0g0', depth: 2 });
    expect(describePath(comparison, find(999, 'db', 'SELECT', 29).pathId)).toEqual([
      { serviceName: 'gw', name: 'root', occurrence: 0 },
      { serviceName: 'api', name: 'request', occurrence: 999 },
      { serviceName: 'db', name: 'SELECT', occurrence: 29 },
    ]);
    // In A's order (SELECTs and GETs interleaved by start time), with B's extra SELECT after them.
    const request500 = find(500, 'db', 'SELECT', 0).parentPathId!;
    const children = comparison.rows.filter((row) => row.parentPathId === request500).map((row) => `${row.step.name}#${row.step.occurrence}`);
    expect(children).toHaveLength(50);
    expect(children.slice(0, 3)).toEqual(['SELECT#0', 'GET#0', 'SELECT#1']);
    expect(children.slice(37, 41)).toEqual(['GET#18', 'SELECT#19', 'SELECT#20', 'SELECT#21']);
    expect(children.slice(-2)).toEqual(['SELECT#29', 'SELECT#30']);
    // A stricter threshold reclassifies without aligning again.
    expect(classifyPaths(alignment, { relativeThreshold: 10 }).countByStatus.slower).toBe(0);
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
