import { describe, expect, it } from 'vitest';
import type { Exemplar, MetricPoint, RedStats, TopologyEdge, TopologyNode } from '../api';
import {
  buildMapGraph,
  countDefinedPoints,
  defaultSpanKind,
  describeExemplarReason,
  edgeLabel,
  edgeWidth,
  errorLevel,
  errorLevelVariable,
  exemplarPoints,
  formatCount,
  formatMillis,
  formatPercent,
  formatRate,
  isolatedIndices,
  maxOf,
  nanosToSeconds,
  nodeLabel,
  nextSort,
  nodeSize,
  serviceRows,
  seriesToChartData,
  sortRows,
  sqrtScale,
  withAlpha,
  topOperationLines,
} from './metrics-view';

function stats(overrides: Partial<RedStats> = {}): RedStats {
  return {
    calls: 100,
    callsPerSecond: 1,
    errors: 0,
    errorRate: 0,
    p50Millis: 10,
    p90Millis: 20,
    p95Millis: 25,
    p99Millis: 40,
    meanMillis: 12,
    minMillis: 1,
    maxMillis: 50,
    ...overrides,
  };
}

function point(timeUnixSeconds: number, overrides: Partial<MetricPoint> = {}): MetricPoint {
  return { ...stats(), timeUnixSeconds, exemplars: 0, ...overrides };
}

const EMPTY_POINT: Partial<MetricPoint> = {
  calls: 0,
  callsPerSecond: 0,
  errors: 0,
  errorRate: null,
  p50Millis: null,
  p90Millis: null,
  p95Millis: null,
  p99Millis: null,
  meanMillis: null,
  minMillis: null,
  maxMillis: null,
};

describe('formatRate', () => {
  it.each([
    [0, '0/s'],
    [0.004, '<0.01/s'],
    [0.01, '0.01/s'],
    [0.5138, '0.514/s'],
    [2.2085, '2.21/s'],
    [12.34, '12.3/s'],
    [265.77, '266/s'],
    [12_345.6, '12,346/s'],
    [Number.NaN, '\u2014'],
  ])('formats %d calls/s as %s', (value, expected) => {
    expect(formatRate(value)).toBe(expected);
  });

  it('formats missing values as a dash', () => {
    expect(formatRate(null)).toBe('\u2014');
    expect(formatRate(undefined)).toBe('\u2014');
  });
});

describe('formatPercent', () => {
  it.each([
    [0, '0%'],
    [0.00005, '<0.01%'],
    [0.0247311, '2.47%'],
    [0.123456, '12.3%'],
    [0.5, '50%'],
    [1, '100%'],
  ])('formats the share %d as %s', (value, expected) => {
    expect(formatPercent(value)).toBe(expected);
  });

  it('formats null (no calls) as a dash', () => {
    expect(formatPercent(null)).toBe('\u2014');
  });
});

describe('formatMillis and formatCount', () => {
  it('uses the app duration format', () => {
    expect(formatMillis(1628.063388)).toBe('1.63 s');
    expect(formatMillis(7.206373)).toBe('7.21 ms');
    expect(formatMillis(0.9)).toBe('900 \u00b5s');
    expect(formatMillis(null)).toBe('\u2014');
  });

  it('separates thousands', () => {
    expect(formatCount(7973)).toBe('7,973');
    expect(formatCount(12)).toBe('12');
  });
});

describe('errorLevel', () => {
  it.each([
    [null, 'ok'],
    [0, 'ok'],
    [0.0099, 'ok'],
    [0.01, 'warning'],
    [0.028, 'warning'],
    [0.0499, 'warning'],
    [0.05, 'error'],
    [1, 'error'],
  ] as const)('levels an error rate of %s as %s', (rate, level) => {
    expect(errorLevel(rate)).toBe(level);
  });

  it('maps levels to theme variables', () => {
    expect(errorLevelVariable('ok')).toBe('--ok');
    expect(errorLevelVariable('warning')).toBe('--warning');
    expect(errorLevelVariable('error')).toBe('--error');
  });
});

describe('sizes', () => {
  it('scales by the square root between the bounds', () => {
    expect(sqrtScale(0, 100, 10, 50)).toBe(10);
    expect(sqrtScale(100, 100, 10, 50)).toBe(50);
    expect(sqrtScale(25, 100, 10, 50)).toBe(30);
    expect(sqrtScale(500, 100, 10, 50)).toBe(50);
    expect(sqrtScale(5, 0, 10, 50)).toBe(10);
  });

  it('keeps nodes and edges within readable bounds and growing with traffic', () => {
    expect(nodeSize(0, 5000)).toBe(30);
    expect(nodeSize(5000, 5000)).toBe(76);
    expect(nodeSize(1000, 5000)).toBeGreaterThan(nodeSize(100, 5000));
    expect(edgeWidth(0, 5000)).toBe(1.5);
    expect(edgeWidth(5000, 5000)).toBe(7);
  });
});

describe('labels', () => {
  it('labels a node with its name, rate and errors when it has any', () => {
    expect(nodeLabel({ service: 'api-gateway', calls: 1860, callsPerSecond: 0.5138, errorRate: 0.0247 })).toBe('api-gateway\n0.514/s \u00b7 2.47% err');
    expect(nodeLabel({ service: 'frontend', calls: 1860, callsPerSecond: 0.5138, errorRate: 0 })).toBe('frontend\n0.514/s');
  });

  it('labels an edge with its rate and p99', () => {
    expect(edgeLabel({ callsPerSecond: 0.3146, p99Millis: 1628.06 })).toBe('0.315/s \u00b7 p99 1.63 s');
    expect(edgeLabel({ callsPerSecond: 0, p99Millis: null })).toBe('0/s');
  });
});

describe('buildMapGraph', () => {
  const nodes: TopologyNode[] = [
    { service: 'order-service', uninstrumented: false, ...stats({ calls: 400 }) },
    { service: 'api-gateway', uninstrumented: false, ...stats({ calls: 100 }) },
    { service: 'mysql/shop', uninstrumented: true, ...stats({ calls: 800 }) },
  ];
  const edges: TopologyEdge[] = [
    { caller: 'order-service', callee: 'mysql/shop', calleeUninstrumented: true, ...stats({ calls: 800, errorRate: 0 }) },
    { caller: 'api-gateway', callee: 'order-service', calleeUninstrumented: false, ...stats({ calls: 400, errorRate: 0.06 }) },
    { caller: 'order-service', callee: 'redis/0', calleeUninstrumented: true, ...stats({ calls: 200, errorRate: 0.02 }) },
  ];

  it('sorts nodes and edges and adds nodes for edge ends without one', () => {
    const graph = buildMapGraph(nodes, edges);
    expect(graph.nodes.map((node) => node.id)).toEqual(['api-gateway', 'mysql/shop', 'order-service', 'redis/0']);
    expect(graph.nodes.find((node) => node.id === 'redis/0')).toMatchObject({ uninstrumented: true, size: 30 });
    expect(graph.edges.map((edge) => [edge.caller, edge.callee])).toEqual([
      ['api-gateway', 'order-service'],
      ['order-service', 'mysql/shop'],
      ['order-service', 'redis/0'],
    ]);
  });

  it('sizes by calls and levels edges by error rate', () => {
    const graph = buildMapGraph(nodes, edges);
    const size = (id: string) => graph.nodes.find((node) => node.id === id)!.size;
    expect(size('mysql/shop')).toBe(76);
    expect(size('order-service')).toBeLessThan(76);
    expect(size('order-service')).toBeGreaterThan(size('api-gateway'));
    expect(graph.edges.map((edge) => edge.level)).toEqual(['error', 'ok', 'warning']);
    expect(graph.edges[1]!.width).toBe(7);
    expect(graph.edges[0]!.label).toBe('1/s \u00b7 p99 40 ms');
  });

  it('handles an empty topology', () => {
    expect(buildMapGraph([], [])).toEqual({ nodes: [], edges: [] });
  });
});

describe('seriesToChartData', () => {
  it('turns empty buckets into gaps, except for the rate, which is a true zero', () => {
    const data = seriesToChartData([
      point(60, { callsPerSecond: 2, errorRate: 0.5, p50Millis: 5, p90Millis: 9, p99Millis: 12 }),
      point(0, { callsPerSecond: 1, errorRate: 0.025 }),
      point(30, EMPTY_POINT),
    ]);
    expect(data.x).toEqual([0, 30, 60]);
    expect(data.callsPerSecond).toEqual([1, 0, 2]);
    expect(data.errorPercent).toEqual([2.5, null, 50]);
    expect(data.p50).toEqual([10, null, 5]);
    expect(data.p90).toEqual([20, null, 9]);
    expect(data.p99).toEqual([40, null, 12]);
  });

  it('extends the x-axis to the end of the window with an empty position', () => {
    const data = seriesToChartData([point(0), point(30)], 75);
    expect(data.x).toEqual([0, 30, 75]);
    expect(data.p99).toEqual([40, 40, null]);
    expect(data.callsPerSecond).toEqual([1, 1, null]);
    expect(seriesToChartData([point(0), point(30)], 30).x).toEqual([0, 30]);
    expect(seriesToChartData([], 30).x).toEqual([30]);
  });
});

describe('point helpers', () => {
  it('counts positions with any value', () => {
    expect(countDefinedPoints([[1, null, null, 3], [null, null, 2, null]])).toBe(3);
    expect(countDefinedPoints([[null, null]])).toBe(0);
    expect(countDefinedPoints([])).toBe(0);
  });

  it('finds values with no neighbours', () => {
    expect(isolatedIndices([null, 1, null, 2, 3, null, 4])).toEqual([1, 6]);
    expect(isolatedIndices([5])).toEqual([0]);
    expect(isolatedIndices([1, 2])).toEqual([]);
    expect(isolatedIndices([null, null])).toEqual([]);
  });

  it('finds the largest value across columns', () => {
    expect(maxOf([1, null, 3], [2, undefined])).toBe(3);
    expect(maxOf([null], [])).toBeNull();
  });
});

describe('exemplars', () => {
  it('reads nanosecond strings without losing the seconds', () => {
    expect(nanosToSeconds('1795300634567498161')).toBeCloseTo(1795300634.5675, 4);
    expect(nanosToSeconds('500000000')).toBe(0.5);
    expect(nanosToSeconds('nope')).toBeNaN();
  });

  const exemplar = (overrides: Partial<Exemplar>): Exemplar => ({
    traceId: 't1',
    spanId: 's1',
    reason: 'slowest',
    operation: 'op',
    spanKind: 'server',
    bucketStartUnixSeconds: 1795300620,
    startTimeUnixNano: '1795300634000000000',
    durationMillis: 10,
    isError: false,
    ...overrides,
  });

  it('dedupes by span, drops unreadable ones and sorts slowest first', () => {
    const points = exemplarPoints([
      exemplar({ traceId: 'a', durationMillis: 5 }),
      exemplar({ traceId: 'b', durationMillis: 50, isError: true, reason: 'keyword' }),
      exemplar({ traceId: 'a', durationMillis: 5, reason: 'sampled' }),
      exemplar({ traceId: 'c', startTimeUnixNano: '' }),
    ]);
    expect(points.map((entry) => [entry.traceId, entry.y, entry.isError])).toEqual([
      ['b', 50, true],
      ['a', 5, false],
    ]);
    expect(points[0]!.x).toBe(1795300634);
  });

  it('describes reasons', () => {
    expect(describeExemplarReason('error_increase')).toBe('error spike');
    expect(describeExemplarReason('other')).toBe('other');
  });
});

describe('defaultSpanKind', () => {
  it('prefers server, then consumer, then all kinds', () => {
    expect(defaultSpanKind([{ spanKind: 'client', calls: 5 }, { spanKind: 'server', calls: 1 }])).toBe('server');
    expect(defaultSpanKind([{ spanKind: 'client', calls: 5 }, { spanKind: 'consumer', calls: 1 }])).toBe('consumer');
    expect(defaultSpanKind([{ spanKind: 'internal', calls: 5 }])).toBe('');
    expect(defaultSpanKind([{ spanKind: 'server', calls: 0 }])).toBe('');
  });
});

describe('sortRows', () => {
  const rows = [
    { name: 'b', value: 2 as number | null },
    { name: 'a', value: null },
    { name: 'c', value: 2 },
    { name: 'd', value: 9 },
  ];

  it('sorts both ways with missing values last and names breaking ties', () => {
    const by = (direction: 'asc' | 'desc') => sortRows(rows, (row) => row.value, direction, (row) => row.name).map((row) => row.name);
    expect(by('desc')).toEqual(['d', 'b', 'c', 'a']);
    expect(by('asc')).toEqual(['b', 'c', 'd', 'a']);
  });

  it('sorts text', () => {
    expect(sortRows(rows, (row) => row.name, 'desc', (row) => row.name).map((row) => row.name)).toEqual(['d', 'c', 'b', 'a']);
  });
});

describe('nextSort', () => {
  it('flips the sorted column and starts another one in its first direction', () => {
    const byCalls = { key: 'calls', direction: 'desc' } as const;
    expect(nextSort<'calls' | 'name'>(byCalls, 'calls')).toEqual({ key: 'calls', direction: 'asc' });
    expect(nextSort<'calls' | 'name'>({ key: 'calls', direction: 'asc' }, 'calls')).toEqual({ key: 'calls', direction: 'desc' });
    expect(nextSort<'calls' | 'name'>(byCalls, 'name')).toEqual({ key: 'name', direction: 'desc' });
    expect(nextSort<'calls' | 'name'>(byCalls, 'name', 'asc')).toEqual({ key: 'name', direction: 'asc' });
    // The first direction only applies to a new column.
    expect(nextSort<'calls' | 'name'>({ key: 'name', direction: 'asc' }, 'name', 'asc')).toEqual({ key: 'name', direction: 'desc' });
  });
});

describe('serviceRows', () => {
  it('lists catalog services with node stats and leaves peers out', () => {
    const rows = serviceRows(
      ['order-service', 'batch-job'],
      [
        { service: 'order-service', uninstrumented: false, ...stats({ calls: 7 }) },
        { service: 'frontend', uninstrumented: false, ...stats({ calls: 3 }) },
        { service: 'mysql/shop', uninstrumented: true, ...stats() },
      ],
    );
    expect(rows.map((row) => [row.service, row.stats?.calls ?? null])).toEqual([
      ['batch-job', null],
      ['frontend', 3],
      ['order-service', 7],
    ]);
  });
});

describe('withAlpha', () => {
  it('adds an alpha to hex and rgb colours', () => {
    expect(withAlpha('#2f62d0', 0.2)).toBe('rgba(47, 98, 208, 0.2)');
    expect(withAlpha(' #fff', 0.5)).toBe('rgba(255, 255, 255, 0.5)');
    expect(withAlpha('rgb(21, 22, 26)', 1)).toBe('rgba(21, 22, 26, 1)');
    expect(withAlpha('rgb(21 22 26)', 0.1)).toBe('rgba(21, 22, 26, 0.1)');
    expect(withAlpha('red', 0.1)).toBe('red');
  });
});

describe('top operation lines', () => {
  const point = (time: number, calls: number, p99: number | null) => ({
    timeUnixSeconds: time,
    exemplars: 0,
    calls,
    callsPerSecond: calls / 30,
    errors: 0,
    errorRate: calls ? 0 : null,
    p50Millis: p99,
    p90Millis: p99,
    p95Millis: p99,
    p99Millis: p99,
    meanMillis: p99,
    minMillis: p99,
    maxMillis: p99,
  });
  const series = (operation: string, calls: number, points: ReturnType<typeof point>[]) => ({
    serviceName: 'svc',
    operation,
    spanKind: 'client',
    totals: { ...point(0, calls, 1), callsPerSecond: 0 },
    points,
  });

  it('keeps the busiest operations on one time axis, with gaps for p99 where there were no calls', () => {
    const lines = topOperationLines(
      [
        series('rare', 1, [point(30, 1, 5)]),
        series('busy', 90, [point(0, 60, 10), point(30, 0, null)]),
        series('middle', 10, [point(30, 10, 7)]),
      ],
      2,
      60,
    );
    expect(lines.x).toEqual([0, 30, 60]);
    expect(lines.lines.map((line) => line.label)).toEqual(['busy (client)', 'middle (client)']);
    expect(lines.lines[0]!.callsPerSecond).toEqual([2, 0, null]);
    expect(lines.lines[0]!.p99).toEqual([10, null, null]);
    expect(lines.lines[1]!.callsPerSecond).toEqual([null, 10 / 30, null]);
    expect(lines.lines[1]!.p99).toEqual([null, 7, null]);
  });

  it('leaves out operations without calls and answers an empty axis for no series', () => {
    expect(topOperationLines([series('idle', 0, [point(0, 0, null)])], 5).lines).toEqual([]);
    expect(topOperationLines([], 5, 90)).toEqual({ x: [90], lines: [] });
  });
});
