// The UI's only door to Weft: the public HTTP API (docs/openapi.yaml). Every failure becomes an
// ApiError carrying the server's own message, which the pages show as is.
import type { OtlpTracesData } from './lib/trace-model';

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

type Params = Record<string, string | readonly string[] | number | boolean | undefined | null>;

function query(params: Params): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') continue;
    if (Array.isArray(value)) {
      for (const item of value) if (item !== '') search.append(key, String(item));
    } else {
      search.append(key, String(value));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

async function getJson<T>(path: string, params: Params = {}, signal?: AbortSignal): Promise<T> {
  let response: Response;
  try {
    response = await fetch(`${path}${query(params)}`, { headers: { Accept: 'application/json' }, signal: signal ?? null });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'unavailable', `cannot reach the Weft server (${String(error)}); is weft serve running?`);
  }
  const text = await response.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!response.ok) {
    const error = (body as { error?: { code?: string; message?: string } | string } | null)?.error;
    // The documented envelope is `{ "error": { "code", "message" } }`; a bare `{ "error": "…" }`
    // is read as the message.
    const message = typeof error === 'string' ? error : error?.message;
    const code = typeof error === 'string' ? undefined : error?.code;
    throw new ApiError(
      response.status,
      code ?? 'http_error',
      message ?? `${path} answered HTTP ${response.status}${text ? `: ${text.slice(0, 200)}` : ''}`,
    );
  }
  return body as T;
}

// ---- search and catalog -------------------------------------------------------------------

export interface TraceSummaryService {
  serviceName: string;
  spanCount: number;
  errorCount: number;
}

export interface TraceSummary {
  traceId: string;
  rootServiceName: string;
  rootSpanName: string;
  rootSpanFound: boolean;
  startTimeUnixNano: string;
  durationNanos: number;
  spanCount: number;
  errorCount: number;
  services: TraceSummaryService[];
}

export interface SearchResponse {
  traces: TraceSummary[];
  partial: boolean;
  scannedSpans: number;
}

export interface SearchParams {
  service?: string;
  operation?: string;
  spanKind?: string;
  attribute?: string[];
  businessKey?: string;
  status?: string;
  minDuration?: string;
  maxDuration?: string;
  start?: string;
  end?: string;
  lookback?: string;
  traceIdPrefix?: string;
  rootService?: string;
  rootOperation?: string;
  limit?: number;
}

export function searchTraces(params: SearchParams, signal?: AbortSignal): Promise<SearchResponse> {
  return getJson('/api/v1/search', { ...params }, signal);
}

/** The storage tier that answered a trace lookup (the `weft-tier` response header). */
export type TraceTier = 'hot' | 'cold';

export interface TraceAnswer {
  data: OtlpTracesData;
  truncated: boolean;
  /** Which tier answered; null when the server did not say (older servers). */
  tier: TraceTier | null;
}

/** `tier` limits the lookup to one tier; the server's default is `all`. */
export async function fetchTrace(traceId: string, signal?: AbortSignal, options: { tier?: TraceTier | 'all' } = {}): Promise<TraceAnswer> {
  let response: Response;
  try {
    response = await fetch(`/api/v1/traces/${encodeURIComponent(traceId)}${query({ tier: options.tier })}`, {
      headers: { Accept: 'application/json' },
      signal: signal ?? null,
    });
  } catch (error) {
    if (error instanceof DOMException && error.name === 'AbortError') throw error;
    throw new ApiError(0, 'unavailable', `cannot reach the Weft server (${String(error)}); is weft serve running?`);
  }
  if (!response.ok) {
    const body = (await response.json().catch(() => null)) as { error?: { code?: string; message?: string } } | null;
    throw new ApiError(response.status, body?.error?.code ?? 'http_error', body?.error?.message ?? `trace lookup answered HTTP ${response.status}`);
  }
  const tier = response.headers.get('weft-tier');
  return {
    data: (await response.json()) as OtlpTracesData,
    truncated: response.headers.get('weft-trace-truncated') === 'true',
    tier: tier === 'hot' || tier === 'cold' ? tier : null,
  };
}

// ---- sampling (cold-tier retention) ----------------------------------------------------------

/** Whether the cold tier keeps a trace; `pending` while its shard window is still open. */
export type SamplingDecision = 'kept' | 'not_kept' | 'pending' | 'unknown';

/** One sampling rule holding on one span of the trace. */
export interface SamplingRuleMatch {
  rule: string;
  spanId: string;
  service: string;
  operation: string;
  /** The rule has a rate limit, so this match may not have kept the trace. */
  rateLimited: boolean;
}

export type SamplingShardState = 'open' | 'closed' | 'missing';

/** A shard window (Unix seconds) that may hold the trace's sampling mark. */
export interface SamplingShard {
  start: number;
  end: number;
  state: SamplingShardState;
  containsTrace: boolean;
}

export interface SamplingExplanation {
  traceId: string;
  decision: SamplingDecision;
  /** One sentence written by the server. */
  summary: string;
  rules: SamplingRuleMatch[];
  /** The random share of traces kept regardless of rules (0..1), and whether this trace is in it. */
  defaultShare: { share: number; inShare: boolean } | null;
  shards: SamplingShard[];
  tiers: { hot: { spans: number }; cold: { spans: number } };
  /** Unix seconds the cold writer has copied up to, or null before its first pass. */
  coldWriter: { passedThrough: number | null } | null;
}

/** Why the cold tier keeps (or will not keep) a trace. 404 when no tier and no shard knows it. */
export function fetchSamplingExplanation(traceId: string, signal?: AbortSignal): Promise<SamplingExplanation> {
  return getJson(`/api/v1/sampling/explain/${encodeURIComponent(traceId)}`, {}, signal);
}

export function fetchServices(signal?: AbortSignal): Promise<{ services: string[] }> {
  return getJson('/api/v1/services', {}, signal);
}

export interface OperationEntry {
  name: string;
  spanKind: string;
  lastSeenUnixNano: string;
}

export function fetchOperations(service: string, signal?: AbortSignal): Promise<{ operations: OperationEntry[] }> {
  return getJson(`/api/v1/services/${encodeURIComponent(service)}/operations`, {}, signal);
}

export function fetchAttributeKeys(service: string | undefined, signal?: AbortSignal): Promise<{ keys: { key: string; scope: 'span' | 'resource' }[] }> {
  return getJson('/api/v1/attributes', { service }, signal);
}

export function fetchAttributeValues(key: string, prefix: string | undefined, signal?: AbortSignal): Promise<{ values: string[] }> {
  return getJson(`/api/v1/attributes/${encodeURIComponent(key)}/values`, { prefix }, signal);
}

// ---- metrics and topology ------------------------------------------------------------------

export interface RedStats {
  calls: number;
  callsPerSecond: number;
  errors: number;
  errorRate: number | null;
  p50Millis: number | null;
  p90Millis: number | null;
  p95Millis: number | null;
  p99Millis: number | null;
  meanMillis: number | null;
  minMillis: number | null;
  maxMillis: number | null;
}

export interface MetricWindow {
  resolution: '30s' | '10m' | '1h';
  stepSeconds: number;
  startUnixSeconds: number;
  endUnixSeconds: number;
}

/** A time range as the API takes it: a lookback from now, or absolute bounds. */
export interface TimeRangeParams {
  lookback?: string;
  start?: string;
  end?: string;
}

export interface MetricPoint extends RedStats {
  timeUnixSeconds: number;
  exemplars: number;
}

export interface MetricSeries {
  serviceName: string;
  operation: string | null;
  spanKind: string | null;
  totals: RedStats;
  points: MetricPoint[];
}

export function fetchSeries(
  params: TimeRangeParams & { service: string; operation?: string; spanKind?: string; groupBy?: 'operation' },
  signal?: AbortSignal,
): Promise<MetricWindow & { series: MetricSeries[] }> {
  return getJson('/api/v1/metrics/series', { ...params }, signal);
}

export interface OperationStats extends RedStats {
  operation: string;
  spanKind: string;
}

export function fetchTopOperations(
  params: TimeRangeParams & { service: string; spanKind?: string; sortBy?: 'calls' | 'errors' | 'errorRate' | 'p50' | 'p90' | 'p99'; limit?: number },
  signal?: AbortSignal,
): Promise<MetricWindow & { sortBy: string; operations: OperationStats[] }> {
  return getJson('/api/v1/metrics/operations', { ...params }, signal);
}

export interface Exemplar {
  traceId: string;
  spanId: string;
  reason: 'slowest' | 'sampled' | 'keyword' | 'error_increase';
  operation: string;
  spanKind: string;
  bucketStartUnixSeconds: number;
  startTimeUnixNano: string;
  durationMillis: number;
  isError: boolean;
}

export function fetchExemplars(
  params: TimeRangeParams & { service: string; operation?: string; spanKind?: string; reason?: string; limit?: number },
  signal?: AbortSignal,
): Promise<MetricWindow & { truncated: boolean; exemplars: Exemplar[] }> {
  return getJson('/api/v1/metrics/exemplars', { ...params }, signal);
}

export interface TopologyNode extends RedStats {
  service: string;
  uninstrumented: boolean;
}

export interface TopologyEdge extends RedStats {
  caller: string;
  callee: string;
  calleeUninstrumented: boolean;
}

export function fetchTopology(
  params: TimeRangeParams & { service?: string; hops?: number },
  signal?: AbortSignal,
): Promise<MetricWindow & { nodes: TopologyNode[]; edges: TopologyEdge[] }> {
  return getJson('/api/v1/topology', { ...params }, signal);
}

export interface HealthAnswer {
  status: string;
  [key: string]: unknown;
}

export function fetchHealth(signal?: AbortSignal): Promise<HealthAnswer> {
  return getJson('/health', {}, signal);
}

// ---- diagnostics (findings and statistics over analyzed traces) -------------------------------
// The diagnostics reports use snake_case keys. Timestamps in `*_unix_nanos` are JSON numbers
// that may exceed 2^53, so they are only good for display (to the microsecond or so).

/** The kinds of finding, in the order the server lists them. */
export type FindingKind = 'broken_trace' | 'bottleneck' | 'repeated_calls' | 'timeout_misconfiguration' | 'cycle';

/** Bounds of the range a report covers, as decimal Unix-nanosecond strings. */
export interface DiagnosticsRange {
  start: string;
  end: string;
}

/** What every diagnostics list takes: a service, a time range and a row limit (1–1000). */
export interface DiagnosticsParams extends TimeRangeParams {
  service?: string;
  limit?: number;
}

/** The trace assembler: what is waiting for its inactivity timeout and what was analyzed. */
export interface AssemblerStatus {
  openTraces: number;
  openSpans: number;
  /** Since the server's state was created (survives restarts), not in the range. */
  tracesAnalyzed: number;
  lateSpans: number;
  droppedSpans: number;
  evictedTraces: number;
  cutTraces: number;
  replayedSpansSkipped: number;
  inactivityTimeoutSeconds: number;
  maxOpenTraces: number;
  maxOpenSpans: number;
  maxSpansPerTrace: number;
}

/** One kind of problem at one place, aggregated over the traces that have it. */
export interface FindingRow {
  /** A FindingKind; a kind this UI does not know yet is shown as sent. */
  kind: string;
  title: string;
  service: string;
  operation: string;
  detail: string;
  /** Traces with this finding. */
  traces: number;
  /** The largest measure seen: repetitions, self time per mille, callee timeout ns, cycle length, missing parents. */
  value_max: number;
  last_seen_unix_nanos: number;
  last_message: string;
  /** Newest first. */
  example_trace_ids: string[];
}

export interface InterruptionRow {
  service: string;
  traces: number;
  broken_traces: number;
  interruption_rate: number;
  example_trace_ids: string[];
}

export interface InterruptionPoint {
  bucket_start_unix_nanos: number;
  traces: number;
  broken_traces: number;
  interruption_rate: number;
}

export interface InterruptionReport {
  traces: number;
  broken_traces: number;
  truncated_traces: number;
  interruption_rate: number;
  services: InterruptionRow[];
  series: InterruptionPoint[];
  range?: DiagnosticsRange;
}

export interface GraphEdge {
  caller: string;
  callee: string;
  traces: number;
  example_trace_id: string;
}

/** A strongly connected part of the service graph: services that call each other round. */
export interface GraphCycle {
  services: string[];
  edges: GraphEdge[];
}

export interface LatencySummary {
  mean_nanos: number;
  p50_nanos: number;
  p90_nanos: number;
  p99_nanos: number;
  max_nanos: number;
}

/** One call kept as an example: a slowest call or, with `key` and `value_size_bytes`, a big Redis value. */
export interface ExampleCall {
  trace_id: string;
  span_id: string;
  start_unix_nanos: number;
  duration_nanos: number;
  key?: string;
  value_size_bytes?: number;
}

export interface EndpointCalls {
  service: string;
  operation: string;
  calls: number;
}

export interface StatementRow {
  service: string;
  system: string;
  database: string;
  tables: string[];
  operation: string;
  fingerprint: string;
  calls: number;
  errors: number;
  slow_calls: number;
  latency: LatencySummary;
  endpoints: EndpointCalls[];
  slowest: ExampleCall[];
}

export interface TableRow {
  system: string;
  database: string;
  table: string;
  calls: number;
  errors: number;
  slow_calls: number;
  statements: number;
}

export interface DatabaseReport {
  slow_threshold_nanos: number;
  statements: StatementRow[];
  tables: TableRow[];
  range?: DiagnosticsRange;
}

export interface RedisCommandRow {
  service: string;
  command: string;
  key_pattern: string;
  calls: number;
  errors: number;
  slow_calls: number;
  hits: number;
  misses: number;
  /** hits / (hits + misses); null when no call said whether it hit. */
  hit_rate: number | null;
  latency: LatencySummary;
  max_value_size_bytes: number;
  slowest: ExampleCall[];
}

export interface HotKeyRow {
  service: string;
  key: string;
  calls: number;
  /** The count's overestimate bound: the true count is between calls − error and calls. */
  error: number;
}

export interface RedisReport {
  slow_threshold_nanos: number;
  commands: RedisCommandRow[];
  hot_keys: HotKeyRow[];
  big_keys: ExampleCall[];
  range?: DiagnosticsRange;
}

export interface OperationRow {
  service: string;
  operation: string;
  calls: number;
  errors: number;
  latency: LatencySummary;
  slowest: ExampleCall[];
}

export interface FailureRow {
  service: string;
  operation: string;
  status_message: string;
  count: number;
  last_seen_unix_nanos: number;
  example_trace_ids: string[];
}

export interface ExceptionRow {
  time_unix_nanos: number;
  service: string;
  operation: string;
  exception_type: string;
  message: string;
  trace_id: string;
  span_id: string;
}

export interface OperationsReport {
  /** Entry operations (server, consumer and root spans), slowest first. */
  slowest: OperationRow[];
  failures: FailureRow[];
  exceptions: ExceptionRow[];
  range?: DiagnosticsRange;
}

export interface DiagnosticsOverview {
  service: string | null;
  range: DiagnosticsRange;
  /** `null` when the query process reads committed statistics and runs no assembler. */
  assembler: AssemblerStatus | null;
  findings: FindingRow[];
  interruptions: InterruptionReport;
  cycles: GraphCycle[];
  database: DatabaseReport;
  redis: RedisReport;
  operations: OperationsReport;
}

/** Everything about one service (or all) in one answer; `limit` caps every list in it. */
export function fetchDiagnosticsOverview(params: DiagnosticsParams, signal?: AbortSignal): Promise<DiagnosticsOverview> {
  return getJson('/api/v1/diagnostics', { ...params }, signal);
}

/** Findings, most traces first; `kind` keeps one kind (the server rejects a kind it does not know). */
export function fetchFindings(
  params: DiagnosticsParams & { kind?: string },
  signal?: AbortSignal,
): Promise<{ range: DiagnosticsRange; findings: FindingRow[] }> {
  return getJson('/api/v1/diagnostics/findings', { ...params }, signal);
}

export function fetchInterruptions(params: DiagnosticsParams, signal?: AbortSignal): Promise<InterruptionReport> {
  return getJson('/api/v1/diagnostics/interruptions', { ...params }, signal);
}

export function fetchGraphCycles(
  params: Omit<DiagnosticsParams, 'limit'>,
  signal?: AbortSignal,
): Promise<{ range: DiagnosticsRange; cycles: GraphCycle[] }> {
  return getJson('/api/v1/diagnostics/cycles', { ...params }, signal);
}

export function fetchDatabaseStatistics(params: DiagnosticsParams, signal?: AbortSignal): Promise<DatabaseReport> {
  return getJson('/api/v1/statistics/database', { ...params }, signal);
}

export function fetchRedisStatistics(params: DiagnosticsParams, signal?: AbortSignal): Promise<RedisReport> {
  return getJson('/api/v1/statistics/redis', { ...params }, signal);
}

export function fetchOperationStatistics(params: DiagnosticsParams, signal?: AbortSignal): Promise<OperationsReport> {
  return getJson('/api/v1/statistics/operations', { ...params }, signal);
}

/** A trace summary row of the diagnostics' trace index. */
export interface DiagnosedTraceSummary {
  traceId: string;
  rootService: string;
  rootOperation: string;
  startTimeUnixNano: string;
  durationNanos: string;
  spanCount: number;
  errorCount: number;
  serviceCount: number;
  orphanSpanCount: number;
  droppedSpanCount: number;
  truncated: boolean;
  /** How the assembler closed the trace: `inactive`, `max_age`, `evicted`, `shutdown`. */
  completion: string;
  /** Finding kinds present in the trace. */
  findings: string[];
  services: string[];
}

/**
 * Traces with a finding of any of `kind`, newest first. Without a kind the server answers every
 * analyzed trace, findings or not.
 */
export function fetchDiagnosedTraces(
  params: TimeRangeParams & { kind?: readonly string[]; service?: string; minDuration?: string; limit?: number },
  signal?: AbortSignal,
): Promise<{ range: DiagnosticsRange; traces: DiagnosedTraceSummary[] }> {
  return getJson('/api/v1/diagnostics/traces', { ...params }, signal);
}

/** One finding in one trace, with the spans it is about. */
export interface TraceFinding {
  kind: string;
  title: string;
  service: string;
  operation: string;
  detail: string;
  message: string;
  value: number;
  spanIds: string[];
}

export interface TraceDiagnosis {
  traceId: string;
  tier: TraceTier;
  summary: {
    rootService: string;
    rootOperation: string;
    startTimeUnixNano: string;
    durationNanos: string;
    spanCount: number;
    errorCount: number;
    serviceCount: number;
    orphanSpanCount: number;
  };
  findings: TraceFinding[];
  criticalPath: string[];
  settings: { bottleneckShare: number; repeatedCallThreshold: number };
}

/** One trace's findings, computed from its stored spans. 404 when no tier has the trace. */
export function fetchTraceDiagnosis(traceId: string, signal?: AbortSignal): Promise<TraceDiagnosis> {
  return getJson(`/api/v1/traces/${encodeURIComponent(traceId)}/diagnosis`, {}, signal);
}

// ---- logs (OpenTelemetry log records, linked to traces by trace and span IDs) -------------------

/** The severity names the API takes for `severity` ("this level or worse"), least severe first. */
export type LogSeverityName = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal';

/** An attribute value as the API writes it: plain JSON. */
export type LogAttributeValue = string | number | boolean | null | readonly LogAttributeValue[] | { readonly [key: string]: LogAttributeValue };

export interface LogRecord {
  /** Unix nanoseconds as a decimal string; "0" when the sender did not set it (see observedTimeUnixNano). */
  timeUnixNano: string;
  observedTimeUnixNano: string;
  /** 32 hex digits, or null when the record carries no trace context. */
  traceId: string | null;
  /** 16 hex digits, or null. */
  spanId: string | null;
  /** 1–24 (TRACE … FATAL4), 0 when unspecified. */
  severityNumber: number;
  severityText: string;
  /** `severityText`, or the name derived from the number when no text was sent. */
  severity: string;
  serviceName: string;
  /** Always text: structured bodies arrive rendered as JSON-like text. */
  body: string;
  attributes: Record<string, LogAttributeValue>;
  resource: Record<string, LogAttributeValue>;
  scope: { name: string; version: string } | null;
  eventName: string;
}

export interface TraceLogsAnswer {
  traceId: string;
  tier: TraceTier;
  /** Oldest first; may be empty. */
  logs: LogRecord[];
}

/** The log records of one trace, oldest first. */
export function fetchTraceLogs(traceId: string, signal?: AbortSignal): Promise<TraceLogsAnswer> {
  return getJson(`/api/v1/traces/${encodeURIComponent(traceId)}/logs`, {}, signal);
}

/** Every parameter is optional; the server answers 400 with a message naming a bad value. */
export interface LogSearchParams {
  service?: string;
  /** Free text the body must contain. */
  q?: string;
  /** This level or worse; a string so a hand-edited URL reaches the server, which names it. */
  severity?: LogSeverityName | string;
  traceId?: string;
  /** A Go duration back from now, e.g. `1h`. */
  lookback?: string;
  /** Unix nanoseconds or RFC 3339, as the rest of Weft's API. */
  start?: string;
  end?: string;
  /** A number, or the text as typed so the server explains what is wrong with it. */
  limit?: number | string;
  tier?: TraceTier | string;
}

export interface LogSearchAnswer {
  tier: TraceTier;
  /** Newest first. */
  logs: LogRecord[];
  scannedRecords: number;
  /** The limit the server applied. */
  limit: number;
}

/** Log records matching `params`, newest first. */
export function searchLogs(params: LogSearchParams, signal?: AbortSignal): Promise<LogSearchAnswer> {
  return getJson('/api/v1/logs', { ...params }, signal);
}
