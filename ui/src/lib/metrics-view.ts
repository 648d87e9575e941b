// Pure helpers behind the service map and the service dashboard: API answers → chart arrays,
// graph sizes and colour levels, and the short number formats both pages share. No DOM here,
// so all of it is unit-tested.
import type { Exemplar, MetricPoint, MetricSeries, OperationStats, RedStats, TopologyEdge, TopologyNode } from '../api';
import { formatDuration } from './format';

// ---- formatting ----------------------------------------------------------------------------

/** Calls per second, as "265/s", "12.3/s", "0.52/s", "<0.01/s" or "0/s". */
export function formatRate(perSecond: number | null | undefined): string {
  if (perSecond === null || perSecond === undefined || !Number.isFinite(perSecond)) return '\u2014';
  if (perSecond <= 0) return '0/s';
  if (perSecond < 0.01) return '<0.01/s';
  if (perSecond >= 100) return `${Math.round(perSecond).toLocaleString('en-US')}/s`;
  return `${Number(perSecond.toPrecision(3))}/s`;
}

/** A share 0..1 as a percentage: "0%", "<0.01%", "2.47%", "12.3%", "100%"; null is "—". */
export function formatPercent(share: number | null | undefined): string {
  if (share === null || share === undefined || !Number.isFinite(share)) return '\u2014';
  const percent = share * 100;
  if (percent <= 0) return '0%';
  if (percent < 0.01) return '<0.01%';
  if (percent >= 100) return '100%';
  return `${Number(percent.toPrecision(3))}%`;
}

/** Milliseconds (as the metrics API gives latencies) in the app's duration format; null is "—". */
export function formatMillis(millis: number | null | undefined): string {
  if (millis === null || millis === undefined || !Number.isFinite(millis)) return '\u2014';
  return formatDuration(millis * 1e6);
}

/** A whole count with thousands separators: 12,345. */
export function formatCount(count: number): string {
  return Math.round(count).toLocaleString('en-US');
}

// ---- error levels and sizes ------------------------------------------------------------------

export type ErrorLevel = 'ok' | 'warning' | 'error';

/** Error rate thresholds of the map and the tables: warning from 1 %, error from 5 %. */
export const WARNING_ERROR_RATE = 0.01;
export const ERROR_ERROR_RATE = 0.05;

export function errorLevel(errorRate: number | null | undefined): ErrorLevel {
  if (errorRate === null || errorRate === undefined || !Number.isFinite(errorRate)) return 'ok';
  if (errorRate >= ERROR_ERROR_RATE) return 'error';
  if (errorRate >= WARNING_ERROR_RATE) return 'warning';
  return 'ok';
}

/** The theme variable that colours an error level. */
export function errorLevelVariable(level: ErrorLevel): '--ok' | '--warning' | '--error' {
  return level === 'error' ? '--error' : level === 'warning' ? '--warning' : '--ok';
}

/**
 * A square-root scale from [0, maxValue] onto [minSize, maxSize]: a node with four times the
 * traffic is twice as wide, so areas stay roughly proportional and small services stay visible.
 */
export function sqrtScale(value: number, maxValue: number, minSize: number, maxSize: number): number {
  if (!(maxValue > 0) || !(value > 0)) return minSize;
  const share = Math.min(1, value / maxValue);
  return minSize + (maxSize - minSize) * Math.sqrt(share);
}

export function nodeSize(calls: number, maxCalls: number): number {
  return Math.round(sqrtScale(calls, maxCalls, 30, 76));
}

export function edgeWidth(calls: number, maxCalls: number): number {
  return Math.round(sqrtScale(calls, maxCalls, 1.5, 7) * 10) / 10;
}

// ---- topology -----------------------------------------------------------------------------------

/** "api-gateway\n0.52/s · 2.47% errors": the label under a node of the map. */
export function nodeLabel(node: Pick<TopologyNode, 'service' | 'callsPerSecond' | 'errorRate' | 'calls'>): string {
  const parts = [formatRate(node.callsPerSecond)];
  if (node.errorRate !== null && node.errorRate > 0) parts.push(`${formatPercent(node.errorRate)} err`);
  return `${node.service}\n${parts.join(' \u00b7 ')}`;
}

/** "0.31/s · p99 1.63 s": the label on an edge of the map. */
export function edgeLabel(edge: Pick<RedStats, 'callsPerSecond' | 'p99Millis'>): string {
  const rate = formatRate(edge.callsPerSecond);
  return edge.p99Millis === null ? rate : `${rate} \u00b7 p99 ${formatMillis(edge.p99Millis)}`;
}

export interface MapNode {
  id: string;
  service: string;
  uninstrumented: boolean;
  size: number;
  label: string;
  stats: RedStats;
}

export interface MapEdge {
  id: string;
  caller: string;
  callee: string;
  calleeUninstrumented: boolean;
  width: number;
  level: ErrorLevel;
  label: string;
  stats: RedStats;
}

function statsOf(value: RedStats): RedStats {
  return {
    calls: value.calls,
    callsPerSecond: value.callsPerSecond,
    errors: value.errors,
    errorRate: value.errorRate,
    p50Millis: value.p50Millis,
    p90Millis: value.p90Millis,
    p95Millis: value.p95Millis,
    p99Millis: value.p99Millis,
    meanMillis: value.meanMillis,
    minMillis: value.minMillis,
    maxMillis: value.maxMillis,
  };
}

const EMPTY_STATS: RedStats = {
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

/**
 * The map's graph from a topology answer: one node per service (also for an edge end the answer
 * has no node for), nodes sized by calls, edges sized by calls and levelled by error rate.
 * Sorted by name so the layout and the tables are stable between refreshes.
 */
export function buildMapGraph(nodes: readonly TopologyNode[], edges: readonly TopologyEdge[]): { nodes: MapNode[]; edges: MapEdge[] } {
  const byName = new Map<string, { uninstrumented: boolean; stats: RedStats }>();
  for (const node of nodes) byName.set(node.service, { uninstrumented: node.uninstrumented, stats: statsOf(node) });
  for (const edge of edges) {
    if (!byName.has(edge.caller)) byName.set(edge.caller, { uninstrumented: false, stats: EMPTY_STATS });
    if (!byName.has(edge.callee)) byName.set(edge.callee, { uninstrumented: edge.calleeUninstrumented, stats: EMPTY_STATS });
  }
  const maxNodeCalls = Math.max(0, ...[...byName.values()].map((entry) => entry.stats.calls));
  const maxEdgeCalls = Math.max(0, ...edges.map((edge) => edge.calls));
  const mapNodes = [...byName.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([service, entry]) => ({
      id: service,
      service,
      uninstrumented: entry.uninstrumented,
      size: nodeSize(entry.stats.calls, maxNodeCalls),
      label: nodeLabel({ service, ...entry.stats }),
      stats: entry.stats,
    }));
  const mapEdges = [...edges]
    .sort((a, b) => a.caller.localeCompare(b.caller) || a.callee.localeCompare(b.callee))
    .map((edge) => ({
      id: `${edge.caller}\u2192${edge.callee}`,
      caller: edge.caller,
      callee: edge.callee,
      calleeUninstrumented: edge.calleeUninstrumented,
      width: edgeWidth(edge.calls, maxEdgeCalls),
      level: errorLevel(edge.errorRate),
      label: edgeLabel(edge),
      stats: statsOf(edge),
    }));
  return { nodes: mapNodes, edges: mapEdges };
}

// ---- series → chart data -----------------------------------------------------------------------

export interface ChartData {
  /** Bucket starts in Unix seconds, plus the window's end so the x-axis spans the whole range. */
  x: number[];
  callsPerSecond: (number | null)[];
  /** Percent, 0..100; null where a bucket had no calls. */
  errorPercent: (number | null)[];
  p50: (number | null)[];
  p90: (number | null)[];
  p99: (number | null)[];
}

/**
 * uPlot's aligned arrays from a series' points. A bucket without calls has no error rate and no
 * latency: those are null, so the lines show a gap instead of a fake zero. Its rate is a true
 * zero (every span counts; nothing is sampled). `windowEnd` (Unix seconds) adds a last x with no
 * values so the axis reaches the end of the range even though buckets are keyed by their start.
 */
export function seriesToChartData(points: readonly MetricPoint[], windowEnd?: number): ChartData {
  const sorted = [...points].sort((a, b) => a.timeUnixSeconds - b.timeUnixSeconds);
  const data: ChartData = { x: [], callsPerSecond: [], errorPercent: [], p50: [], p90: [], p99: [] };
  for (const point of sorted) {
    const hasCalls = point.calls > 0;
    data.x.push(point.timeUnixSeconds);
    data.callsPerSecond.push(Number.isFinite(point.callsPerSecond) ? point.callsPerSecond : null);
    data.errorPercent.push(hasCalls && point.errorRate !== null ? point.errorRate * 100 : null);
    data.p50.push(hasCalls ? point.p50Millis : null);
    data.p90.push(hasCalls ? point.p90Millis : null);
    data.p99.push(hasCalls ? point.p99Millis : null);
  }
  const last = data.x[data.x.length - 1];
  if (windowEnd !== undefined && Number.isFinite(windowEnd) && (last === undefined || windowEnd > last)) {
    data.x.push(windowEnd);
    data.callsPerSecond.push(null);
    data.errorPercent.push(null);
    data.p50.push(null);
    data.p90.push(null);
    data.p99.push(null);
  }
  return data;
}

export interface OperationLines {
  /** Bucket starts of every series (their union), plus the window's end. */
  x: number[];
  lines: { label: string; callsPerSecond: (number | null)[]; p99: (number | null)[] }[];
}

/**
 * The `count` busiest operations of a `groupBy=operation` answer as lines on one time axis:
 * calls/s (0 where an operation had no calls in a bucket) and p99 (a gap there).
 */
export function topOperationLines(series: readonly MetricSeries[], count: number, windowEnd?: number): OperationLines {
  const busiest = [...series]
    .filter((entry) => entry.totals.calls > 0)
    .sort((a, b) => b.totals.calls - a.totals.calls || (a.operation ?? '').localeCompare(b.operation ?? ''))
    .slice(0, count);
  const times = new Set<number>();
  for (const entry of busiest) for (const point of entry.points) times.add(point.timeUnixSeconds);
  const x = [...times].sort((a, b) => a - b);
  const last = x[x.length - 1];
  const withEnd = windowEnd !== undefined && Number.isFinite(windowEnd) && (last === undefined || windowEnd > last);
  if (withEnd) x.push(windowEnd);
  const position = new Map(x.map((time, index) => [time, index]));
  const lines = busiest.map((entry) => {
    const callsPerSecond: (number | null)[] = x.map(() => null);
    const p99: (number | null)[] = x.map(() => null);
    for (const point of entry.points) {
      const index = position.get(point.timeUnixSeconds)!;
      callsPerSecond[index] = Number.isFinite(point.callsPerSecond) ? point.callsPerSecond : null;
      p99[index] = point.calls > 0 ? point.p99Millis : null;
    }
    return { label: `${entry.operation ?? '(all)'}${entry.spanKind ? ` (${entry.spanKind})` : ''}`, callsPerSecond, p99 };
  });
  return { x, lines };
}

/** How many x positions have at least one value in any of `columns`. */
export function countDefinedPoints(columns: readonly (readonly (number | null | undefined)[])[]): number {
  const length = Math.max(0, ...columns.map((column) => column.length));
  let count = 0;
  for (let index = 0; index < length; index += 1) {
    if (columns.some((column) => column[index] !== null && column[index] !== undefined)) count += 1;
  }
  return count;
}

/**
 * Indices of values with no defined neighbour on either side. A line through them has no
 * length, so the chart draws them as dots; otherwise a lone bucket would be invisible.
 */
export function isolatedIndices(values: readonly (number | null | undefined)[]): number[] {
  const defined = (index: number) => values[index] !== null && values[index] !== undefined;
  const indices: number[] = [];
  for (let index = 0; index < values.length; index += 1) {
    if (defined(index) && !defined(index - 1) && !defined(index + 1)) indices.push(index);
  }
  return indices;
}

/** The largest finite value of some columns, or null. */
export function maxOf(...columns: readonly (readonly (number | null | undefined)[])[]): number | null {
  let max: number | null = null;
  for (const column of columns) {
    for (const value of column) {
      if (value !== null && value !== undefined && Number.isFinite(value) && (max === null || value > max)) max = value;
    }
  }
  return max;
}

// ---- exemplars ---------------------------------------------------------------------------------

/** Unix nanoseconds (a decimal string, as the API sends them) → Unix seconds with a fraction. */
export function nanosToSeconds(nanos: string): number {
  const text = nanos.trim();
  if (!/^\d+$/.test(text)) return Number.NaN;
  if (text.length <= 9) return Number(text) / 1e9;
  return Number(text.slice(0, -9)) + Number(text.slice(-9)) / 1e9;
}

export interface ExemplarPoint {
  traceId: string;
  spanId: string;
  /** Unix seconds. */
  x: number;
  /** Milliseconds. */
  y: number;
  isError: boolean;
  reason: Exemplar['reason'];
  operation: string;
  spanKind: string;
}

/** Exemplars as chart points, each trace span once, slowest first (so the slow ones are listed first). */
export function exemplarPoints(exemplars: readonly Exemplar[]): ExemplarPoint[] {
  const seen = new Set<string>();
  const points: ExemplarPoint[] = [];
  for (const exemplar of exemplars) {
    const key = `${exemplar.traceId}/${exemplar.spanId}`;
    if (seen.has(key)) continue;
    seen.add(key);
    const x = nanosToSeconds(exemplar.startTimeUnixNano);
    if (!Number.isFinite(x) || !Number.isFinite(exemplar.durationMillis)) continue;
    points.push({
      traceId: exemplar.traceId,
      spanId: exemplar.spanId,
      x,
      y: exemplar.durationMillis,
      isError: exemplar.isError,
      reason: exemplar.reason,
      operation: exemplar.operation,
      spanKind: exemplar.spanKind,
    });
  }
  return points.sort((a, b) => b.y - a.y || a.x - b.x);
}

export function describeExemplarReason(reason: string): string {
  switch (reason) {
    case 'slowest':
      return 'slowest in bucket';
    case 'sampled':
      return 'sampled';
    case 'keyword':
      return 'error keyword';
    case 'error_increase':
      return 'error spike';
    default:
      return reason;
  }
}

// ---- operations and services ------------------------------------------------------------------

const ENTRY_KINDS = ['server', 'consumer'] as const;

/**
 * The span kind a dashboard shows by default: the kind a service's own traffic arrives as
 * (server, else consumer), so "calls" and "latency" mean requests served, not the service's
 * own database or downstream calls mixed in. Empty string means all kinds.
 */
export function defaultSpanKind(operations: readonly Pick<OperationStats, 'spanKind' | 'calls'>[]): string {
  for (const kind of ENTRY_KINDS) {
    if (operations.some((operation) => operation.spanKind === kind && operation.calls > 0)) return kind;
  }
  return '';
}

export type SortDirection = 'asc' | 'desc';

/** Which column a table is sorted by, and which way; every sortable table of the app uses it. */
export interface SortState<K extends string> {
  key: K;
  direction: SortDirection;
}

/**
 * A click on a column header: the sorted column flips direction, another column starts in
 * `firstDirection` (largest first unless said otherwise; names read best A to Z).
 */
export function nextSort<K extends string>(current: SortState<K>, key: K, firstDirection: SortDirection = 'desc'): SortState<K> {
  if (current.key === key) return { key, direction: current.direction === 'asc' ? 'desc' : 'asc' };
  return { key, direction: firstDirection };
}

/**
 * Rows sorted by a numeric or text column; missing values (null) go last in either direction,
 * and ties keep the name order so the table does not shuffle.
 */
export function sortRows<T>(rows: readonly T[], value: (row: T) => number | string | null, direction: SortDirection, name: (row: T) => string): T[] {
  const sign = direction === 'asc' ? 1 : -1;
  return [...rows].sort((a, b) => {
    const left = value(a);
    const right = value(b);
    if (left === null && right === null) return name(a).localeCompare(name(b));
    if (left === null) return 1;
    if (right === null) return -1;
    const compared = typeof left === 'string' || typeof right === 'string' ? String(left).localeCompare(String(right)) : left - right;
    return compared !== 0 ? sign * compared : name(a).localeCompare(name(b));
  });
}

export interface ServiceRow {
  service: string;
  stats: RedStats | null;
}

/**
 * The services list: every service the catalog knows, with the calls it served from the
 * topology's nodes (server and consumer spans). Uninstrumented peers are left out; they have no
 * dashboard.
 */
export function serviceRows(services: readonly string[], nodes: readonly TopologyNode[]): ServiceRow[] {
  const stats = new Map(nodes.filter((node) => !node.uninstrumented).map((node) => [node.service, statsOf(node)] as const));
  const names = new Set([...services, ...stats.keys()]);
  return [...names].sort((a, b) => a.localeCompare(b)).map((service) => ({ service, stats: stats.get(service) ?? null }));
}

// ---- colours -----------------------------------------------------------------------------------

/**
 * A CSS colour (`#rgb`, `#rrggbb`, `rgb(r g b)` or `rgb(r, g, b)`) with an alpha, for fills on a
 * canvas; anything else comes back unchanged.
 */
export function withAlpha(colour: string, alpha: number): string {
  const text = colour.trim();
  let rgb: [number, number, number] | null = null;
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(text);
  if (hex) {
    const digits = hex[1]!;
    const full = digits.length === 3 ? digits.split('').map((digit) => digit + digit).join('') : digits;
    rgb = [parseInt(full.slice(0, 2), 16), parseInt(full.slice(2, 4), 16), parseInt(full.slice(4, 6), 16)];
  } else {
    const functional = /^rgba?\(\s*(\d+)[\s,]+(\d+)[\s,]+(\d+)/i.exec(text);
    if (functional) rgb = [Number(functional[1]), Number(functional[2]), Number(functional[3])];
  }
  if (!rgb) return text;
  return `rgba(${rgb[0]}, ${rgb[1]}, ${rgb[2]}, ${alpha})`;
}
