// Trace compare: two traces of the same operation aligned by path (service, span name and
// occurrence from the root down), each path marked added, missing, slower, faster or unchanged.
// Everything a user chooses lives in the URL: /compare?a=<id>&b=<id>[&hide=…&threshold=…&minDelta=…].
// With fewer than two IDs the page is a picker: A's root operation finds candidates for B.
import { useEffect, useLayoutEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, fetchTrace, searchTraces, type TraceAnswer, type TraceSummary } from '../api';
import { CopyButton, EmptyState, ErrorBanner, Loading, ServiceBadge } from '../components/common';
import { useApi } from '../hooks';
import {
  alignTraces,
  classifyPaths,
  describePath,
  type PathComparisonRow,
  type PathComparisonStatus,
  type TraceComparison,
} from '../lib/compare';
import {
  CANDIDATE_SORTS,
  COMPARE_STATUSES,
  MIN_DELTA_CHOICES,
  STATUS_DESCRIPTION,
  STATUS_SYMBOL,
  THRESHOLD_PERCENT_CHOICES,
  attributeDifferences,
  barFractions,
  candidateSearchWindow,
  CANDIDATE_WINDOW_MINUTES,
  compareUrl,
  createTraceCache,
  defaultHiddenStatuses,
  describeRowChange,
  focusedRowIndex,
  formatAgo,
  formatDelta,
  formatRelativeDelta,
  formatTimestamp,
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
  type CandidateSort,
  type CompareUrlState,
  type TraceCache,
  type TraceFacts,
  type VisibleCompareRow,
} from '../lib/compare-view';
import { formatDuration, serviceColour } from '../lib/format';
import { parseOtlpTrace, type ParsedTrace, type TraceSpan } from '../lib/trace-model';
import { renderedRowIndices } from '../lib/row-window';
import { buildSpanTree, type SpanTree } from '../lib/tree';
import { treeKeyAction } from '../lib/tree-navigation';
import { Link, navigate } from '../router';
import './compare.css';

export function ComparePage({ search }: { search: URLSearchParams }) {
  const state = readCompareUrl(search);
  const loader = useTraceLoader();
  useEffect(() => {
    const previous = document.title;
    return () => {
      document.title = previous;
    };
  }, []);
  useEffect(() => {
    document.title = state.a && state.b ? `Compare ${state.a.slice(0, 8)} / ${state.b.slice(0, 8)} · Weft` : 'Compare traces · Weft';
  }, [state.a, state.b]);
  if (state.a !== '' && state.b !== '') return <ComparisonView state={state} loader={loader} />;
  return <ComparePicker reference={state.a} loader={loader} />;
}

// ---- loading -------------------------------------------------------------------------------

/**
 * Traces this visit of the page has prepared (fetched, parsed, built into a tree), so swapping
 * A and B or picking B right after looking at A neither fetches nor parses again. Owned by one
 * mount of the page and emptied when it unmounts: nothing of a (possibly 500k-span) trace
 * outlives the page. Holds only A and B; a trace still receiving spans is therefore compared
 * as first loaded until the page is reloaded, and a swap never changes what is compared.
 */
interface TraceLoader {
  /** The prepared trace; rejects with an ApiError, or an AbortError once `signal` aborts. */
  load(traceId: string, signal: AbortSignal): Promise<PreparedTrace>;
}

function useTraceLoader(): TraceLoader {
  const cache = useRef<TraceCache<PreparedTrace> | null>(null);
  // Aborting cancels the request itself, and a superseded answer is neither parsed nor kept.
  cache.current ??= createTraceCache(async (traceId, signal) => {
    const answer = await fetchTrace(traceId, signal);
    signal.throwIfAborted();
    return prepare(traceId, answer);
  });
  useEffect(() => () => cache.current?.clear(), []);
  const current = cache.current;
  return useMemo(
    () => ({
      async load(traceId, signal) {
        const trace = await current.load(traceId, signal);
        // The same trace under another spelling of its ID ("ab" for "00ab") keeps the one asked for.
        return trace.traceId === traceId ? trace : { ...trace, traceId };
      },
    }),
    [current],
  );
}

type Outcome = { ok: true; trace: PreparedTrace } | { ok: false; error: ApiError };

async function settle(loader: TraceLoader, traceId: string, signal: AbortSignal): Promise<Outcome> {
  try {
    return { ok: true, trace: await loader.load(traceId, signal) };
  } catch (error) {
    return { ok: false, error: error instanceof ApiError ? error : new ApiError(0, 'internal', String(error)) };
  }
}

interface PreparedTrace {
  readonly traceId: string;
  readonly truncated: boolean;
  readonly parsed: ParsedTrace;
  readonly tree: SpanTree<TraceSpan>;
  readonly facts: TraceFacts;
}

function prepare(traceId: string, answer: TraceAnswer): PreparedTrace {
  const parsed = parseOtlpTrace(answer.data);
  const tree = buildSpanTree(parsed.spans);
  return { traceId, truncated: answer.truncated, parsed, tree, facts: traceFacts(parsed, tree) };
}

// ---- picker --------------------------------------------------------------------------------

function ComparePicker({ reference, loader }: { reference: string; loader: TraceLoader }) {
  return (
    <div class="cmp-page" data-testid="compare-picker">
      <h1>Compare traces</h1>
      <p class="muted cmp-intro">
        Pick two traces of the same operation, such as a slow request and a typical one. Their spans are aligned by path
        (service and span name from the root down) to show what was added, what is missing and what got slower or faster.
      </p>
      <IdForm key={reference} initialA={reference} />
      {reference !== '' ? <ReferenceCandidates traceId={reference} loader={loader} /> : <RecentTraces />}
    </div>
  );
}

function IdForm({ initialA, initialB = '' }: { initialA: string; initialB?: string }) {
  const [a, setA] = useState(initialA);
  const [b, setB] = useState(initialB);
  const [submitted, setSubmitted] = useState(false);
  const idA = normaliseTraceIdInput(a);
  const idB = normaliseTraceIdInput(b);
  const problemA = idA === '' ? 'Enter the ID of trace A.' : isValidTraceId(idA) ? null : 'A trace ID is 1 to 32 hex digits.';
  const problemB = idB === '' || isValidTraceId(idB) ? null : 'A trace ID is 1 to 32 hex digits.';
  return (
    <form
      class="cmp-id-form"
      aria-label="Trace IDs"
      onSubmit={(event) => {
        event.preventDefault();
        setSubmitted(true);
        if (problemA !== null || problemB !== null) return;
        navigate(compareUrl({ a: idA, b: idB }));
      }}
    >
      <label class="cmp-id-field">
        <span class="field-label">Trace A (baseline)</span>
        <input
          class="mono"
          name="a"
          value={a}
          placeholder="trace ID"
          spellcheck={false}
          autocomplete="off"
          aria-invalid={submitted && problemA !== null}
          onInput={(event) => setA((event.currentTarget as HTMLInputElement).value)}
        />
      </label>
      <label class="cmp-id-field">
        <span class="field-label">Trace B (compared with A)</span>
        <input
          class="mono"
          name="b"
          value={b}
          placeholder="trace ID, or pick one below"
          spellcheck={false}
          autocomplete="off"
          aria-invalid={submitted && problemB !== null}
          onInput={(event) => setB((event.currentTarget as HTMLInputElement).value)}
        />
      </label>
      <button type="submit">{idB === '' ? 'Find traces like A' : 'Compare'}</button>
      {submitted && (problemA ?? problemB) !== null && (
        <p class="cmp-form-problem error-text" role="alert">
          {problemA ?? problemB}
        </p>
      )}
    </form>
  );
}

function ReferenceCandidates({ traceId, loader }: { traceId: string; loader: TraceLoader }) {
  const loaded = useApi((signal) => loader.load(traceId, signal), [traceId, loader]);
  if (loaded.status === 'loading') return <Loading what={`Loading trace A (${traceId})`} />;
  if (loaded.status === 'failed') return <ErrorBanner error={loaded.error} title={`Trace A (${traceId}) could not be loaded:`} />;
  const reference = loaded.data;
  if (reference.facts.spanCount === 0) {
    return <EmptyState title="Trace A has no spans">There is nothing to compare it with.</EmptyState>;
  }
  return (
    <>
      <div class="cmp-reference">
        <TraceCard side="A" trace={reference} />
      </div>
      <CandidateList reference={reference} />
    </>
  );
}

function CandidateList({ reference }: { reference: PreparedTrace }) {
  const { rootServiceName, rootSpanName, traceStartUnixNano } = reference.facts;
  const [sort, setSort] = useState<CandidateSort>('newest');
  // Around A's own start, not the last hour: A may be days old.
  const searchWindow = candidateSearchWindow(traceStartUnixNano);
  const found = useApi(
    (signal) =>
      searchTraces({ rootService: rootServiceName, rootOperation: rootSpanName, start: searchWindow.start, end: searchWindow.end, limit: 50 }, signal),
    [rootServiceName, rootSpanName, searchWindow.start, searchWindow.end],
  );
  const pick = (traceId: string) => navigate(compareUrl({ a: reference.traceId, b: traceId }));
  const heading = (
    <h2>
      Pick trace B: other <ServiceBadge name={rootServiceName} /> <span class="cmp-op">{rootSpanName}</span> traces started within {CANDIDATE_WINDOW_MINUTES} minutes of A
    </h2>
  );
  if (found.status === 'loading') return <>{heading}<Loading what="Finding traces of the same operation" /></>;
  if (found.status === 'failed') return <>{heading}<ErrorBanner error={found.error} title="Could not find traces of the same operation:" /></>;
  const candidates = sortCandidates(found.data.traces, sort, reference.traceId, reference.facts.durationNanos);
  if (candidates.length === 0) {
    return (
      <>
        {heading}
        <EmptyState title={`No other traces of this operation within ${CANDIDATE_WINDOW_MINUTES} minutes of A`} testId="compare-no-candidates">
          <p>
            Enter the ID of trace B above, or find one on the <Link href="/search">search page</Link>.
          </p>
        </EmptyState>
      </>
    );
  }
  const picks = quickPicks(candidates);
  const longest = Math.max(reference.facts.durationNanos, ...candidates.map((candidate) => candidate.durationNanos));
  const referenceFraction = longest > 0 ? reference.facts.durationNanos / longest : 0;
  const now = Date.now();
  return (
    <>
      {heading}
      <div class="cmp-candidate-tools">
        {picks !== null && (
          <div class="cmp-quick-picks" role="group" aria-label="Quick picks">
            <span class="muted">Compare A with the</span>
            <button type="button" class="secondary" onClick={() => pick(picks.fastest.traceId)}>
              fastest ({formatDuration(picks.fastest.durationNanos)})
            </button>
            <button type="button" class="secondary" onClick={() => pick(picks.median.traceId)}>
              median ({formatDuration(picks.median.durationNanos)})
            </button>
            <button type="button" class="secondary" onClick={() => pick(picks.slowest.traceId)}>
              slowest ({formatDuration(picks.slowest.durationNanos)})
            </button>
          </div>
        )}
        <label class="cmp-inline-field">
          <span class="muted">Order</span>
          <select value={sort} onChange={(event) => setSort((event.currentTarget as HTMLSelectElement).value as CandidateSort)}>
            {CANDIDATE_SORTS.map((choice) => (
              <option key={choice.value} value={choice.value}>
                {choice.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      {found.data.partial && (
        <p class="cmp-note" role="note">
          The search stopped at its scan budget; older traces of this operation may be missing from the list.
        </p>
      )}
      <table class="data-table cmp-candidates" aria-label="Traces to compare with A">
        <thead>
          <tr>
            <th scope="col">Trace</th>
            <th scope="col">Started</th>
            <th scope="col" class="num">Duration</th>
            <th scope="col" class="cmp-candidate-bar-head">
              <span class="cmp-sr">Duration bar; the line marks A</span>
            </th>
            <th scope="col" class="num">vs A</th>
            <th scope="col" class="num">Spans</th>
            <th scope="col" class="num">Errors</th>
            <th scope="col">
              <span class="cmp-sr">Action</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {candidates.map((candidate) => (
            <CandidateRow
              key={candidate.traceId}
              candidate={candidate}
              reference={reference}
              fraction={longest > 0 ? candidate.durationNanos / longest : 0}
              referenceFraction={referenceFraction}
              now={now}
              onPick={pick}
            />
          ))}
        </tbody>
      </table>
    </>
  );
}

function CandidateRow({
  candidate,
  reference,
  fraction,
  referenceFraction,
  now,
  onPick,
}: {
  candidate: TraceSummary;
  reference: PreparedTrace;
  fraction: number;
  referenceFraction: number;
  now: number;
  onPick: (traceId: string) => void;
}) {
  const delta = candidate.durationNanos - reference.facts.durationNanos;
  const spanDelta = candidate.spanCount - reference.facts.spanCount;
  return (
    <tr data-testid="compare-candidate" data-trace-id={candidate.traceId}>
      <td>
        <Link href={`/trace/${candidate.traceId}`} class="mono" title={candidate.traceId}>
          {candidate.traceId.slice(0, 16)}
        </Link>
      </td>
      <td title={formatTimestamp(candidate.startTimeUnixNano)}>{formatAgo(candidate.startTimeUnixNano, now)}</td>
      <td class="num">{formatDuration(candidate.durationNanos)}</td>
      <td class="cmp-candidate-bar-cell" aria-hidden="true">
        <span class="cmp-candidate-bar">
          <span class="cmp-candidate-bar-fill" style={{ width: `${(fraction * 100).toFixed(2)}%` }} />
          <span class="cmp-candidate-bar-mark" style={{ left: `${(referenceFraction * 100).toFixed(2)}%` }} />
        </span>
      </td>
      <td class={`num cmp-delta-${delta > 0 ? 'slower' : delta < 0 ? 'faster' : 'unchanged'}`}>{formatDelta(delta)}</td>
      <td class="num">
        {candidate.spanCount}
        {spanDelta !== 0 && (
          <span class={`cmp-span-delta ${spanDelta > 0 ? 'cmp-delta-added' : 'cmp-delta-missing'}`}>
            {' '}
            ({spanDelta > 0 ? '+' : '\u2212'}
            {Math.abs(spanDelta)})
          </span>
        )}
      </td>
      <td class={`num${candidate.errorCount > 0 ? ' error-text' : ''}`}>{candidate.errorCount}</td>
      <td class="cmp-candidate-action">
        <button type="button" class="button-small" aria-label={`Compare ${candidate.traceId} with A`} onClick={() => onPick(candidate.traceId)}>
          Compare
        </button>
      </td>
    </tr>
  );
}

function RecentTraces() {
  const found = useApi((signal) => searchTraces({ lookback: '1h', limit: 20 }, signal), []);
  const heading = <h2>Or start from a recent trace as A</h2>;
  if (found.status === 'loading') return <>{heading}<Loading what="Loading recent traces" /></>;
  if (found.status === 'failed') return <>{heading}<ErrorBanner error={found.error} title="Could not load recent traces:" /></>;
  if (found.data.traces.length === 0) {
    return (
      <>
        {heading}
        <EmptyState title="No traces in the last hour">
          <p>
            Send some spans, or find older traces on the <Link href="/search">search page</Link> and compare two of them from
            there.
          </p>
        </EmptyState>
      </>
    );
  }
  const now = Date.now();
  return (
    <>
      {heading}
      <table class="data-table cmp-candidates" aria-label="Recent traces">
        <thead>
          <tr>
            <th scope="col">Root</th>
            <th scope="col">Trace</th>
            <th scope="col">Started</th>
            <th scope="col" class="num">Duration</th>
            <th scope="col" class="num">Spans</th>
            <th scope="col" class="num">Errors</th>
            <th scope="col">
              <span class="cmp-sr">Action</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {found.data.traces.map((trace) => (
            <tr key={trace.traceId} data-testid="compare-recent" data-trace-id={trace.traceId}>
              <td>
                <ServiceBadge name={trace.rootServiceName} /> <span class="cmp-op">{trace.rootSpanName}</span>
              </td>
              <td>
                <Link href={`/trace/${trace.traceId}`} class="mono" title={trace.traceId}>
                  {trace.traceId.slice(0, 16)}
                </Link>
              </td>
              <td title={formatTimestamp(trace.startTimeUnixNano)}>{formatAgo(trace.startTimeUnixNano, now)}</td>
              <td class="num">{formatDuration(trace.durationNanos)}</td>
              <td class="num">{trace.spanCount}</td>
              <td class={`num${trace.errorCount > 0 ? ' error-text' : ''}`}>{trace.errorCount}</td>
              <td class="cmp-candidate-action">
                <button
                  type="button"
                  class="button-small"
                  aria-label={`Use ${trace.traceId} as A`}
                  onClick={() => navigate(compareUrl({ a: trace.traceId }))}
                >
                  Use as A
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

// ---- comparison ----------------------------------------------------------------------------

function ComparisonView({ state, loader }: { state: CompareUrlState; loader: TraceLoader }) {
  const same = sameTraceId(state.a, state.b);
  const loaded = useApi(
    async (signal) => {
      const [outcomeA, outcomeB] = await Promise.all([settle(loader, state.a, signal), same ? null : settle(loader, state.b, signal)]);
      return { a: outcomeA, b: outcomeB ?? outcomeA };
    },
    [state.a, state.b, loader],
  );
  const prepared = useMemo(() => {
    if (loaded.status !== 'ready' || !loaded.data.a.ok || !loaded.data.b.ok) return null;
    const a = loaded.data.a.trace;
    return { a, b: same ? { ...a, traceId: state.b } : loaded.data.b.trace };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [loaded]);

  if (loaded.status === 'loading') {
    return (
      <div class="cmp-page">
        <h1>Compare traces</h1>
        <Loading what="Loading both traces" />
      </div>
    );
  }
  if (loaded.status === 'failed' || prepared === null) {
    const errors: { side: 'A' | 'B'; id: string; error: ApiError }[] = [];
    if (loaded.status === 'failed') errors.push({ side: 'A', id: state.a, error: loaded.error });
    else {
      if (!loaded.data.a.ok) errors.push({ side: 'A', id: state.a, error: loaded.data.a.error });
      if (!loaded.data.b.ok && !same) errors.push({ side: 'B', id: state.b, error: loaded.data.b.error });
    }
    return (
      <div class="cmp-page" data-testid="compare-picker">
        <h1>Compare traces</h1>
        {errors.map(({ side, id, error }) => (
          <ErrorBanner key={side} error={error} title={`Trace ${side} (${id}) could not be loaded:`} />
        ))}
        <p class="muted">Correct the trace ID below, or pick another trace.</p>
        <IdForm initialA={state.a} initialB={state.b} />
      </div>
    );
  }
  return <ComparisonResult key={`${state.a}/${state.b}`} state={state} a={prepared.a} b={prepared.b} same={same} />;
}

function ComparisonResult({ state, a, b, same }: { state: CompareUrlState; a: PreparedTrace; b: PreparedTrace; same: boolean }) {
  // Matching paths is the costly part and depends on the traces only; thresholds just reclassify.
  const alignment = useMemo(() => alignTraces(a.tree, b.tree), [a, b]);
  const structure = useMemo(() => indexRowStructure(alignment.paths), [alignment]);
  const comparison = useMemo(
    () => classifyPaths(alignment, { relativeThreshold: state.thresholdPercent / 100, minimumDeltaNanos: state.minDeltaNanos }),
    [alignment, state.thresholdPercent, state.minDeltaNanos],
  );
  const infos = useMemo(() => indexRows(comparison.rows, structure), [comparison, structure]);
  const hidden = state.hidden ?? defaultHiddenStatuses(comparison.countByStatus);
  const hiddenKey = COMPARE_STATUSES.filter((status) => hidden.has(status)).join(',');
  const [collapsed, setCollapsed] = useState<ReadonlySet<number>>(() => new Set());
  const visible = useMemo(
    () => visibleCompareRows(comparison.rows, infos, hidden, collapsed),
    // `hidden` is rebuilt every render; its content is `hiddenKey`.
    // eslint-disable-next-line react-hooks/exhaustive-deps
    [comparison, infos, hiddenKey, collapsed],
  );
  const [selectedPathId, setSelectedPathId] = useState<number | null>(null);
  const selectedRow = selectedPathId === null ? null : (comparison.rowByPathId.get(selectedPathId) ?? null);

  const update = (change: Partial<CompareUrlState>) => navigate(compareUrl({ ...state, hidden, ...change }), { replace: true });
  const toggleStatus = (status: PathComparisonStatus) => {
    const next = new Set(hidden);
    if (next.has(status)) next.delete(status);
    else next.add(status);
    update({ hidden: next });
  };
  const toggleCollapsed = (pathId: number) => {
    const next = new Set(collapsed);
    if (next.has(pathId)) next.delete(pathId);
    else next.add(pathId);
    setCollapsed(next);
  };

  const rootsDiffer =
    a.facts.rootServiceName !== b.facts.rootServiceName || a.facts.rootSpanName !== b.facts.rootSpanName;
  const differences = comparison.rows.length - comparison.countByStatus.unchanged;
  return (
    <div class="cmp-page">
      <h1>Compare traces</h1>
      {same && (
        <div class="banner cmp-banner-info" role="status" data-testid="compare-same-trace">
          <strong>A and B are the same trace,</strong> so every path is unchanged.{' '}
          <Link href={compareUrl({ a: state.a })}>Pick a different trace B</Link>
        </div>
      )}
      {rootsDiffer && (
        <div class="banner cmp-banner-warning" role="note" data-testid="compare-root-differs">
          <strong>These traces are of different operations:</strong> A starts with {a.facts.rootServiceName} ·{' '}
          <span class="cmp-op">{a.facts.rootSpanName}</span>, B with {b.facts.rootServiceName} ·{' '}
          <span class="cmp-op">{b.facts.rootSpanName}</span>. Paths only match below equal roots, so most of them show as
          added or missing. <Link href={compareUrl({ a: state.a })}>Pick a B of A’s operation</Link>
        </div>
      )}
      {[a, b].map((trace, position) => (
        <TraceWarnings key={position} side={position === 0 ? 'A' : 'B'} trace={trace} />
      ))}

      <div class="cmp-header">
        <TraceCard side="A" trace={a} />
        <div class="cmp-header-middle">
          <button
            type="button"
            class="secondary cmp-swap"
            data-testid="compare-swap"
            title="Make B the baseline"
            onClick={() => navigate(compareUrl({ ...state, a: state.b, b: state.a }))}
          >
            <span aria-hidden="true">⇄</span> Swap A and B
          </button>
          <OverallChange a={a.facts} b={b.facts} />
        </div>
        <TraceCard side="B" trace={b} />
      </div>

      <div class="cmp-toolbar">
        <div
          class="cmp-summary"
          role="group"
          aria-label={`Paths: ${summaryText(comparison.countByStatus)}. Press a status to show or hide its rows.`}
          data-testid="compare-summary"
          data-added={comparison.countByStatus.added}
          data-missing={comparison.countByStatus.missing}
          data-slower={comparison.countByStatus.slower}
          data-faster={comparison.countByStatus.faster}
          data-unchanged={comparison.countByStatus.unchanged}
        >
          {COMPARE_STATUSES.map((status) => (
            <button
              key={status}
              type="button"
              class={`cmp-chip cmp-status-${status}`}
              aria-pressed={!hidden.has(status)}
              title={`${hidden.has(status) ? 'Show' : 'Hide'} paths ${STATUS_DESCRIPTION[status]}`}
              data-status={status}
              onClick={() => toggleStatus(status)}
            >
              <span class="cmp-chip-symbol" aria-hidden="true">
                {STATUS_SYMBOL[status]}
              </span>
              <span class="cmp-chip-count">{comparison.countByStatus[status]}</span> {status}
            </button>
          ))}
        </div>
        <label class="cmp-check">
          <input
            type="checkbox"
            checked={hidden.has('unchanged')}
            data-testid="compare-only-differences"
            onChange={(event) => {
              const next = new Set(hidden);
              if ((event.currentTarget as HTMLInputElement).checked) next.add('unchanged');
              else next.delete('unchanged');
              update({ hidden: next });
            }}
          />
          Only show differences
        </label>
        <label class="cmp-inline-field" title="A path whose duration changed by more than this is slower or faster">
          <span class="muted">Change above</span>
          <select
            value={String(state.thresholdPercent)}
            onChange={(event) => update({ thresholdPercent: Number((event.currentTarget as HTMLSelectElement).value) })}
          >
            {[...new Set([...THRESHOLD_PERCENT_CHOICES, state.thresholdPercent])]
              .sort((left, right) => left - right)
              .map((percent) => (
                <option key={percent} value={String(percent)}>
                  {percent} %
                </option>
              ))}
          </select>
        </label>
        <label class="cmp-inline-field" title="Smaller changes are unchanged whatever their ratio (jitter on tiny spans)">
          <span class="muted">and at least</span>
          <select
            value={String(state.minDeltaNanos)}
            onChange={(event) => update({ minDeltaNanos: Number((event.currentTarget as HTMLSelectElement).value) })}
          >
            {[...new Set([...MIN_DELTA_CHOICES.map((choice) => choice.nanos), state.minDeltaNanos])]
              .sort((left, right) => left - right)
              .map((nanos) => (
                <option key={nanos} value={String(nanos)}>
                  {nanos === 0 ? 'any amount' : formatDuration(nanos)}
                </option>
              ))}
          </select>
        </label>
        <div class="cmp-tree-actions">
          <button type="button" class="button-small" onClick={() => setCollapsed(new Set())} disabled={collapsed.size === 0}>
            Expand all
          </button>
          <button type="button" class="button-small" onClick={() => setCollapsed(pathIdsWithChildren(comparison.rows, infos))}>
            Collapse all
          </button>
        </div>
      </div>

      <div class="cmp-body">
        <div class="cmp-main">
          {visible.length === 0 ? (
            <EmptyState title={differences === 0 ? 'No differences' : 'Every path is filtered out'} testId="compare-nothing-shown">
              <p>
                {differences === 0
                  ? `All ${comparison.rows.length} paths took about the same time in both traces (within ${state.thresholdPercent} %).`
                  : 'The statuses you hid cover every path.'}{' '}
                <button type="button" class="secondary" onClick={() => update({ hidden: new Set() })}>
                  Show all paths
                </button>
              </p>
            </EmptyState>
          ) : (
            <CompareTree
              visible={visible}
              rowByPathId={comparison.rowByPathId}
              a={a}
              b={b}
              selectedPathId={selectedPathId}
              onSelect={setSelectedPathId}
              onToggle={toggleCollapsed}
            />
          )}
          {visible.length > 0 && hidden.size > 0 && (
            <p class="muted cmp-hidden-note">
              {comparison.rows.length - visible.filter((item) => !item.context).length} of {comparison.rows.length} paths hidden
              by the filter{hidden.has('unchanged') ? '; greyed rows are unchanged parents, kept for context' : ''}.{' '}
              <button type="button" class="button-small" onClick={() => update({ hidden: new Set() })}>
                Show all
              </button>
            </p>
          )}
        </div>
        <RowDetail comparison={comparison} row={selectedRow} a={a} b={b} />
      </div>
    </div>
  );
}

function TraceWarnings({ side, trace }: { side: 'A' | 'B'; trace: PreparedTrace }) {
  const notes: string[] = [];
  if (trace.truncated) {
    notes.push(`Trace ${side} has more than 500,000 spans and was cut there; spans beyond the cut show as missing or added.`);
  }
  if (trace.parsed.droppedSpanCount > 0) {
    notes.push(`${trace.parsed.droppedSpanCount} spans of trace ${side} had no readable start time and are left out.`);
  }
  if (trace.tree.duplicateSpanCount > 0) {
    notes.push(`Trace ${side} repeats ${trace.tree.duplicateSpanCount} span IDs; only the first copy of each is compared.`);
  }
  if (trace.facts.spanCount === 0) notes.push(`Trace ${side} has no spans.`);
  else if (!trace.facts.rootFound) {
    notes.push(`The root span of trace ${side} has not arrived; its earliest span stands in for it.`);
  }
  if (notes.length === 0) return null;
  return (
    <div class="banner cmp-banner-warning" role="note" data-testid={trace.truncated ? 'compare-truncated' : 'compare-trace-warning'}>
      {notes.map((note) => (
        <div key={note}>{note}</div>
      ))}
    </div>
  );
}

function TraceCard({ side, trace }: { side: 'A' | 'B'; trace: PreparedTrace }) {
  const { facts } = trace;
  return (
    <section class={`cmp-card cmp-card-${side.toLowerCase()}`} aria-label={`Trace ${side}`} data-testid={`compare-trace-${side.toLowerCase()}`}>
      <div class="cmp-card-head">
        <span class="cmp-side" aria-hidden="true">
          {side}
        </span>
        <span class="cmp-card-role">{side === 'A' ? 'Baseline' : 'Compared with A'}</span>
        <span class="mono cmp-card-id" title={trace.traceId}>
          {trace.traceId}
        </span>
        <CopyButton text={trace.traceId} label="Copy ID" />
      </div>
      <div class="cmp-card-root">
        {facts.rootServiceName !== '' && <ServiceBadge name={facts.rootServiceName} />}
        <span class="cmp-op" title={facts.rootSpanName}>
          {facts.rootSpanName || '(no spans)'}
        </span>
      </div>
      <dl class="cmp-facts">
        <div>
          <dt>Duration</dt>
          <dd>{formatDuration(facts.durationNanos)}</dd>
        </div>
        <div>
          <dt>Spans</dt>
          <dd>{facts.spanCount.toLocaleString()}</dd>
        </div>
        <div>
          <dt>Errors</dt>
          <dd class={facts.errorCount > 0 ? 'error-text' : undefined}>{facts.errorCount}</dd>
        </div>
        <div>
          <dt>Services</dt>
          <dd>{facts.serviceNames.length}</dd>
        </div>
        <div class="cmp-facts-wide">
          <dt>Started</dt>
          <dd>{facts.spanCount > 0 ? formatTimestamp(facts.traceStartUnixNano) : '\u2014'}</dd>
        </div>
      </dl>
      <div class="cmp-card-links">
        <Link href={`/trace/${trace.traceId}`} data-testid={`compare-open-${side.toLowerCase()}`}>
          Open trace {side} <span aria-hidden="true">→</span>
        </Link>
        {trace.truncated && <span class="cmp-tag cmp-tag-warning">truncated</span>}
      </div>
    </section>
  );
}

function OverallChange({ a, b }: { a: TraceFacts; b: TraceFacts }) {
  const delta = b.durationNanos - a.durationNanos;
  const relative = a.durationNanos > 0 ? delta / a.durationNanos : delta === 0 ? 0 : Infinity;
  const spanDelta = b.spanCount - a.spanCount;
  const direction = delta > 0 ? 'slower' : delta < 0 ? 'faster' : 'unchanged';
  return (
    <div class="cmp-overall" data-testid="compare-overall">
      <div class={`cmp-overall-delta cmp-delta-${direction}`}>
        {delta === 0 ? 'Same duration' : `B ${formatDelta(delta)}`}
        {delta !== 0 && <span class="cmp-overall-relative"> ({formatRelativeDelta(relative)})</span>}
      </div>
      <div class="muted">
        {spanDelta === 0
          ? 'same number of spans'
          : `${spanDelta > 0 ? '+' : '\u2212'}${Math.abs(spanDelta)} span${Math.abs(spanDelta) === 1 ? '' : 's'} in B`}
      </div>
    </div>
  );
}

// ---- aligned tree --------------------------------------------------------------------------

const ROW_HEIGHT = 28;
const OVERSCAN_ROWS = 12;
/** Indentation stops growing here so deep chains stay on screen; the depth is still shown. */
const MAX_INDENT_LEVELS = 24;
const INDENT_PIXELS = 16;

/**
 * Rows are windowed against the page scroll (no inner scroll box): only those near the
 * viewport are in the DOM, plus the focused one so Tab always lands in the tree. Keyboard:
 * ↑/↓, Home/End, PageUp/PageDown move; → expands or goes to the first child, ← collapses or goes
 * to the parent; Enter/Space toggle. The focused row is the selected one: focus is kept as
 * the selected path, not as a position, so filtering or collapsing (which shifts positions)
 * cannot move it to another row. When the selected path is filtered out or collapsed away, its
 * nearest shown ancestor takes the focus.
 */
function CompareTree({
  visible,
  rowByPathId,
  a,
  b,
  selectedPathId,
  onSelect,
  onToggle,
}: {
  visible: readonly VisibleCompareRow[];
  rowByPathId: ReadonlyMap<number, PathComparisonRow>;
  a: PreparedTrace;
  b: PreparedTrace;
  selectedPathId: number | null;
  onSelect: (pathId: number) => void;
  onToggle: (pathId: number) => void;
}) {
  const bodyRef = useRef<HTMLDivElement>(null);
  const [viewport, setViewport] = useState({ top: 0, height: 900 });
  const pendingFocus = useRef(false);
  const focus = useMemo(() => focusedRowIndex(visible, selectedPathId, rowByPathId), [visible, selectedPathId, rowByPathId]);

  useLayoutEffect(() => {
    let frame = 0;
    const measure = () => {
      frame = 0;
      const body = bodyRef.current;
      if (body === null) return;
      const top = -body.getBoundingClientRect().top;
      setViewport((previous) =>
        Math.abs(previous.top - top) < ROW_HEIGHT / 2 && previous.height === window.innerHeight
          ? previous
          : { top, height: window.innerHeight },
      );
    };
    const schedule = () => {
      if (frame === 0) frame = requestAnimationFrame(measure);
    };
    measure();
    window.addEventListener('scroll', schedule, { passive: true });
    window.addEventListener('resize', schedule);
    return () => {
      window.removeEventListener('scroll', schedule);
      window.removeEventListener('resize', schedule);
      if (frame !== 0) cancelAnimationFrame(frame);
    };
  }, []);

  // A layout effect, so focus has moved by the time the browser handles the next key.
  useLayoutEffect(() => {
    if (!pendingFocus.current) return;
    pendingFocus.current = false;
    const element = bodyRef.current?.querySelector<HTMLElement>(`[data-visible-index="${focus}"]`);
    element?.focus({ preventScroll: true });
    element?.scrollIntoView({ block: 'nearest' });
  }, [focus, visible]);

  const indices = renderedRowIndices(visible.length, viewport.top, viewport.height, ROW_HEIGHT, OVERSCAN_ROWS, focus);

  const moveTo = (index: number) => {
    const next = Math.max(0, Math.min(visible.length - 1, index));
    const item = visible[next];
    if (item === undefined) return;
    // The row at `focus` has the DOM focus already (keys come from it): only a move needs the effect.
    if (next !== focus) pendingFocus.current = true;
    onSelect(item.row.pathId);
  };

  const onKeyDown = (event: KeyboardEvent) => {
    if (event.altKey || event.ctrlKey || event.metaKey) return;
    const item = visible[focus];
    if (item === undefined) return;
    const page = Math.max(1, Math.floor(window.innerHeight / ROW_HEIGHT) - 4);
    const action = treeKeyAction(event.key, focus, visible.length, { hasChildren: item.hasChildren, collapsed: item.collapsed }, page);
    if (action === null) return;
    if (action.kind === 'move') moveTo(action.to);
    else if (action.kind === 'toggle') onToggle(item.row.pathId);
    else if (action.kind === 'parent') {
      for (let index = focus - 1; index >= 0; index -= 1) {
        if (visible[index]!.index === item.info.parentIndex) {
          moveTo(index);
          break;
        }
      }
    }
    event.preventDefault();
  };

  return (
    <div class="cmp-tree" role="treegrid" aria-label="Spans of A and B aligned by path" aria-rowcount={visible.length + 1}>
      <div class="cmp-row cmp-tree-head" role="row" aria-rowindex={1}>
        <span role="columnheader" class="cmp-cell-marker">
          <span class="cmp-sr">Change</span>
        </span>
        <span role="columnheader">Span</span>
        <span role="columnheader" class="num">
          A
        </span>
        <span role="columnheader" class="num">
          B
        </span>
        <span role="columnheader" class="cmp-cell-bars" title="Duration in A (upper bar) and in B (lower bar)">
          <span class="cmp-legend cmp-legend-a" aria-hidden="true" /> A <span class="cmp-legend cmp-legend-b" aria-hidden="true" /> B
        </span>
        <span role="columnheader" class="num">
          Δ
        </span>
        <span role="columnheader" class="num">
          Δ %
        </span>
      </div>
      <div
        class="cmp-tree-body"
        role="rowgroup"
        ref={bodyRef}
        style={{ height: `${visible.length * ROW_HEIGHT}px` }}
        onKeyDown={onKeyDown}
      >
        {indices.map((index) => {
          const item = visible[index]!;
          return (
            <CompareRow
              key={item.row.pathId}
              item={item}
              visibleIndex={index}
              focused={index === focus}
              selected={item.row.pathId === selectedPathId}
              spanA={item.row.spanIdInA === null ? null : (a.tree.nodeBySpanId.get(item.row.spanIdInA)?.span ?? null)}
              spanB={item.row.spanIdInB === null ? null : (b.tree.nodeBySpanId.get(item.row.spanIdInB)?.span ?? null)}
              onFocusRow={() => onSelect(item.row.pathId)}
              onToggle={onToggle}
            />
          );
        })}
      </div>
      <p class="cmp-keys muted" aria-hidden="true">
        ↑ ↓ move · ← → collapse and expand · Enter toggles
      </p>
    </div>
  );
}

function CompareRow({
  item,
  visibleIndex,
  focused,
  selected,
  spanA,
  spanB,
  onFocusRow,
  onToggle,
}: {
  item: VisibleCompareRow;
  visibleIndex: number;
  focused: boolean;
  selected: boolean;
  spanA: TraceSpan | null;
  spanB: TraceSpan | null;
  onFocusRow: () => void;
  onToggle: (pathId: number) => void;
}) {
  const { row, info } = item;
  const bars = barFractions(row.durationNanosA, row.durationNanosB);
  const indentLevels = Math.min(row.depth, MAX_INDENT_LEVELS);
  const repeated = Math.max(info.siblingCountA, info.siblingCountB) > 1;
  // Counts matter when a span repeats a different number of times on each side (N+1 queries);
  // "×0 → ×1" would only repeat the row's status.
  const countsDiffer = info.siblingCountA > 0 && info.siblingCountB > 0 && info.siblingCountA !== info.siblingCountB;
  const errorA = spanA?.statusCode === 'error';
  const errorB = spanB?.statusCode === 'error';
  return (
    <div
      class={`cmp-row cmp-status-${row.status}${item.context ? ' cmp-row-context' : ''}${selected ? ' cmp-row-selected' : ''}`}
      role="row"
      aria-rowindex={visibleIndex + 2}
      aria-level={row.depth + 1}
      aria-expanded={item.hasChildren ? !item.collapsed : undefined}
      aria-selected={selected}
      tabIndex={focused ? 0 : -1}
      style={{ top: `${visibleIndex * ROW_HEIGHT}px` }}
      data-testid="compare-row"
      data-visible-index={visibleIndex}
      data-status={row.status}
      data-service={row.step.serviceName}
      data-span-name={row.step.name}
      onFocus={onFocusRow}
      onClick={(event) => {
        (event.currentTarget as HTMLElement).focus({ preventScroll: true });
      }}
    >
      <span role="gridcell" class="cmp-cell-marker" title={`${row.status}: ${STATUS_DESCRIPTION[row.status]}`}>
        <span class="cmp-marker" aria-hidden="true">
          {STATUS_SYMBOL[row.status]}
        </span>
        <span class="cmp-sr">{row.status}</span>
      </span>
      <span role="gridcell" class="cmp-cell-span" style={{ paddingLeft: `${indentLevels * INDENT_PIXELS}px` }}>
        {row.depth > MAX_INDENT_LEVELS && <span class="cmp-depth" title={`depth ${row.depth}`}>{row.depth}</span>}
        {item.hasChildren ? (
          <button
            type="button"
            class="cmp-toggle"
            tabIndex={-1}
            aria-label={`${item.collapsed ? 'Expand' : 'Collapse'} ${row.step.name}`}
            onClick={(event) => {
              event.stopPropagation();
              onToggle(row.pathId);
              onFocusRow();
            }}
          >
            {item.collapsed ? '▸' : '▾'}
          </button>
        ) : (
          <span class="cmp-toggle-space" aria-hidden="true" />
        )}
        <span class="cmp-swatch" style={{ background: serviceColour(row.step.serviceName) }} aria-hidden="true" />
        <span class="cmp-service">{row.step.serviceName}</span>
        <span class="cmp-name" title={row.step.name}>
          {row.step.name}
        </span>
        {repeated && (
          <span class="cmp-occurrence" title={`occurrence ${row.step.occurrence + 1} of this span under its parent`}>
            #{row.step.occurrence + 1}
          </span>
        )}
        {countsDiffer && (
          <span
            class="cmp-tag cmp-tag-count"
            title={`${info.siblingCountA} in A, ${info.siblingCountB} in B under the same parent`}
            data-testid="compare-count"
          >
            ×{info.siblingCountA} → ×{info.siblingCountB}
          </span>
        )}
        {(errorA || errorB) && (
          <span class="cmp-tag cmp-tag-error" title={`failed in ${errorA && errorB ? 'A and B' : errorA ? 'A' : 'B'}`}>
            error {errorA && errorB ? 'A B' : errorA ? 'A' : 'B'}
          </span>
        )}
        {item.collapsed && (
          <span class="cmp-tag cmp-tag-hidden">
            {info.subtreeEnd - item.index - 1} hidden{info.changedBelow > 0 ? ` · ${info.changedBelow} changed` : ''}
          </span>
        )}
      </span>
      <span role="gridcell" class="num cmp-duration">
        {row.durationNanosA === null ? <span class="muted">—</span> : formatDuration(row.durationNanosA)}
      </span>
      <span role="gridcell" class="num cmp-duration">
        {row.durationNanosB === null ? <span class="muted">—</span> : formatDuration(row.durationNanosB)}
      </span>
      <span role="gridcell" class="cmp-cell-bars" aria-hidden="true">
        <span class="cmp-bar-track">
          {bars.a !== null && <span class="cmp-bar cmp-bar-a" style={{ width: `${Math.max(bars.a * 100, 1).toFixed(2)}%` }} />}
        </span>
        <span class="cmp-bar-track">
          {bars.b !== null && <span class="cmp-bar cmp-bar-b" style={{ width: `${Math.max(bars.b * 100, 1).toFixed(2)}%` }} />}
        </span>
      </span>
      <span role="gridcell" class="num cmp-delta">
        {row.deltaNanos === null ? <span class="muted">{row.status === 'added' ? 'new' : 'gone'}</span> : formatDelta(row.deltaNanos)}
      </span>
      <span role="gridcell" class="num cmp-delta">
        {row.relativeDelta === null ? '' : formatRelativeDelta(row.relativeDelta)}
      </span>
    </div>
  );
}

// ---- selected path -------------------------------------------------------------------------

function RowDetail({
  comparison,
  row,
  a,
  b,
}: {
  comparison: TraceComparison;
  row: PathComparisonRow | null;
  a: PreparedTrace;
  b: PreparedTrace;
}) {
  if (row === null) {
    return (
      <aside class="cmp-detail cmp-detail-empty" aria-label="Selected path">
        <p class="muted">
          Select a row to see its path and the two spans side by side, with the attributes that differ first.
        </p>
        <Legend />
      </aside>
    );
  }
  const spanA = row.spanIdInA === null ? null : (a.tree.nodeBySpanId.get(row.spanIdInA)?.span ?? null);
  const spanB = row.spanIdInB === null ? null : (b.tree.nodeBySpanId.get(row.spanIdInB)?.span ?? null);
  const path = describePath(comparison, row.pathId);
  const attributes = attributeDifferences(spanA?.attributes ?? null, spanB?.attributes ?? null);
  const differing = attributes.filter((attribute) => attribute.differs).length;
  const field = (label: string, value: (span: TraceSpan) => string, cls?: (span: TraceSpan) => string | undefined) => (
    <tr>
      <th scope="row">{label}</th>
      {[spanA, spanB].map((span, position) => (
        <td key={position} class={span === null ? 'muted' : cls?.(span)}>
          {span === null ? '—' : value(span)}
        </td>
      ))}
    </tr>
  );
  return (
    <aside class="cmp-detail" aria-label="Selected path" data-testid="compare-detail">
      <div class="cmp-detail-title">
        <span class={`cmp-pill cmp-status-${row.status}`}>
          <span aria-hidden="true">{STATUS_SYMBOL[row.status]}</span> {row.status}
        </span>
        <h2>{row.step.name}</h2>
      </div>
      <div>
        <ServiceBadge name={row.step.serviceName} />
      </div>
      <p class="cmp-detail-change">{describeRowChange(row)}</p>
      <ol class="cmp-path" aria-label="Path from the root">
        {path.map((step, index) => (
          <li key={index} style={{ paddingLeft: `${Math.min(index, 12) * 10}px` }}>
            <span class="cmp-swatch" style={{ background: serviceColour(step.serviceName) }} aria-hidden="true" />
            <span class="cmp-service">{step.serviceName}</span> {step.name}
            {step.occurrence > 0 && <span class="cmp-occurrence"> #{step.occurrence + 1}</span>}
          </li>
        ))}
      </ol>
      <table class="cmp-detail-table">
        <thead>
          <tr>
            <th scope="col">
              <span class="cmp-sr">Field</span>
            </th>
            <th scope="col">A</th>
            <th scope="col">B</th>
          </tr>
        </thead>
        <tbody>
          {field('Duration', (span) => formatDuration(span.durationNanos))}
          {field('Starts at', (span) => `+${formatDuration(span.startOffsetNanos)}`)}
          {field('Kind', (span) => span.kind)}
          {field(
            'Status',
            (span) => (span.statusCode === 'error' ? `error${span.statusMessage ? `: ${span.statusMessage}` : ''}` : span.statusCode),
            (span) => (span.statusCode === 'error' ? 'error-text' : undefined),
          )}
          {field('Events', (span) => String(span.events.length))}
          <tr>
            <th scope="row">Span</th>
            {[
              { span: spanA, trace: a },
              { span: spanB, trace: b },
            ].map(({ span, trace }, position) => (
              <td key={position}>
                {span === null ? (
                  <span class="muted">—</span>
                ) : (
                  <Link href={`/trace/${trace.traceId}?span=${span.spanId}`} class="mono" title={`Open span ${span.spanId} in its trace`}>
                    {span.spanId}
                  </Link>
                )}
              </td>
            ))}
          </tr>
        </tbody>
      </table>
      <h3 class="cmp-detail-subhead">
        Attributes{' '}
        <span class="muted">
          {attributes.length === 0 ? 'none' : differing === 0 ? 'all equal' : `${differing} of ${attributes.length} differ`}
        </span>
      </h3>
      {attributes.length > 0 && (
        <table class="cmp-detail-table cmp-attributes">
          <tbody>
            {attributes.map((attribute) => (
              <tr key={attribute.key} class={attribute.differs ? 'cmp-attribute-differs' : undefined}>
                <th scope="row" class="mono" title={attribute.key}>
                  {attribute.differs && (
                    <span class="cmp-differs-mark" title="differs">
                      ≠{' '}
                    </span>
                  )}
                  {attribute.key}
                </th>
                <td class="mono" title={attribute.valueA ?? undefined}>
                  {attribute.valueA ?? <span class="muted">—</span>}
                </td>
                <td class="mono" title={attribute.valueB ?? undefined}>
                  {attribute.valueB ?? <span class="muted">—</span>}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </aside>
  );
}

function Legend() {
  return (
    <ul class="cmp-legend-list" aria-label="Legend">
      {COMPARE_STATUSES.map((status) => (
        <li key={status} class={`cmp-status-${status}`}>
          <span class="cmp-marker" aria-hidden="true">
            {STATUS_SYMBOL[status]}
          </span>{' '}
          <strong>{status}</strong>: {STATUS_DESCRIPTION[status]}
        </li>
      ))}
    </ul>
  );
}
