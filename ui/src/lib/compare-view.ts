/**
 * The trace compare page's pure parts: its URL state, the rows the aligned tree shows under
 * the status filters and collapsed paths, per-row facts (sibling counts, changes hidden below),
 * display of deltas, per-trace facts for the header, attribute differences of a matched span
 * pair, keyboard focus in the tree, the candidates' search window and order in the picker, and
 * the page's small trace cache. No DOM, so all of it is unit-tested and linear in the number of
 * paths.
 */
import type { PathComparisonRow, PathComparisonStatus } from './compare';
import { formatAnyValue, formatDuration, formatLocalDateTime, formatRelativeTime, unixNanoToMillis } from './format';
import { parseGoDuration } from './go-duration';
import { isTraceId } from './trace-id';

export { formatAnyValue };
import type { OtlpAnyValue, OtlpKeyValue, ParsedTrace, TraceSpan } from './trace-model';
import { primaryRoot, type SpanTree } from './tree';

/** In the order the summary lists them: structure first, then timing. */
export const COMPARE_STATUSES: readonly PathComparisonStatus[] = ['added', 'missing', 'slower', 'faster', 'unchanged'];

/** What a user typed or pasted as a trace ID, trimmed and lower-cased. */
export function normaliseTraceIdInput(text: string | null | undefined): string {
  return (text ?? '').trim().toLowerCase();
}

/** 1 to 32 hex digits, as the API takes them (after `normaliseTraceIdInput`). */
export function isValidTraceId(text: string): boolean {
  return isTraceId(text);
}

/** The same trace: the API left-pads shorter IDs with zeros, so "00ab" and "ab" are one trace. */
export function sameTraceId(left: string, right: string): boolean {
  const pad = (id: string): string => normaliseTraceIdInput(id).padStart(32, '0');
  return left !== '' && right !== '' && pad(left) === pad(right);
}

// ---- URL state -----------------------------------------------------------------------------

export interface CompareUrlState {
  readonly a: string;
  readonly b: string;
  /** Statuses whose rows are hidden; null when the URL does not say (the page then chooses). */
  readonly hidden: ReadonlySet<PathComparisonStatus> | null;
  /** A relative change beyond this many percent is slower/faster. */
  readonly thresholdPercent: number;
  /** Changes smaller than this are unchanged whatever their ratio. */
  readonly minDeltaNanos: number;
}

export const DEFAULT_THRESHOLD_PERCENT = 10;
export const THRESHOLD_PERCENT_CHOICES: readonly number[] = [0, 5, 10, 25, 50, 100];
export const MIN_DELTA_CHOICES: readonly { readonly nanos: number; readonly text: string }[] = [
  { nanos: 0, text: '0' },
  { nanos: 10_000, text: '10us' },
  { nanos: 100_000, text: '100us' },
  { nanos: 1_000_000, text: '1ms' },
  { nanos: 10_000_000, text: '10ms' },
  { nanos: 100_000_000, text: '100ms' },
];

/** The shortest of "ns", "us", "ms", "s" that states `nanos` exactly. */
export function durationText(nanos: number): string {
  if (nanos === 0) return '0';
  for (const [unit, size] of [['s', 1e9], ['ms', 1e6], ['us', 1e3]] as const) {
    if (nanos % size === 0) return `${nanos / size}${unit}`;
  }
  return `${nanos}ns`;
}

export function readCompareUrl(search: URLSearchParams): CompareUrlState {
  let a = normaliseTraceIdInput(search.get('a'));
  let b = normaliseTraceIdInput(search.get('b'));
  if (a === '' && b !== '') {
    // Only B: it is the reference either way.
    a = b;
    b = '';
  }
  const hideText = search.get('hide');
  let hidden: Set<PathComparisonStatus> | null = null;
  if (hideText !== null) {
    hidden = new Set();
    for (const word of hideText.split(',')) {
      const status = COMPARE_STATUSES.find((candidate) => candidate === word.trim());
      if (status !== undefined) hidden.add(status);
    }
  }
  const thresholdNumber = Number(search.get('threshold') ?? '');
  const thresholdPercent =
    search.get('threshold') !== null && Number.isFinite(thresholdNumber) && thresholdNumber >= 0
      ? thresholdNumber
      : DEFAULT_THRESHOLD_PERCENT;
  const minDelta = parseGoDuration(search.get('minDelta') ?? '0');
  const minDeltaNanos = minDelta.ok ? Math.max(0, minDelta.nanos) : 0;
  return { a, b, hidden, thresholdPercent, minDeltaNanos };
}

/** The page URL for `state`; defaults are left out so shared links stay short. */
export function compareUrl(state: Partial<CompareUrlState>): string {
  const params = new URLSearchParams();
  if (state.a) params.set('a', state.a);
  if (state.b) params.set('b', state.b);
  if (state.hidden !== undefined && state.hidden !== null) {
    const hidden = COMPARE_STATUSES.filter((status) => state.hidden!.has(status));
    params.set('hide', hidden.length === 0 ? 'none' : hidden.join(','));
  }
  if (state.thresholdPercent !== undefined && state.thresholdPercent !== DEFAULT_THRESHOLD_PERCENT) {
    params.set('threshold', String(state.thresholdPercent));
  }
  if (state.minDeltaNanos !== undefined && state.minDeltaNanos > 0) params.set('minDelta', durationText(state.minDeltaNanos));
  const text = params.toString();
  return text ? `/compare?${text}` : '/compare';
}

/** Unchanged rows start hidden when there are many of them and something did change. */
export const MANY_UNCHANGED_ROWS = 15;

export function defaultHiddenStatuses(
  countByStatus: Readonly<Record<PathComparisonStatus, number>>,
): Set<PathComparisonStatus> {
  const differences = countByStatus.added + countByStatus.missing + countByStatus.slower + countByStatus.faster;
  return differences > 0 && countByStatus.unchanged >= MANY_UNCHANGED_ROWS ? new Set(['unchanged']) : new Set();
}

// ---- rows of the aligned tree --------------------------------------------------------------

export interface CompareRowInfo {
  /** Index of the parent row, -1 for a root. */
  readonly parentIndex: number;
  /** One past the last row of this row's subtree (rows are in pre-order). */
  readonly subtreeEnd: number;
  /** Siblings with this row's service and name (itself included) present in A, and in B. */
  readonly siblingCountA: number;
  readonly siblingCountB: number;
  /** Rows below this one whose status is not `unchanged`. */
  readonly changedBelow: number;
}

/** The shape of the rows' tree, which thresholds do not change: compute it once per alignment. */
export interface CompareRowStructure {
  readonly parentIndex: Int32Array;
  readonly subtreeEnd: Int32Array;
}

type StructuredRow = Pick<PathComparisonRow, 'pathId' | 'parentPathId' | 'depth'>;

/** Parents and subtree ends of pre-order rows, in one pass. */
export function indexRowStructure(rows: readonly StructuredRow[]): CompareRowStructure {
  const parentIndex = new Int32Array(rows.length);
  const subtreeEnd = new Int32Array(rows.length);
  const indexByPathId = new Map<number, number>();
  const open: number[] = [];
  rows.forEach((row, index) => {
    indexByPathId.set(row.pathId, index);
    while (open.length > 0 && rows[open[open.length - 1]!]!.depth >= row.depth) subtreeEnd[open.pop()!] = index;
    open.push(index);
    parentIndex[index] = row.parentPathId === null ? -1 : (indexByPathId.get(row.parentPathId) ?? -1);
  });
  for (const index of open) subtreeEnd[index] = rows.length;
  return { parentIndex, subtreeEnd };
}

/**
 * Per-row facts: the structure (reused when given, as it only depends on the alignment) and
 * the changes below each row (which depend on the statuses), in one backwards pass.
 */
export function indexRows(
  rows: readonly PathComparisonRow[],
  structure: CompareRowStructure = indexRowStructure(rows),
): CompareRowInfo[] {
  const { parentIndex, subtreeEnd } = structure;
  const changedBelow = new Int32Array(rows.length);
  for (let index = rows.length - 1; index >= 0; index -= 1) {
    const parent = parentIndex[index]!;
    if (parent >= 0) changedBelow[parent]! += changedBelow[index]! + (rows[index]!.status === 'unchanged' ? 0 : 1);
  }
  const infos = new Array<CompareRowInfo>(rows.length);
  for (let index = 0; index < rows.length; index += 1) {
    const row = rows[index]!;
    infos[index] = {
      parentIndex: parentIndex[index]!,
      subtreeEnd: subtreeEnd[index]!,
      siblingCountA: row.siblingCountA,
      siblingCountB: row.siblingCountB,
      changedBelow: changedBelow[index]!,
    };
  }
  return infos;
}

export interface VisibleCompareRow {
  /** Index into the comparison's rows. */
  readonly index: number;
  readonly row: PathComparisonRow;
  readonly info: CompareRowInfo;
  /** Shown only because rows below it match the filter: context for the tree's shape. */
  readonly context: boolean;
  readonly hasChildren: boolean;
  readonly collapsed: boolean;
}

/**
 * The rows to draw: those whose status is not hidden, with their ancestors as context so the
 * tree keeps its shape; nothing below a collapsed path. Subtrees without a match are skipped
 * whole, so the cost is about the number of rows shown plus one pass to mark matches.
 */
export function visibleCompareRows(
  rows: readonly PathComparisonRow[],
  infos: readonly CompareRowInfo[],
  hidden: ReadonlySet<PathComparisonStatus>,
  collapsedPathIds: ReadonlySet<number>,
): VisibleCompareRow[] {
  const subtreeMatches = new Uint8Array(rows.length);
  for (let index = rows.length - 1; index >= 0; index -= 1) {
    if (!hidden.has(rows[index]!.status)) subtreeMatches[index] = 1;
    const parent = infos[index]!.parentIndex;
    if (subtreeMatches[index] === 1 && parent >= 0) subtreeMatches[parent] = 1;
  }
  const visible: VisibleCompareRow[] = [];
  let index = 0;
  while (index < rows.length) {
    const row = rows[index]!;
    const info = infos[index]!;
    if (subtreeMatches[index] === 0) {
      index = info.subtreeEnd;
      continue;
    }
    const hasChildren = info.subtreeEnd > index + 1;
    const collapsed = hasChildren && collapsedPathIds.has(row.pathId);
    visible.push({ index, row, info, context: hidden.has(row.status), hasChildren, collapsed });
    index = collapsed ? info.subtreeEnd : index + 1;
  }
  return visible;
}

/** Path IDs of every row with children: "collapse all". */
export function pathIdsWithChildren(rows: readonly PathComparisonRow[], infos: readonly CompareRowInfo[]): Set<number> {
  const ids = new Set<number>();
  rows.forEach((row, index) => {
    if (infos[index]!.subtreeEnd > index + 1) ids.add(row.pathId);
  });
  return ids;
}

/**
 * The position of the shown row holding the keyboard focus, kept as a path rather than a
 * position so filtering or collapsing (which shifts positions) cannot move it to another row:
 * the selected path's row, else its nearest shown ancestor's (it is filtered out or collapsed
 * away), else the first row. One pass over the shown rows.
 */
export function focusedRowIndex(
  visible: readonly VisibleCompareRow[],
  selectedPathId: number | null,
  rowByPathId: ReadonlyMap<number, Pick<PathComparisonRow, 'pathId' | 'parentPathId'>>,
): number {
  if (selectedPathId === null || visible.length === 0) return 0;
  // Distance from the selected path up its ancestors: 0 for itself.
  const rankByPathId = new Map<number, number>();
  let row = rowByPathId.get(selectedPathId);
  while (row !== undefined) {
    rankByPathId.set(row.pathId, rankByPathId.size);
    row = row.parentPathId === null ? undefined : rowByPathId.get(row.parentPathId);
  }
  let best = 0;
  let bestRank = Infinity;
  for (let index = 0; index < visible.length; index += 1) {
    const rank = rankByPathId.get(visible[index]!.row.pathId);
    if (rank === undefined || rank >= bestRank) continue;
    best = index;
    bestRank = rank;
    if (rank === 0) break;
  }
  return best;
}

// ---- loading -------------------------------------------------------------------------------

export interface TraceCache<Trace> {
  /** The trace, from the cache or `fetchOne`; rejects once `signal` aborts, and then keeps nothing. */
  load(traceId: string, signal: AbortSignal): Promise<Trace>;
  /** Drops every trace (the page calls it when it unmounts). */
  clear(): void;
  readonly size: number;
}

/**
 * The traces a page has loaded, so swapping A and B or picking B right after looking at A
 * loads nothing again. Keeps the `capacity` most recently used (A and B), keyed by the padded
 * ID the API uses ("ab" and "00ab" are one trace); failures and aborted loads are not kept.
 * Requests are not shared: each load passes its own signal through, so a superseded request
 * is cancelled rather than left to finish.
 */
export function createTraceCache<Trace>(
  fetchOne: (traceId: string, signal: AbortSignal) => Promise<Trace>,
  capacity = 2,
): TraceCache<Trace> {
  const traces = new Map<string, Trace>();
  const remember = (key: string, trace: Trace): void => {
    // Most recently used last, so the other side of the comparison is evicted last.
    traces.delete(key);
    traces.set(key, trace);
    while (traces.size > capacity) traces.delete(traces.keys().next().value!);
  };
  return {
    async load(traceId, signal) {
      const key = normaliseTraceIdInput(traceId).padStart(32, '0');
      if (traces.has(key)) {
        const cached = traces.get(key)!;
        remember(key, cached);
        return cached;
      }
      signal.throwIfAborted();
      const trace = await fetchOne(traceId, signal);
      signal.throwIfAborted();
      remember(key, trace);
      return trace;
    },
    clear() {
      traces.clear();
    },
    get size() {
      return traces.size;
    },
  };
}

// ---- display -------------------------------------------------------------------------------

const MINUS = '\u2212';

/** "+1.2 ms", "−300 µs", "±0" for B − A. */
export function formatDelta(deltaNanos: number | null): string {
  if (deltaNanos === null || Number.isNaN(deltaNanos)) return '\u2014';
  if (deltaNanos === 0) return '\u00b10';
  return `${deltaNanos > 0 ? '+' : MINUS}${formatDuration(Math.abs(deltaNanos))}`;
}

/** "+35 %", "−4.2 %", "+12×" for ten times and more, "+∞" from zero. */
export function formatRelativeDelta(relativeDelta: number | null): string {
  if (relativeDelta === null || Number.isNaN(relativeDelta)) return '\u2014';
  if (relativeDelta === Infinity) return '+\u221e';
  if (relativeDelta === 0) return '0 %';
  if (relativeDelta + 1 >= 10) return `${Number((relativeDelta + 1).toPrecision(3))}\u00d7`;
  const percent = relativeDelta * 100;
  const magnitude = Math.abs(percent);
  const text = magnitude < 9.95 ? magnitude.toFixed(1).replace(/\.0$/, '') : String(Math.round(magnitude));
  return `${percent > 0 ? '+' : MINUS}${text} %`;
}

/** The two bars of a row, as fractions of the longer of the two durations. */
export function barFractions(durationNanosA: number | null, durationNanosB: number | null): { a: number | null; b: number | null } {
  const longest = Math.max(durationNanosA ?? 0, durationNanosB ?? 0);
  const fraction = (duration: number | null): number | null =>
    duration === null ? null : longest > 0 ? duration / longest : 0;
  return { a: fraction(durationNanosA), b: fraction(durationNanosB) };
}

export const STATUS_SYMBOL: Readonly<Record<PathComparisonStatus, string>> = {
  added: '+',
  missing: MINUS,
  slower: '\u25b2',
  faster: '\u25bc',
  unchanged: '=',
};

export const STATUS_DESCRIPTION: Readonly<Record<PathComparisonStatus, string>> = {
  added: 'only in B',
  missing: 'only in A',
  slower: 'slower in B',
  faster: 'faster in B',
  unchanged: 'about the same',
};

/** One sentence on a row: "Only in B (took 1.9 ms)", "Slower in B: +1.2 ms (+35 %)". */
export function describeRowChange(row: PathComparisonRow): string {
  switch (row.status) {
    case 'added':
      return `Only in B (took ${formatDuration(row.durationNanosB ?? 0)}).`;
    case 'missing':
      return `Only in A (took ${formatDuration(row.durationNanosA ?? 0)}).`;
    case 'slower':
      return `Slower in B: ${formatDelta(row.deltaNanos)} (${formatRelativeDelta(row.relativeDelta)}).`;
    case 'faster':
      return `Faster in B: ${formatDelta(row.deltaNanos)} (${formatRelativeDelta(row.relativeDelta)}).`;
    case 'unchanged':
      return `About the same: ${formatDelta(row.deltaNanos)} (${formatRelativeDelta(row.relativeDelta)}).`;
  }
}

/** "3 added · 1 missing · 5 slower · 2 faster · 40 unchanged". */
export function summaryText(countByStatus: Readonly<Record<PathComparisonStatus, number>>): string {
  return COMPARE_STATUSES.map((status) => `${countByStatus[status]} ${status}`).join(' \u00b7 ');
}

// ---- trace facts ---------------------------------------------------------------------------

export interface TraceFacts {
  readonly rootServiceName: string;
  readonly rootSpanName: string;
  /** False when the trace has no genuine root (it never arrived): the names are a stand-in. */
  readonly rootFound: boolean;
  readonly durationNanos: number;
  readonly spanCount: number;
  readonly errorCount: number;
  readonly serviceNames: readonly string[];
  readonly traceStartUnixNano: bigint;
}

export function traceFacts(parsed: ParsedTrace, tree: SpanTree<TraceSpan>): TraceFacts {
  const root = primaryRoot(tree);
  const services = new Set<string>();
  let errorCount = 0;
  for (const span of parsed.spans) {
    services.add(span.serviceName);
    if (span.statusCode === 'error') errorCount += 1;
  }
  return {
    rootServiceName: root?.span.serviceName ?? '',
    rootSpanName: root?.span.name ?? '',
    rootFound: root !== null && !root.orphan && !root.cycleBroken,
    durationNanos: parsed.durationNanos,
    spanCount: parsed.spans.length,
    errorCount,
    serviceNames: [...services].sort(),
    traceStartUnixNano: parsed.traceStartUnixNano,
  };
}

/** Local "2024-05-01 13:04:05.123" for a Unix nanosecond time. */
export function formatTimestamp(unixNano: bigint | string): string {
  return formatLocalDateTime(unixNanoToMillis(unixNano), { milliseconds: true });
}

/** "just now", "42 s ago", "5 min ago", "3 h ago" within a day, else the timestamp. */
export function formatAgo(unixNano: bigint | string, nowMillis: number): string {
  const elapsedMillis = nowMillis - unixNanoToMillis(unixNano);
  return elapsedMillis >= 0 && elapsedMillis < 86_400_000 ? formatRelativeTime(unixNanoToMillis(unixNano), nowMillis) : formatTimestamp(unixNano);
}

// ---- attributes ----------------------------------------------------------------------------

export interface AttributeDifference {
  readonly key: string;
  /** Null when the span (or the attribute) is absent on that side. */
  readonly valueA: string | null;
  readonly valueB: string | null;
  readonly differs: boolean;
}

/** Every key of either span, differing ones first, then by key. */
export function attributeDifferences(
  attributesA: readonly OtlpKeyValue[] | null,
  attributesB: readonly OtlpKeyValue[] | null,
): AttributeDifference[] {
  const byKey = new Map<string, { a: string | null; b: string | null }>();
  for (const attribute of attributesA ?? []) byKey.set(attribute.key, { a: formatAnyValue(attribute.value), b: null });
  for (const attribute of attributesB ?? []) {
    const entry = byKey.get(attribute.key) ?? { a: null, b: null };
    entry.b = formatAnyValue(attribute.value);
    byKey.set(attribute.key, entry);
  }
  const differences = [...byKey].map(([key, { a, b }]) => ({ key, valueA: a, valueB: b, differs: a !== b }));
  return differences.sort((left, right) =>
    left.differs !== right.differs ? (left.differs ? -1 : 1) : left.key < right.key ? -1 : left.key > right.key ? 1 : 0,
  );
}

// ---- picker --------------------------------------------------------------------------------

export type CandidateSort = 'newest' | 'slowest' | 'fastest' | 'closest';

export const CANDIDATE_SORTS: readonly { readonly value: CandidateSort; readonly label: string }[] = [
  { value: 'newest', label: 'Newest first' },
  { value: 'slowest', label: 'Slowest first' },
  { value: 'fastest', label: 'Fastest first' },
  { value: 'closest', label: 'Closest to A in duration' },
];

/** Candidates for B are searched among traces started this close to A, before or after. */
export const CANDIDATE_WINDOW_MINUTES = 30;
const CANDIDATE_WINDOW_NANOS = BigInt(CANDIDATE_WINDOW_MINUTES) * 60n * 1_000_000_000n;

/**
 * The search range for candidates, as Unix nanoseconds for the API's `start` and `end`: around
 * A's own start rather than "the last hour", so an older A still finds its peers. The end may
 * lie in the future (the API takes it as is); the start never goes before 1970.
 */
export function candidateSearchWindow(referenceStartUnixNano: bigint): { start: string; end: string } {
  const start = referenceStartUnixNano > CANDIDATE_WINDOW_NANOS ? referenceStartUnixNano - CANDIDATE_WINDOW_NANOS : 0n;
  return { start: start.toString(), end: (referenceStartUnixNano + CANDIDATE_WINDOW_NANOS).toString() };
}

export interface CandidateTrace {
  readonly traceId: string;
  readonly startTimeUnixNano: string;
  readonly durationNanos: number;
  readonly spanCount: number;
}

/**
 * Candidates for B: never the reference itself, in the chosen order (newest is the search's
 * own order; ties keep it).
 */
export function sortCandidates<Candidate extends CandidateTrace>(
  candidates: readonly Candidate[],
  sort: CandidateSort,
  referenceTraceId: string,
  referenceDurationNanos: number | null,
): Candidate[] {
  const others = candidates.filter((candidate) => !sameTraceId(candidate.traceId, referenceTraceId));
  const keyed = others.map((candidate, position) => ({ candidate, position }));
  const compareBy = (key: (candidate: Candidate) => number) =>
    (left: { candidate: Candidate; position: number }, right: { candidate: Candidate; position: number }): number =>
      key(left.candidate) - key(right.candidate) || left.position - right.position;
  if (sort === 'slowest') keyed.sort(compareBy((candidate) => -candidate.durationNanos));
  else if (sort === 'fastest') keyed.sort(compareBy((candidate) => candidate.durationNanos));
  else if (sort === 'closest' && referenceDurationNanos !== null) {
    keyed.sort(compareBy((candidate) => Math.abs(candidate.durationNanos - referenceDurationNanos)));
  }
  return keyed.map(({ candidate }) => candidate);
}

/** The fastest, median and slowest candidates: one-click picks. */
export function quickPicks<Candidate extends CandidateTrace>(
  candidates: readonly Candidate[],
): { fastest: Candidate; median: Candidate; slowest: Candidate } | null {
  if (candidates.length === 0) return null;
  const byDuration = [...candidates].sort((left, right) => left.durationNanos - right.durationNanos);
  return {
    fastest: byDuration[0]!,
    median: byDuration[Math.floor((byDuration.length - 1) / 2)]!,
    slowest: byDuration[byDuration.length - 1]!,
  };
}
