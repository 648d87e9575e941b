// Pure helpers behind the diagnostics views (the Diagnostics, Database and Redis pages and the
// trace page's "Diagnosis" section): finding kinds and their measures as words, rates, sizes,
// the interruption series, the assembler's state, and which spans a finding is about. No DOM
// here, so all of it is unit-tested.
import type {
  AssemblerStatus,
  EndpointCalls,
  FindingKind,
  InterruptionPoint,
  InterruptionReport,
  LatencySummary,
  StatementRow,
  TraceFinding,
} from '../api';
import { formatDuration, formatLocalTimestamp } from './format';

const DASH = '\u2014';

// ---- finding kinds ----------------------------------------------------------------------------

/** How a badge is coloured: var(--error), var(--warning) or var(--text-muted). */
export type FindingTone = 'error' | 'warning' | 'muted';

export interface FindingKindInfo {
  kind: FindingKind;
  /** How people say it, as the server's `title`: "repeated calls". */
  label: string;
  tone: FindingTone;
  /** One sentence for a tooltip: what the finding means. */
  description: string;
}

/** Every kind, in the order the server lists them (and the kind filter offers them). */
export const FINDING_KINDS: readonly FindingKindInfo[] = [
  {
    kind: 'broken_trace',
    label: 'broken trace',
    tone: 'error',
    description: 'A span names a parent span that never arrived: an uninstrumented hop, lost spans or broken context propagation.',
  },
  {
    kind: 'bottleneck',
    label: 'bottleneck',
    tone: 'warning',
    description: "One span's own time (not waiting for its children) is most of the trace's duration.",
  },
  {
    kind: 'repeated_calls',
    label: 'repeated calls',
    tone: 'warning',
    description: 'The same downstream call many times under one parent: N+1 queries, a loop of RPCs or cache reads.',
  },
  {
    kind: 'timeout_misconfiguration',
    label: 'timeout misconfiguration',
    tone: 'warning',
    description: 'A callee waits longer than its caller is willing to: the extra wait is wasted.',
  },
  {
    kind: 'cycle',
    label: 'call cycle',
    tone: 'warning',
    description: 'Calls go round: a service is called back by a service it called.',
  },
];

/** Whether `text` is a finding kind this UI knows. */
export function isFindingKind(text: string): text is FindingKind {
  return FINDING_KINDS.some((info) => info.kind === text);
}

/**
 * The badge of a kind. The server's `title` wins when it sends one; a kind this UI does not know
 * is shown as sent ("new_kind" → "new kind"), muted.
 */
export function describeFindingKind(kind: string, title?: string): { label: string; tone: FindingTone; description: string } {
  const known = FINDING_KINDS.find((info) => info.kind === kind);
  const label = title?.trim() || known?.label || kind.replace(/_/g, ' ') || 'finding';
  if (!known) return { label, tone: 'muted', description: `A finding of kind "${kind}".` };
  return { label, tone: known.tone, description: known.description };
}

function plural(count: number, one: string, many: string): string {
  return `${count.toLocaleString('en-US')} ${count === 1 ? one : many}`;
}

/**
 * A finding's measure in words, by kind: "8 calls" (repetitions), "62.5 % self time" (per mille
 * of the trace), "timeout 3 s" (the callee's timeout), "cycle of 2 services", "1 missing
 * parent". A kind this UI does not know shows the bare number.
 */
export function describeFindingValue(kind: string, value: number): string {
  if (!Number.isFinite(value)) return DASH;
  switch (kind) {
    case 'repeated_calls':
      return plural(value, 'call', 'calls');
    case 'bottleneck':
      return `${Number((value / 10).toFixed(1))} % self time`;
    case 'timeout_misconfiguration':
      return `timeout ${formatDuration(value)}`;
    case 'cycle':
      return `cycle of ${plural(value, 'service', 'services')}`;
    case 'broken_trace':
      return plural(value, 'missing parent', 'missing parents');
    default:
      return value.toLocaleString('en-US');
  }
}

/** The kind filter of a URL: '' for every kind; anything else is passed on as typed (the server judges it). */
export function kindFromQuery(search: URLSearchParams): string {
  return search.get('kind')?.trim() ?? '';
}

/** Rows grouped by kind, known kinds in FINDING_KINDS order then unknown ones as they come; rows keep their order. */
export function groupByKind<T extends { kind: string }>(rows: readonly T[]): { kind: string; rows: T[] }[] {
  const groups = new Map<string, T[]>();
  for (const info of FINDING_KINDS) groups.set(info.kind, []);
  for (const row of rows) {
    let group = groups.get(row.kind);
    if (!group) {
      group = [];
      groups.set(row.kind, group);
    }
    group.push(row);
  }
  return [...groups].filter(([, group]) => group.length > 0).map(([kind, group]) => ({ kind, rows: group }));
}

/** The kinds present, each once, in kind order: ["bottleneck", "repeated calls"]. */
export function findingLabels(findings: readonly Pick<TraceFinding, 'kind' | 'title'>[]): string[] {
  return groupByKind(findings).map((group) => describeFindingKind(group.kind, group.rows[0]!.title).label);
}

/** "No findings", "1 finding: repeated calls", "3 findings: bottleneck, repeated calls". */
export function summariseFindings(findings: readonly Pick<TraceFinding, 'kind' | 'title'>[]): string {
  if (findings.length === 0) return 'No findings';
  return `${plural(findings.length, 'finding', 'findings')}: ${findingLabels(findings).join(', ')}`;
}

// ---- spans of a finding -----------------------------------------------------------------------

/**
 * A finding's spans as the waterfall keys them (lower case, each once, in the server's order),
 * split into those the loaded trace has and those it does not.
 */
export function findingSpans(spanIds: readonly string[], hasSpan: (spanId: string) => boolean): { present: string[]; missing: string[] } {
  const present: string[] = [];
  const missing: string[] = [];
  const seen = new Set<string>();
  for (const raw of spanIds) {
    const spanId = raw.toLowerCase();
    if (seen.has(spanId)) continue;
    seen.add(spanId);
    (hasSpan(spanId) ? present : missing).push(spanId);
  }
  return { present, missing };
}

/**
 * The spans to highlight in the waterfall for the chosen findings (indices into `findings`),
 * lower-cased, keeping only those `hasSpan` knows.
 */
export function highlightedSpanIds(
  findings: readonly Pick<TraceFinding, 'spanIds'>[],
  chosen: Iterable<number>,
  hasSpan: (spanId: string) => boolean = () => true,
): Set<string> {
  const spans = new Set<string>();
  for (const index of chosen) {
    for (const raw of findings[index]?.spanIds ?? []) {
      const spanId = raw.toLowerCase();
      if (hasSpan(spanId)) spans.add(spanId);
    }
  }
  return spans;
}

// ---- rates, sizes, times ----------------------------------------------------------------------

/**
 * A share 0..1 as a percentage with up to three significant digits: "2.5 %", "80 %", "0 %",
 * "< 0.01 %", "100 %"; "—" for null or what is not a share.
 */
export function formatShare(share: number | null | undefined): string {
  if (share === null || share === undefined || !Number.isFinite(share) || share < 0) return DASH;
  if (share === 0) return '0 %';
  if (share >= 1) return '100 %';
  const percent = Number((share * 100).toPrecision(3));
  if (percent < 0.01) return '< 0.01 %';
  return `${percent.toLocaleString('en-US', { maximumFractionDigits: 20, useGrouping: false })} %`;
}

/** An interruption rate as a level: warning from 1 %, error from 5 % of traces broken. */
export function interruptionLevel(rate: number | null | undefined): 'ok' | 'warning' | 'error' {
  if (rate === null || rate === undefined || !Number.isFinite(rate)) return 'ok';
  if (rate >= 0.05) return 'error';
  if (rate >= 0.01) return 'warning';
  return 'ok';
}

/** A Redis hit rate and what it rests on, for a cell and its tooltip. */
export function describeHitRate(row: { hit_rate: number | null; hits: number; misses: number }): { text: string; title: string } {
  if (row.hit_rate === null || row.hit_rate === undefined || row.hits + row.misses === 0) {
    return { text: DASH, title: 'No call of this command said whether it hit the cache.' };
  }
  return { text: formatShare(row.hit_rate), title: `${plural(row.hits, 'hit', 'hits')}, ${plural(row.misses, 'miss', 'misses')}` };
}

const BYTE_UNITS = ['KiB', 'MiB', 'GiB', 'TiB'] as const;

/** "512 B", "1.5 KiB", "3.82 MiB" (three significant digits, binary units); "—" when not a size. */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes) || bytes < 0) return DASH;
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  let value = bytes;
  for (const unit of BYTE_UNITS) {
    value /= 1024;
    const rounded = Number(value.toPrecision(3));
    if (rounded < 1024 || unit === 'TiB') return `${rounded} ${unit}`;
  }
  return DASH;
}

/**
 * A `*_unix_nanos` number (which may have lost precision past 2^53) as a table timestamp in
 * local time: the time of day today, the date too otherwise; "—" for 0 or what is not a time.
 */
export function formatUnixNanos(unixNanos: number, nowMillis: number): string {
  if (!Number.isFinite(unixNanos) || unixNanos <= 0) return DASH;
  return formatLocalTimestamp(unixNanos / 1e6, nowMillis);
}

/** A nanosecond latency (the reports' `*_nanos`); "—" for what is not one. */
export function formatNanos(nanos: number | null | undefined): string {
  if (nanos === null || nanos === undefined || !Number.isFinite(nanos)) return DASH;
  return formatDuration(nanos);
}

/** Time spent in all calls together: mean × calls, in nanoseconds. */
export function totalNanos(latency: Pick<LatencySummary, 'mean_nanos'>, calls: number): number {
  return latency.mean_nanos * calls;
}

/** The first 16 hex digits of a trace ID, enough to tell traces apart in a table. */
export function shortTraceId(traceId: string): string {
  return traceId.length > 16 ? traceId.slice(0, 16) : traceId;
}

/** The trace page's URL for a trace, selecting `spanId` when given. */
export function traceHref(traceId: string, spanId?: string | null): string {
  const path = `/trace/${encodeURIComponent(traceId)}`;
  return spanId ? `${path}?span=${encodeURIComponent(spanId.toLowerCase())}` : path;
}

// ---- interruptions ----------------------------------------------------------------------------

export interface InterruptionHeadline {
  traces: number;
  brokenTraces: number;
  rate: number;
}

/**
 * The headline numbers: the whole report's, or with a service chosen that service's row (the
 * report's top-level totals always cover every service).
 */
export function interruptionHeadline(report: InterruptionReport, service: string): InterruptionHeadline {
  if (!service) return { traces: report.traces, brokenTraces: report.broken_traces, rate: report.interruption_rate };
  const row = report.services.find((entry) => entry.service === service);
  return row ? { traces: row.traces, brokenTraces: row.broken_traces, rate: row.interruption_rate } : { traces: 0, brokenTraces: 0, rate: 0 };
}

/**
 * The series as chart columns: x in Unix seconds (ascending), y the rate in percent, null where
 * a bucket had no traces (a gap, not a zero).
 */
export function interruptionChart(series: readonly InterruptionPoint[]): { x: number[]; percent: (number | null)[]; traces: number[] } {
  const sorted = [...series].sort((a, b) => a.bucket_start_unix_nanos - b.bucket_start_unix_nanos);
  return {
    x: sorted.map((point) => Math.round(point.bucket_start_unix_nanos / 1e9)),
    percent: sorted.map((point) => (point.traces > 0 ? Number((point.interruption_rate * 100).toPrecision(6)) : null)),
    traces: sorted.map((point) => point.traces),
  };
}

// ---- the assembler ----------------------------------------------------------------------------

export type AnalysisState = 'nothing-analyzed' | 'nothing-in-range' | 'ready';

/**
 * Whether there is anything to show: nothing analyzed since the server started keeping state,
 * nothing analyzed in the range (`tracesInRange`, every service), or data.
 */
export function analysisState(assembler: Pick<AssemblerStatus, 'tracesAnalyzed'> | null, tracesInRange: number): AnalysisState {
  // Without an assembler (a query process reading committed statistics) only the range tells.
  if (assembler !== null && assembler.tracesAnalyzed === 0 && tracesInRange === 0) return 'nothing-analyzed';
  if (tracesInRange === 0) return 'nothing-in-range';
  return 'ready';
}

/** "30 s", "1.5 s", "2m": how long a trace must be quiet before it is analyzed. */
export function formatTimeout(seconds: number): string {
  return Number.isFinite(seconds) ? formatDuration(seconds * 1e9) : DASH;
}

/**
 * The assembler in sentences: what was analyzed and what waits, then a warning per counter that
 * means spans or traces were not analyzed as they arrived.
 */
export function describeAssembler(assembler: AssemblerStatus): { summary: string; waiting: string; warnings: string[] } {
  const summary = `${plural(assembler.tracesAnalyzed, 'trace', 'traces')} analyzed since the diagnostics state was created`;
  const waiting = `${plural(assembler.openTraces, 'trace', 'traces')} (${plural(assembler.openSpans, 'span', 'spans')}) waiting: a trace is analyzed once no span has arrived for it for ${formatTimeout(assembler.inactivityTimeoutSeconds)}`;
  const warnings: string[] = [];
  if (assembler.droppedSpans > 0) {
    warnings.push(`${plural(assembler.droppedSpans, 'span was', 'spans were')} left out of traces over the ${assembler.maxSpansPerTrace.toLocaleString('en-US')}-span cap.`);
  }
  if (assembler.evictedTraces > 0) {
    warnings.push(
      `${plural(assembler.evictedTraces, 'trace was', 'traces were')} analyzed early to stay within ${assembler.maxOpenTraces.toLocaleString('en-US')} open traces or ${assembler.maxOpenSpans.toLocaleString('en-US')} open spans.`,
    );
  }
  if (assembler.cutTraces > 0) {
    warnings.push(`${plural(assembler.cutTraces, 'trace was', 'traces were')} still receiving spans at the maximum age and analyzed as truncated.`);
  }
  if (assembler.lateSpans > 0) {
    warnings.push(`${plural(assembler.lateSpans, 'span', 'spans')} arrived after their trace had been analyzed.`);
  }
  return { summary, waiting, warnings };
}

const COMPLETIONS: Record<string, string> = {
  inactive: 'complete',
  max_age: 'cut at the maximum age',
  evicted: 'analyzed early (assembler full)',
  shutdown: 'analyzed at shutdown',
};

/** How the assembler closed a trace, in words; unknown values as sent. */
export function describeCompletion(completion: string): string {
  return Object.hasOwn(COMPLETIONS, completion) ? COMPLETIONS[completion]! : completion.replace(/_/g, ' ');
}

// ---- database ---------------------------------------------------------------------------------

/** "mysql shop · orders, order_items": where a statement runs. */
export function describeStatementTarget(row: Pick<StatementRow, 'system' | 'database' | 'tables'>): string {
  const place = [row.system, row.database].filter(Boolean).join(' ');
  return row.tables.length > 0 ? `${place} · ${row.tables.join(', ')}` : place;
}

/** Whether a statement row mentions `text` (case-insensitive) in its fingerprint, place or service. */
export function statementMatches(row: StatementRow, text: string): boolean {
  const needle = text.trim().toLowerCase();
  if (!needle) return true;
  return [row.fingerprint, row.service, row.system, row.database, row.operation, ...row.tables].some((field) => field.toLowerCase().includes(needle));
}

/** The busiest endpoints first, at most `max`, and how many more there are. */
export function topEndpoints(endpoints: readonly EndpointCalls[], max: number): { shown: EndpointCalls[]; more: number } {
  const sorted = [...endpoints].sort(
    (a, b) => b.calls - a.calls || a.service.localeCompare(b.service) || a.operation.localeCompare(b.operation),
  );
  return { shown: sorted.slice(0, max), more: Math.max(sorted.length - max, 0) };
}

// ---- redis ------------------------------------------------------------------------------------

/** A hot key's count: exact, or "≈ n" with the sketch's bound when it may overcount. */
export function describeHotKeyCount(row: { calls: number; error: number }): { text: string; title: string | undefined } {
  const calls = row.calls.toLocaleString('en-US');
  if (row.error <= 0) return { text: calls, title: undefined };
  const low = Math.max(row.calls - row.error, 0).toLocaleString('en-US');
  return { text: `\u2248 ${calls}`, title: `between ${low} and ${calls} calls` };
}
