// Pure helpers behind the log views (the trace page's Logs panel, the span detail's logs and the
// Logs page): severities as levels, ranks and classes, a record's time and its offset from the
// trace start, grouping by span, counts per severity, attribute values as text, and the Logs
// page's form state as the URL carries it (the API's own parameter names, so a URL is also a
// ready API query). No DOM here, so all of it is unit-tested.
import type { LogAttributeValue, LogRecord, LogSearchParams, LogSeverityName } from '../api';
import { formatDuration, formatLocalDateTime, formatLocalTimestamp } from './format';
import { parseGoDuration } from './go-duration';
import { QUICK_RANGES } from './time-range';
import { isTraceId, normaliseTraceId } from './trace-id';

const DASH = '\u2014';

// ---- severities -------------------------------------------------------------------------------

/** The levels the API's `severity` filter takes, least severe first. */
export const SEVERITY_LEVELS: readonly LogSeverityName[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

/** A record's level; `unspecified` when neither its number nor its text names one. */
export type SeverityLevel = LogSeverityName | 'unspecified';

export function isSeverityName(text: string): text is LogSeverityName {
  return (SEVERITY_LEVELS as readonly string[]).includes(text);
}

/** The level of an OpenTelemetry severity number (1–4 TRACE … 21–24 FATAL); null outside 1–24. */
export function severityFromNumber(severityNumber: number | null | undefined): LogSeverityName | null {
  if (typeof severityNumber !== 'number' || !Number.isInteger(severityNumber) || severityNumber < 1 || severityNumber > 24) return null;
  return SEVERITY_LEVELS[Math.floor((severityNumber - 1) / 4)]!;
}

/** Names loggers use for each level besides the OpenTelemetry ones (lower case, digits dropped). */
const SEVERITY_ALIASES: Record<string, LogSeverityName> = {
  trace: 'trace',
  finest: 'trace',
  finer: 'trace',
  debug: 'debug',
  fine: 'debug',
  dbg: 'debug',
  info: 'info',
  information: 'info',
  informational: 'info',
  notice: 'info',
  warn: 'warn',
  warning: 'warn',
  wrn: 'warn',
  error: 'error',
  err: 'error',
  severe: 'error',
  fatal: 'fatal',
  critical: 'fatal',
  crit: 'fatal',
  alert: 'fatal',
  emerg: 'fatal',
  emergency: 'fatal',
  panic: 'fatal',
};

/** The level a severity text names (`WARNING`, `Error`, `ERROR2`, `crit`); null when it names none. */
export function severityFromText(text: string | null | undefined): LogSeverityName | null {
  if (typeof text !== 'string') return null;
  const word = text.trim().toLowerCase().replace(/\d+$/, '');
  return SEVERITY_ALIASES[word] ?? null;
}

type SeverityFields = Pick<LogRecord, 'severityNumber' | 'severityText' | 'severity'>;

/**
 * A record's level. The number decides when it is set, as the server's `severity` filter is
 * about levels; without one, the text (`severity`, then `severityText`).
 */
export function severityLevel(record: SeverityFields): SeverityLevel {
  return severityFromNumber(record.severityNumber) ?? severityFromText(record.severity) ?? severityFromText(record.severityText) ?? 'unspecified';
}

/** 0 for unspecified, then 1 (trace) to 6 (fatal): higher is worse. */
export function severityRank(level: SeverityLevel): number {
  return level === 'unspecified' ? 0 : SEVERITY_LEVELS.indexOf(level) + 1;
}

/** The CSS class of a level's badge and row marker. */
export function severityClass(level: SeverityLevel): string {
  return `severity-${level}`;
}

/** What a badge says: the record's own severity text, else its level's name. */
export function severityLabel(record: SeverityFields): string {
  const text = (record.severity || record.severityText || '').trim();
  if (text) return text;
  const level = severityLevel(record);
  return level === 'unspecified' ? 'UNSET' : level.toUpperCase();
}

/** Whether a record is at `minimum` or worse (always true without a minimum). */
export function isAtLeast(record: SeverityFields, minimum: LogSeverityName | ''): boolean {
  return minimum === '' || severityRank(severityLevel(record)) >= severityRank(minimum);
}

/** How a minimum severity reads in the form and the page's summary. */
export function describeMinimumSeverity(level: LogSeverityName): string {
  return level === 'fatal' ? 'fatal only' : `${level} or worse`;
}

/** Records per level, every level present (zero when none). */
export function countBySeverity(logs: readonly SeverityFields[]): Record<SeverityLevel, number> {
  const counts: Record<SeverityLevel, number> = { unspecified: 0, trace: 0, debug: 0, info: 0, warn: 0, error: 0, fatal: 0 };
  for (const record of logs) counts[severityLevel(record)] += 1;
  return counts;
}

/** The levels that occur, worst first, with their counts: for the panel's summary chips. */
export function severitySummary(logs: readonly SeverityFields[]): { level: SeverityLevel; count: number }[] {
  const counts = countBySeverity(logs);
  return (['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'unspecified'] as const)
    .filter((level) => counts[level] > 0)
    .map((level) => ({ level, count: counts[level] }));
}

/** The worst level among `logs`, or null when there are none. */
export function worstSeverity(logs: readonly SeverityFields[]): SeverityLevel | null {
  let worst: SeverityLevel | null = null;
  for (const record of logs) {
    const level = severityLevel(record);
    if (worst === null || severityRank(level) > severityRank(worst)) worst = level;
  }
  return worst;
}

// ---- times ------------------------------------------------------------------------------------

function positiveNanos(text: string | null | undefined): bigint | null {
  if (typeof text !== 'string' || !/^\d{1,20}$/.test(text)) return null;
  const value = BigInt(text);
  return value > 0n ? value : null;
}

/**
 * When a record happened, in Unix nanoseconds: its time, or when the collector observed it if
 * the sender left the time unset (OpenTelemetry allows that); null when it has neither.
 */
export function logTimeUnixNano(record: Pick<LogRecord, 'timeUnixNano' | 'observedTimeUnixNano'>): bigint | null {
  return positiveNanos(record.timeUnixNano) ?? positiveNanos(record.observedTimeUnixNano);
}

/** A record's time in milliseconds since the epoch; NaN when it has none. */
export function logTimeMillis(record: Pick<LogRecord, 'timeUnixNano' | 'observedTimeUnixNano'>): number {
  const nanos = logTimeUnixNano(record);
  return nanos === null ? Number.NaN : Number(nanos / 1_000_000n);
}

/** Nanoseconds from `originUnixNano` (the trace's or a span's start) to the record; null without a time. */
export function logOffsetNanos(record: Pick<LogRecord, 'timeUnixNano' | 'observedTimeUnixNano'>, originUnixNano: bigint): number | null {
  const nanos = logTimeUnixNano(record);
  return nanos === null ? null : Number(nanos - originUnixNano);
}

/** An offset as the waterfall writes durations, always signed: "+12.3 ms", "-800 µs", "+0 ns". */
export function formatOffset(offsetNanos: number | null): string {
  if (offsetNanos === null || !Number.isFinite(offsetNanos)) return DASH;
  return offsetNanos < 0 ? formatDuration(offsetNanos) : `+${formatDuration(offsetNanos)}`;
}

/** Local date and time to the microsecond: `2025-11-22 03:13:54.567890`. */
export function formatUnixNanoPrecise(unixNano: bigint | null): string {
  if (unixNano === null) return DASH;
  const micros = Number((unixNano / 1_000n) % 1_000_000n);
  return `${formatLocalDateTime(Number(unixNano / 1_000_000n))}.${String(micros).padStart(6, '0')}`;
}

/** A record's time for a table column: to the millisecond, with the date when not today. */
export function formatLogTimestamp(record: Pick<LogRecord, 'timeUnixNano' | 'observedTimeUnixNano'>, nowMillis: number): string {
  const millis = logTimeMillis(record);
  return Number.isNaN(millis) ? DASH : formatLocalTimestamp(millis, nowMillis);
}

function compareTimes(left: bigint | null, right: bigint | null): number {
  if (left === right) return 0;
  if (left === null) return 1;
  if (right === null) return -1;
  return left < right ? -1 : 1;
}

/** A copy sorted by time (records without a time last); equal times keep the server's order. */
export function sortLogs<T extends Pick<LogRecord, 'timeUnixNano' | 'observedTimeUnixNano'>>(logs: readonly T[], order: 'oldest' | 'newest' = 'oldest'): T[] {
  const keyed = logs.map((record, index) => ({ record, index, time: logTimeUnixNano(record) }));
  keyed.sort((left, right) => {
    // Records without a time go last either way.
    if (left.time === null || right.time === null) return compareTimes(left.time, right.time) || left.index - right.index;
    const byTime = compareTimes(left.time, right.time);
    return (order === 'oldest' ? byTime : -byTime) || left.index - right.index;
  });
  return keyed.map((entry) => entry.record);
}

// ---- spans ------------------------------------------------------------------------------------

/** A span ID as the trace model keeps it (lower case); null for no or an empty span ID. */
export function normaliseSpanId(spanId: string | null | undefined): string | null {
  if (typeof spanId !== 'string') return null;
  const trimmed = spanId.trim().toLowerCase();
  return trimmed === '' || /^0+$/.test(trimmed) ? null : trimmed;
}

/** Each span's records, oldest first, by lower-case span ID. Records without a span are left out. */
export function logsBySpanId<T extends Pick<LogRecord, 'spanId' | 'timeUnixNano' | 'observedTimeUnixNano'>>(logs: readonly T[]): Map<string, T[]> {
  const bySpan = new Map<string, T[]>();
  for (const record of sortLogs(logs)) {
    const spanId = normaliseSpanId(record.spanId);
    if (spanId === null) continue;
    const list = bySpan.get(spanId);
    if (list) list.push(record);
    else bySpan.set(spanId, [record]);
  }
  return bySpan;
}

export interface SpanLogGroup<T> {
  /** Lower case; null for the records that name no span. */
  spanId: string | null;
  logs: T[];
}

/**
 * The records grouped by span, each group oldest first. Groups follow `spanOrder` (say, the
 * waterfall's row order) where it knows the span, then the rest by their first record's time;
 * the records that name no span come last.
 */
export function groupLogsBySpan<T extends Pick<LogRecord, 'spanId' | 'timeUnixNano' | 'observedTimeUnixNano'>>(
  logs: readonly T[],
  spanOrder: (spanId: string) => number | undefined = () => undefined,
): SpanLogGroup<T>[] {
  const groups = [...logsBySpanId(logs)].map(([spanId, records]) => ({
    spanId,
    logs: records,
    order: spanOrder(spanId),
    first: logTimeUnixNano(records[0]!),
  }));
  groups.sort((left, right) => {
    if (left.order !== undefined && right.order !== undefined) return left.order - right.order;
    if (left.order !== undefined) return -1;
    if (right.order !== undefined) return 1;
    return compareTimes(left.first, right.first) || (left.spanId < right.spanId ? -1 : 1);
  });
  const result: SpanLogGroup<T>[] = groups.map(({ spanId, logs: records }) => ({ spanId, logs: records }));
  const withoutSpan = sortLogs(logs.filter((record) => normaliseSpanId(record.spanId) === null));
  if (withoutSpan.length > 0) result.push({ spanId: null, logs: withoutSpan });
  return result;
}

// ---- attribute values -------------------------------------------------------------------------

/**
 * An attribute value as text: strings bare, numbers and booleans as written, arrays and objects
 * as compact JSON. Never throws, whatever the server sends.
 */
export function attributeValueToText(value: LogAttributeValue | unknown): string {
  if (value === undefined) return '';
  if (value === null) return 'null';
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  try {
    const text = JSON.stringify(value, (_key, item: unknown) => (typeof item === 'bigint' ? String(item) : item));
    return text ?? String(value);
  } catch {
    return String(value);
  }
}

export interface AttributeEntry {
  key: string;
  text: string;
  /** Worth a block of its own: long or over several lines. */
  long: boolean;
}

/** A record's attributes (or resource) as sorted key/text pairs; anything but an object is none. */
export function attributeEntries(attributes: unknown): AttributeEntry[] {
  if (attributes === null || typeof attributes !== 'object' || Array.isArray(attributes)) return [];
  return Object.entries(attributes as Record<string, unknown>)
    .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))
    .map(([key, value]) => {
      const text = attributeValueToText(value);
      return { key, text, long: text.length > 120 || text.includes('\n') };
    });
}

/** `text` cut to `max` characters (with an ellipsis), and whether it was cut. */
export function truncateText(text: string, max: number): { text: string; truncated: boolean } {
  if (text.length <= max) return { text, truncated: false };
  return { text: `${text.slice(0, Math.max(0, max - 1))}\u2026`, truncated: true };
}

// ---- the Logs page's form ⇄ URL ---------------------------------------------------------------

export const DEFAULT_LOG_LIMIT = 100;
export const MAX_LOG_LIMIT = 1000;
export const DEFAULT_LOG_LOOKBACK = '1h';

export type TierChoice = '' | 'hot' | 'cold';

export interface LogSearchForm {
  service: string;
  /** Free text the body must contain. */
  q: string;
  /** A level, '' for any; a value the UI does not know (from a hand-edited URL) is kept so the server names it. */
  severity: string;
  traceId: string;
  /** '' when absolute bounds are used. */
  lookback: string;
  /** Unix nanoseconds, as Weft's API takes them; both or neither. */
  start: string;
  end: string;
  /** Text, as typed; checked by `validateLogSearchForm`. */
  limit: string;
  tier: string;
}

export function defaultLogSearchForm(): LogSearchForm {
  return { service: '', q: '', severity: '', traceId: '', lookback: DEFAULT_LOG_LOOKBACK, start: '', end: '', limit: String(DEFAULT_LOG_LIMIT), tier: '' };
}

const NANOS = /^\d{1,20}$/;

/** The form a URL's query describes; absent parameters take the defaults (last hour, 100 records). */
export function logFormFromQuery(search: URLSearchParams): LogSearchForm {
  const form = defaultLogSearchForm();
  form.service = search.get('service') ?? '';
  form.q = search.get('q') ?? '';
  form.severity = (search.get('severity') ?? '').trim().toLowerCase();
  form.traceId = search.get('traceId') ?? '';
  const start = search.get('start') ?? '';
  const end = search.get('end') ?? '';
  if (NANOS.test(start) && NANOS.test(end)) {
    form.start = start;
    form.end = end;
    form.lookback = '';
  } else {
    form.lookback = search.get('lookback') || DEFAULT_LOG_LOOKBACK;
  }
  form.limit = search.get('limit') ?? String(DEFAULT_LOG_LIMIT);
  form.tier = search.get('tier') ?? '';
  return form;
}

/**
 * The URL query of a form, in the API's names. The time range and the limit are always written
 * so a shared link means the same search for everyone.
 */
export function logFormToQuery(form: LogSearchForm): Record<string, string> {
  const query: Record<string, string> = {};
  const put = (name: string, value: string) => {
    const trimmed = value.trim();
    if (trimmed !== '') query[name] = trimmed;
  };
  put('service', form.service);
  // The text is sent as typed: leading or trailing spaces may matter in a body.
  if (form.q.trim() !== '') query.q = form.q;
  put('severity', form.severity);
  put('traceId', form.traceId);
  if (form.start.trim() !== '' && form.end.trim() !== '') {
    put('start', form.start);
    put('end', form.end);
  } else {
    put('lookback', form.lookback || DEFAULT_LOG_LOOKBACK);
  }
  put('limit', form.limit);
  put('tier', form.tier);
  return query;
}

/** The API request of a form. A trace ID is sent in its canonical form when it is one. */
export function logFormToApiParams(form: LogSearchForm): LogSearchParams {
  const query = logFormToQuery(form);
  const params: LogSearchParams = {};
  for (const [name, value] of Object.entries(query)) {
    if (name === 'limit') params.limit = /^\d+$/.test(value) ? Number(value) : value;
    else if (name === 'traceId') params.traceId = normaliseTraceId(value) ?? value;
    else (params as Record<string, string>)[name] = value;
  }
  return params;
}

export interface LogSearchFormErrors {
  lookback?: string;
  limit?: string;
  traceId?: string;
  severity?: string;
}

/** What is wrong with a form, by field; an empty object when it can be searched. */
export function validateLogSearchForm(form: LogSearchForm): LogSearchFormErrors {
  const errors: LogSearchFormErrors = {};
  if (form.start.trim() === '' || form.end.trim() === '') {
    const parsed = parseGoDuration(form.lookback || DEFAULT_LOG_LOOKBACK);
    if (!parsed.ok) errors.lookback = parsed.error;
    else if (parsed.nanos <= 0) errors.lookback = 'the lookback must be longer than 0';
  }
  const limit = form.limit.trim();
  if (!/^\d+$/.test(limit) || Number(limit) < 1 || Number(limit) > MAX_LOG_LIMIT) {
    errors.limit = `the limit is a whole number from 1 to ${MAX_LOG_LIMIT}`;
  }
  const traceId = form.traceId.trim();
  if (traceId !== '' && normaliseTraceId(traceId) === null) {
    errors.traceId = 'a trace ID is 1 to 32 hex digits';
  }
  if (form.severity !== '' && !isSeverityName(form.severity)) {
    errors.severity = `"${form.severity}" is not a severity (use ${SEVERITY_LEVELS.join(', ')})`;
  }
  return errors;
}

export function hasLogErrors(errors: LogSearchFormErrors): boolean {
  return Object.keys(errors).length > 0;
}

/** Unix nanoseconds (as the API takes them) in milliseconds; NaN when unreadable. */
export function nanosToMillis(nanos: string): number {
  return NANOS.test(nanos) ? Number(BigInt(nanos) / 1_000_000n) : Number.NaN;
}

/** The form's time range in words: "Last hour", "Last 90m", or absolute local bounds. */
export function describeLogRange(form: Pick<LogSearchForm, 'lookback' | 'start' | 'end'>): string {
  if (form.start && form.end) {
    return `${formatLocalDateTime(nanosToMillis(form.start))} \u2192 ${formatLocalDateTime(nanosToMillis(form.end))}`;
  }
  const lookback = form.lookback || DEFAULT_LOG_LOOKBACK;
  return QUICK_RANGES.find((quick) => quick.lookback === lookback)?.label ?? `Last ${lookback}`;
}

/** One line saying what a search looks for: "Last hour · checkout · warn or worse · “declined”". */
export function describeLogSearch(form: LogSearchForm): string {
  const parts = [describeLogRange(form)];
  if (form.service.trim()) parts.push(form.service.trim());
  if (isSeverityName(form.severity)) parts.push(describeMinimumSeverity(form.severity));
  if (form.q.trim()) parts.push(`\u201c${form.q.trim()}\u201d`);
  if (form.traceId.trim()) parts.push(`trace ${form.traceId.trim()}`);
  if (form.tier.trim()) parts.push(`${form.tier.trim()} tier`);
  return parts.join(' \u00b7 ');
}

/** Whether a record's trace ID is one the trace page can open (the API sends null without one). */
export function linkableTraceId(record: Pick<LogRecord, 'traceId'>): string | null {
  const traceId = typeof record.traceId === 'string' ? record.traceId.trim() : '';
  if (traceId === '' || !isTraceId(traceId) || /^0+$/.test(traceId)) return null;
  return traceId.toLowerCase();
}
