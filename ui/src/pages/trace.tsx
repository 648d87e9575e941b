// One trace: header with the numbers that matter, why the cold tier keeps the trace (or not) and
// what the diagnosis finds in it, the minimap, the waterfall with the critical path, search within the trace, span details
// (with the span's logs), the trace's log records and the raw OTLP/JSON. The URL keeps the selected span (`?span=`) so a link can point at one span.
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { ApiError, type TraceAnswer, type TraceLogsAnswer, fetchTrace, fetchTraceLogs } from '../api';
import { CopyButton, EmptyState, ErrorBanner, Loading, ServiceBadge } from '../components/common';
import { SpanDetail } from '../components/span-detail';
import { TraceDiagnosis } from '../components/trace-diagnosis';
import { TraceLogs, revealTraceLogs } from '../components/trace-logs';
import { TraceMinimap } from '../components/trace-minimap';
import { TraceSampling } from '../components/trace-sampling';
import { TraceWaterfall } from '../components/trace-waterfall';
import { usePrefersDark, useApi } from '../hooks';
import { computeCriticalPath, criticalNanosBySpanId } from '../lib/critical-path';
import { formatDuration, formatLocalDateTime } from '../lib/format';
import { countBySeverity, logsBySpanId } from '../lib/logs';
import { type ParsedTrace, type TraceSpan, parseOtlpTrace } from '../lib/trace-model';
import {
  type TimeWindow,
  clampWindow,
  collapsedAncestors,
  TraceSearchIndex,
  parentSpanIds,
  segmentsBySpanId,
  traceStats,
  zoomWindow,
} from '../lib/trace-view';
import { isTraceId, normaliseTraceId } from '../lib/trace-id';
import { buildSpanTree, primaryRoot, visibleRows } from '../lib/tree';
import { treeKeyAction } from '../lib/tree-navigation';
import { Link, navigate, urlWith } from '../router';
import './trace.css';

/** Beyond this the raw JSON view shows a prefix and links to the full answer. */
const RAW_JSON_DISPLAY_LIMIT = 2_000_000;
/** Rows PageUp/PageDown move in the waterfall. */
const WATERFALL_PAGE_ROWS = 20;
/** Find in trace runs when typing pauses this long, not on every keystroke. */
const FIND_DEBOUNCE_MILLIS = 150;
/** The `?span=` URL follows the selection at most this often (browsers throttle history calls). */
const URL_UPDATE_DEBOUNCE_MILLIS = 300;

export function TracePage({ traceId, search }: { traceId: string; search: URLSearchParams }) {
  const valid = isTraceId(traceId);
  const answer = useApi<TraceAnswer>(
    async (signal) => {
      if (!valid) throw new ApiError(400, 'invalid_argument', `"${traceId}" is not a trace ID: it must be 1 to 32 hex digits`);
      performance.mark('weft:trace-requested');
      const result = await fetchTrace(traceId, signal);
      performance.mark('weft:trace-fetched');
      return result;
    },
    [traceId],
  );
  if (answer.status === 'loading') return <Loading what={`Loading trace ${traceId}`} />;
  if (answer.status === 'failed') {
    if (answer.error.status === 404) {
      return (
        <EmptyState title="Trace not found" testId="trace-not-found">
          <p>{answer.error.message}</p>
          <p>
            Trace <code>{traceId}</code> has no stored spans. It may be older than the retention, its spans may not have
            arrived yet (try again in a few seconds), or the ID may be mistyped. <Link href="/search">Search for traces</Link>.
          </p>
        </EmptyState>
      );
    }
    return <ErrorBanner error={answer.error} title={`Cannot load trace ${traceId}`} />;
  }
  return <TraceView key={traceId} traceId={traceId} answer={answer.data} selectedFromUrl={search.get('span')} />;
}

function TraceView({ traceId, answer, selectedFromUrl }: { traceId: string; answer: TraceAnswer; selectedFromUrl: string | null }) {
  const dark = usePrefersDark();
  const model = useMemo(() => {
    const trace: ParsedTrace = parseOtlpTrace(answer.data);
    const tree = buildSpanTree(trace.spans);
    const root = primaryRoot(tree);
    const segments = root ? computeCriticalPath(root) : [];
    const model = {
      trace,
      tree,
      root,
      stats: traceStats(tree),
      criticalSegments: segmentsBySpanId(segments),
      criticalNanos: criticalNanosBySpanId(segments),
    };
    performance.mark('weft:trace-parsed');
    return model;
  }, [answer]);
  const { trace, tree, root, stats } = model;
  const traceNanos = Math.max(trace.durationNanos, 1);

  const [collapsed, setCollapsed] = useState<ReadonlySet<string>>(() => new Set());
  const [window, setWindow] = useState<TimeWindow>({ startNanos: 0, endNanos: traceNanos });
  const [selectedSpanId, setSelectedSpanId] = useState<string | null>(
    selectedFromUrl && tree.nodeBySpanId.has(selectedFromUrl.toLowerCase()) ? selectedFromUrl.toLowerCase() : null,
  );
  const [showCriticalPath, setShowCriticalPath] = useState(true);
  const [query, setQuery] = useState('');
  const [appliedQuery, setAppliedQuery] = useState('');
  const [matchIndex, setMatchIndex] = useState(0);
  const [showRaw, setShowRaw] = useState(false);
  const [scrollRequest, setScrollRequest] = useState<{ spanId: string; serial: number } | null>(
    selectedSpanId ? { spanId: selectedSpanId, serial: 0 } : null,
  );
  const searchInput = useRef<HTMLInputElement>(null);
  /** The diagnosis finding whose spans the waterfall highlights. */
  const [highlight, setHighlight] = useState<{ finding: number; spanIds: ReadonlySet<string> } | null>(null);
  // The trace's log records: the Logs panel lists them, the span detail shows the selected span's.
  const canonicalId = normaliseTraceId(traceId) ?? traceId;
  const logs = useApi<TraceLogsAnswer>((signal) => fetchTraceLogs(canonicalId, signal), [canonicalId]);
  const logsBySpan = useMemo(() => logsBySpanId(logs.data?.logs ?? []), [logs.data]);
  const logCounts = useMemo(() => countBySeverity(logs.data?.logs ?? []), [logs.data]);
  const traceBody = useRef<HTMLDivElement>(null);

  const rows = useMemo(() => visibleRows(tree, collapsed), [tree, collapsed]);
  const rowIndexBySpanId = useMemo(() => new Map(rows.map((node, index) => [node.span.spanId, index])), [rows]);
  // Built on the first search only: it holds a lower-cased copy of every span's text.
  const searchIndex = useRef<TraceSearchIndex<TraceSpan> | null>(null);
  useEffect(() => {
    const timer = setTimeout(() => setAppliedQuery(query), FIND_DEBOUNCE_MILLIS);
    return () => clearTimeout(timer);
  }, [query]);
  const matches = useMemo(() => {
    if (!appliedQuery.trim()) return [];
    searchIndex.current ??= new TraceSearchIndex(tree);
    return searchIndex.current.search(appliedQuery);
  }, [tree, appliedQuery]);
  const matchSpanIds = useMemo(() => new Set(matches.map((node) => node.span.spanId)), [matches]);
  const currentMatch = matches.length > 0 ? matches[Math.min(matchIndex, matches.length - 1)]! : null;

  useEffect(() => {
    const raf = requestAnimationFrame(() => performance.mark('weft:trace-rendered'));
    return () => cancelAnimationFrame(raf);
  }, []);

  const reveal = useCallback(
    (spanId: string) => {
      const node = tree.nodeBySpanId.get(spanId);
      if (!node) return;
      const hidden = collapsedAncestors(node, collapsed);
      if (hidden.length > 0) {
        setCollapsed((previous) => {
          const next = new Set(previous);
          for (const id of hidden) next.delete(id);
          return next;
        });
      }
      setScrollRequest((previous) => ({ spanId, serial: (previous?.serial ?? 0) + 1 }));
    },
    [tree, collapsed],
  );

  const select = useCallback(
    (spanId: string | null) => {
      setSelectedSpanId(spanId);
      if (spanId) reveal(spanId);
    },
    [reveal],
  );
  const hasSpan = useCallback((spanId: string) => tree.nodeBySpanId.has(spanId), [tree]);
  const spanName = useCallback((spanId: string) => tree.nodeBySpanId.get(spanId)?.span.name ?? null, [tree]);
  const spanOrder = useMemo(() => {
    const order = new Map(tree.preorder.map((node, index) => [node.span.spanId, index]));
    return (spanId: string) => order.get(spanId);
  }, [tree]);
  /** A span chosen in the Logs panel (below the waterfall): select it and bring the waterfall into view. */
  const selectFromLogs = useCallback(
    (spanId: string) => {
      select(spanId);
      traceBody.current?.scrollIntoView({ block: 'nearest', behavior: 'smooth' });
    },
    [select],
  );
  const onHighlight = useCallback((finding: number | null, spanIds: ReadonlySet<string>) => {
    setHighlight(finding === null || spanIds.size === 0 ? null : { finding, spanIds });
  }, []);

  useEffect(() => {
    const timer = setTimeout(
      () => navigate(urlWith(`/trace/${traceId}`, { span: selectedSpanId ?? undefined }), { replace: true }),
      URL_UPDATE_DEBOUNCE_MILLIS,
    );
    return () => clearTimeout(timer);
  }, [traceId, selectedSpanId]);

  const jumpToMatch = (index: number) => {
    if (matches.length === 0) return;
    const wrapped = ((index % matches.length) + matches.length) % matches.length;
    setMatchIndex(wrapped);
    select(matches[wrapped]!.span.spanId);
  };
  const jumpToFirstMatchWhenFound = useRef(false);
  useEffect(() => {
    if (!jumpToFirstMatchWhenFound.current) return;
    jumpToFirstMatchWhenFound.current = false;
    if (matches.length > 0) jumpToMatch(0);
    // Runs when a search requested by Enter has produced its matches.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [matches]);
  /** Enter: the shown match if it is not selected yet, else the next one. */
  const nextMatch = (step: 1 | -1) => {
    const shown = Math.min(matchIndex, matches.length - 1);
    if (step === 1 && matches[shown] && matches[shown]!.span.spanId !== selectedSpanId) jumpToMatch(shown);
    else jumpToMatch(shown + step);
  };

  const toggle = useCallback((spanId: string) => {
    setCollapsed((previous) => {
      const next = new Set(previous);
      if (next.has(spanId)) next.delete(spanId);
      else next.add(spanId);
      return next;
    });
  }, []);

  // Keyboard: the tree's keys (lib/tree-navigation.ts) plus j/k for ↓/↑ and Escape to close
  // the span's details.
  const onWaterfallKey = (event: KeyboardEvent) => {
    if (event.key === 'Escape') {
      select(null);
      event.preventDefault();
      return;
    }
    const key = event.key === 'j' ? 'ArrowDown' : event.key === 'k' ? 'ArrowUp' : event.key;
    const index = selectedSpanId ? (rowIndexBySpanId.get(selectedSpanId) ?? -1) : -1;
    const node = index >= 0 ? rows[index]! : null;
    const row = node && { hasChildren: node.children.length > 0, collapsed: collapsed.has(node.span.spanId) };
    const action = treeKeyAction(key, index, rows.length, row, WATERFALL_PAGE_ROWS);
    if (action === null) return;
    if (action.kind === 'move' && rows[action.to]) select(rows[action.to]!.span.spanId);
    else if (action.kind === 'toggle' && node) toggle(node.span.spanId);
    else if (action.kind === 'parent' && node?.parent) select(node.parent.span.spanId);
    event.preventDefault();
  };

  useEffect(() => {
    if (showRaw) return;
    const onKey = (event: KeyboardEvent) => {
      // Ctrl/⌘ + and − are the browser's own zoom; leave them alone.
      if (event.ctrlKey || event.metaKey || event.altKey) return;
      const target = event.target as HTMLElement | null;
      const typing = target && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA' || target.tagName === 'SELECT');
      if (event.key === '/' && !typing) {
        event.preventDefault();
        searchInput.current?.focus();
      } else if (!typing && (event.key === '+' || event.key === '=')) {
        setWindow((current) => zoomWindow(current, 0.5, 0.5, traceNanos));
      } else if (!typing && event.key === '-') {
        setWindow((current) => zoomWindow(current, 2, 0.5, traceNanos));
      } else if (!typing && event.key === '0') {
        setWindow({ startNanos: 0, endNanos: traceNanos });
      }
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, [traceNanos, showRaw]);

  const selectedNode = selectedSpanId ? tree.nodeBySpanId.get(selectedSpanId) ?? null : null;
  const zoomed = window.startNanos > 0 || window.endNanos < traceNanos;
  const rootSpan = root?.span ?? null;
  const orphanCount = tree.roots.filter((node) => node.orphan).length;

  if (trace.spans.length === 0) {
    return (
      <EmptyState title="This trace has no readable spans">
        <p>The server answered for {traceId}, but no span had a readable start time ({trace.droppedSpanCount} dropped).</p>
      </EmptyState>
    );
  }

  return (
    <div class="trace-page" data-testid="trace-page">
      <header class="trace-header">
        <h1>
          {rootSpan && <ServiceBadge name={rootSpan.serviceName} />} <span data-testid="trace-title">{rootSpan?.name ?? traceId}</span>
          {answer.tier === 'cold' && (
            <span
              class="tone-badge tone-muted"
              title="The cold tier (sampled long-term storage) answered this lookup"
              data-testid="trace-tier-badge"
            >
              from cold tier
            </span>
          )}
        </h1>
        <dl class="trace-facts">
          <div>
            <dt>Trace ID</dt>
            <dd class="mono">
              {trace.traceId || traceId} <CopyButton text={trace.traceId || traceId} />
            </dd>
          </div>
          <div>
            <dt>Started</dt>
            <dd>{formatLocalDateTime(Number(trace.traceStartUnixNano / 1_000_000n))}</dd>
          </div>
          <div>
            <dt>Duration</dt>
            <dd data-testid="trace-duration">{formatDuration(trace.durationNanos)}</dd>
          </div>
          <div>
            <dt>Spans</dt>
            <dd data-testid="trace-span-count">{stats.spanCount}</dd>
          </div>
          <div>
            <dt>Depth</dt>
            <dd>{stats.maxDepth}</dd>
          </div>
          <div>
            <dt>Errors</dt>
            <dd data-testid="trace-error-count" class={stats.errorCount > 0 ? 'error-text' : undefined}>
              {stats.errorCount}
            </dd>
          </div>
          <div>
            <dt>Logs</dt>
            <dd data-testid="trace-log-count">
              {logs.status === 'loading' && <span class="muted">…</span>}
              {logs.status === 'failed' && (
                <span class="muted" title={logs.error.message}>
                  {'\u2014'}
                </span>
              )}
              {logs.status === 'ready' && (
                <button
                  type="button"
                  class="link-button"
                  title="Go to the Logs panel"
                  onClick={() => {
                    setShowRaw(false);
                    requestAnimationFrame(revealTraceLogs);
                  }}
                >
                  {logs.data.logs.length.toLocaleString('en-US')}
                  {logCounts.error + logCounts.fatal > 0 && <span class="error-text"> ({logCounts.error + logCounts.fatal} errors)</span>}
                </button>
              )}
            </dd>
          </div>
          <div>
            <dt>Critical path</dt>
            <dd data-testid="critical-path-span-count">{model.criticalSegments.size} spans</dd>
          </div>
        </dl>
        <div class="trace-services">
          {stats.services.map((service) => (
            <ServiceBadge key={service.serviceName} name={service.serviceName} count={service.spanCount} errors={service.errorCount} />
          ))}
        </div>
        <TraceSampling traceId={traceId} hasSpan={hasSpan} onSelectSpan={select} />
        <TraceDiagnosis
          traceId={traceId}
          hasSpan={hasSpan}
          spanName={spanName}
          onSelectSpan={select}
          highlighted={highlight?.finding ?? null}
          onHighlight={onHighlight}
        />
      </header>

      {answer.truncated && (
        <div class="banner banner-error" role="status">
          This trace has more spans than the server returns at once; only the first 500,000 are shown.
        </div>
      )}
      {(orphanCount > 0 || tree.duplicateSpanCount > 0 || tree.brokenCycleCount > 0) && (
        <div class="banner banner-warning" role="status" data-testid="trace-warnings">
          {orphanCount > 0 && <span>{orphanCount} spans have a parent that is not in the trace (shown as extra roots). </span>}
          {tree.duplicateSpanCount > 0 && <span>{tree.duplicateSpanCount} spans repeat an earlier span ID and are hidden. </span>}
          {tree.brokenCycleCount > 0 && <span>{tree.brokenCycleCount} parent loops were cut. </span>}
        </div>
      )}

      <div class="trace-toolbar" role="toolbar" aria-label="Trace view">
        <form
          class="trace-search"
          role="search"
          onSubmit={(event) => {
            event.preventDefault();
            if (query !== appliedQuery) {
              // Enter before the pause that runs the search: run it now, then go to the first match.
              jumpToFirstMatchWhenFound.current = true;
              setAppliedQuery(query);
            } else {
              nextMatch(1);
            }
          }}
        >
          <input
            ref={searchInput}
            type="search"
            placeholder="Find in trace (/)"
            aria-label="Find spans in this trace"
            value={query}
            data-testid="trace-search"
            onInput={(event) => {
              setQuery((event.currentTarget as HTMLInputElement).value);
              setMatchIndex(0);
            }}
            onKeyDown={(event) => {
              if (event.key === 'Enter' && event.shiftKey) {
                event.preventDefault();
                nextMatch(-1);
              } else if (event.key === 'Escape') {
                setQuery('');
              }
            }}
          />
          {appliedQuery && query === appliedQuery && (
            <span class="match-count" data-testid="trace-search-count" aria-live="polite">
              {matches.length === 0 ? 'no match' : `${Math.min(matchIndex, matches.length - 1) + 1} of ${matches.length}`}
            </span>
          )}
          <button type="button" class="button-small" disabled={matches.length === 0} onClick={() => nextMatch(-1)} aria-label="Previous match">
            ▲
          </button>
          <button type="button" class="button-small" disabled={matches.length === 0} onClick={() => nextMatch(1)} aria-label="Next match">
            ▼
          </button>
        </form>
        <label class="checkbox">
          <input type="checkbox" checked={showCriticalPath} onChange={() => setShowCriticalPath(!showCriticalPath)} data-testid="critical-path-toggle" />
          <span class="critical-legend" aria-hidden="true" />
          Critical path
        </label>
        <button type="button" class="secondary" onClick={() => setCollapsed(new Set())}>
          Expand all
        </button>
        <button type="button" class="secondary" onClick={() => setCollapsed(parentSpanIds(tree))}>
          Collapse all
        </button>
        <span class="zoom-buttons">
          <button type="button" class="secondary" aria-label="Zoom in (+)" onClick={() => setWindow(zoomWindow(window, 0.5, 0.5, traceNanos))}>
            +
          </button>
          <button type="button" class="secondary" aria-label="Zoom out (-)" onClick={() => setWindow(zoomWindow(window, 2, 0.5, traceNanos))}>
            −
          </button>
          <button type="button" class="secondary" disabled={!zoomed} onClick={() => setWindow({ startNanos: 0, endNanos: traceNanos })}>
            Reset zoom
          </button>
        </span>
        <span class="toolbar-spacer" />
        <Link class="button-link" href={urlWith('/compare', { a: trace.traceId || traceId })}>
          Compare with…
        </Link>
        <button type="button" class="secondary" aria-pressed={showRaw} onClick={() => setShowRaw(!showRaw)} data-testid="raw-json-toggle">
          {showRaw ? 'Waterfall' : 'Raw JSON'}
        </button>
      </div>

      {showRaw ? (
        <RawJson traceId={traceId} answer={answer} />
      ) : (
        <>
          <TraceMinimap rows={tree.preorder} traceNanos={traceNanos} window={window} onWindowChange={(next) => setWindow(clampWindow(next, traceNanos))} dark={dark} />
          <div ref={traceBody} class={`trace-body${selectedNode ? ' with-detail' : ''}`}>
            <TraceWaterfall
              rows={rows}
              window={window}
              collapsed={collapsed}
              selectedSpanId={selectedSpanId}
              selectedRowIndex={selectedSpanId ? (rowIndexBySpanId.get(selectedSpanId) ?? null) : null}
              criticalSegments={showCriticalPath ? model.criticalSegments : null}
              matchSpanIds={matchSpanIds}
              highlightSpanIds={highlight?.spanIds ?? null}
              currentMatchSpanId={currentMatch?.span.spanId ?? null}
              scrollRequest={scrollRequest}
              onToggle={toggle}
              onSelect={select}
              onKeyDown={onWaterfallKey}
            />
            {selectedNode && (
              <SpanDetail
                span={selectedNode.span}
                traceStartUnixNano={trace.traceStartUnixNano}
                criticalNanos={model.criticalNanos.get(selectedNode.span.spanId) ?? null}
                parentName={selectedNode.parent?.span.name ?? null}
                parentLoopCut={selectedNode.cycleBroken}
                logs={{ status: logs.status, records: logsBySpan.get(selectedNode.span.spanId) ?? [] }}
                onShowLogs={revealTraceLogs}
                onSelectSpan={(spanId) => select(spanId)}
                onClose={() => select(null)}
              />
            )}
          </div>
          <p class="muted keyboard-help">
            Keys: ↑/↓ move · ←/→ fold · Esc close · / find · +/− zoom · 0 reset zoom. Drag on the overview to zoom to a range.
          </p>
          <TraceLogs
            state={logs}
            traceStartUnixNano={trace.traceStartUnixNano}
            hasSpan={hasSpan}
            spanName={spanName}
            spanOrder={spanOrder}
            selectedSpanId={selectedSpanId}
            onSelectSpan={selectFromLogs}
          />
        </>
      )}
    </div>
  );
}

function RawJson({ traceId, answer }: { traceId: string; answer: TraceAnswer }) {
  const text = useMemo(() => JSON.stringify(answer.data, null, 2), [answer]);
  const shown = text.length > RAW_JSON_DISPLAY_LIMIT ? `${text.slice(0, RAW_JSON_DISPLAY_LIMIT)}\n…` : text;
  return (
    <section class="raw-json" data-testid="raw-json">
      <div class="raw-json-actions">
        <span class="muted">OTLP/JSON as the API returns it ({(text.length / 1024).toFixed(0)} KiB).</span>
        <CopyButton text={text} label="Copy JSON" />
        <a href={`/api/v1/traces/${traceId}`} target="_blank" rel="noopener">
          Open the API answer
        </a>
      </div>
      {shown.length < text.length && <p class="muted">Showing the first {RAW_JSON_DISPLAY_LIMIT.toLocaleString()} characters.</p>}
      <pre class="code-block raw-json-text">{shown}</pre>
    </section>
  );
}
