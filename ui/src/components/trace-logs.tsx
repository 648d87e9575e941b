// The trace page's "Logs" panel: the log records of the trace (`GET /api/v1/traces/{id}/logs`,
// asked once by the trace page, which also gives each span's records to the span detail), by
// time or grouped by span. Each row has its offset from the trace start, severity, service, the
// span that logged it (a click selects that span in the waterfall) and body; a row opens to its
// attributes. The selected span's rows are marked. A failure stays inside the panel.
import { Fragment } from 'preact';
import { useMemo, useState } from 'preact/hooks';
import type { LogRecord, TraceLogsAnswer } from '../api';
import type { AsyncState } from '../hooks';
import {
  type SpanLogGroup,
  groupLogsBySpan,
  logOffsetNanos,
  formatOffset,
  formatUnixNanoPrecise,
  logTimeUnixNano,
  normaliseSpanId,
  severityClass,
  severityLevel,
  severityRank,
  severitySummary,
  sortLogs,
} from '../lib/logs';
import { ErrorBanner, ServiceBadge } from './common';
import { ExpandButton, LogBody, LogRecordDetails, SeverityBadge } from './log-common';

/** Rows rendered before "show all": a trace may carry many thousands of records. */
const ROWS_SHOWN = 300;
/** The panel's element ID, for the header's log count and the span detail to scroll to. */
export const TRACE_LOGS_ELEMENT_ID = 'trace-logs';

/** Opens the panel (if the user closed it) and scrolls it into view. */
export function revealTraceLogs(): void {
  const panel = document.getElementById(TRACE_LOGS_ELEMENT_ID) as HTMLDetailsElement | null;
  if (!panel) return;
  panel.open = true;
  panel.scrollIntoView({ block: 'start', behavior: 'smooth' });
}

interface TraceLogsProps {
  state: AsyncState<TraceLogsAnswer>;
  traceStartUnixNano: bigint;
  /** Whether the waterfall has this (lower-case) span ID. */
  hasSpan: (spanId: string) => boolean;
  /** The span's name; null when the trace does not have it. */
  spanName: (spanId: string) => string | null;
  /** The span's position in the waterfall (tree order), for grouping by span. */
  spanOrder: (spanId: string) => number | undefined;
  selectedSpanId: string | null;
  /** Selects a span in the waterfall and brings the waterfall into view. */
  onSelectSpan: (spanId: string) => void;
}

type Order = 'time' | 'span';

export function TraceLogs(props: TraceLogsProps) {
  const { state } = props;
  const logs = state.data?.logs ?? [];
  const notFound = state.status === 'failed' && state.error.status === 404;
  const summary = useMemo(() => severitySummary(logs), [logs]);
  return (
    <details
      open
      id={TRACE_LOGS_ELEMENT_ID}
      class="trace-logs"
      data-testid="trace-logs"
      data-status={state.status}
      data-count={state.status === 'ready' ? logs.length : undefined}
    >
      <summary>
        <span class="trace-logs-title">Logs</span>
        {state.status === 'loading' && <span class="muted">loading…</span>}
        {state.status === 'ready' && (
          <span class="muted" data-testid="trace-logs-count">
            {logs.length === 0 ? 'none' : `${logs.length.toLocaleString('en-US')} ${logs.length === 1 ? 'record' : 'records'}`}
          </span>
        )}
        {summary.length > 0 && (
          <span class="trace-logs-chips" aria-label="Records per severity">
            {summary.map(({ level, count }) => (
              <span key={level} class={`log-severity ${severityClass(level)}`} title={`${count} ${level} records`} data-testid="trace-logs-severity-count" data-level={level}>
                {count} {level === 'unspecified' ? 'unset' : level}
              </span>
            ))}
          </span>
        )}
        {state.data?.tier === 'cold' && (
          <span class="tone-badge tone-muted" title="The cold tier (sampled long-term storage) answered">
            from cold tier
          </span>
        )}
        {state.status === 'failed' && !notFound && (
          <span class="error-text" data-testid="trace-logs-error">
            Cannot load the logs
          </span>
        )}
      </summary>
      <div class="trace-logs-body">
        {state.status === 'loading' && <p class="muted">Loading the trace’s log records…</p>}
        {state.status === 'failed' && !notFound && <ErrorBanner error={state.error} title="The logs could not be loaded" />}
        {(notFound || (state.status === 'ready' && logs.length === 0)) && (
          <p class="muted" data-testid="trace-logs-empty">
            No logs for this trace. Records show here when the services send OpenTelemetry logs with this trace’s ID.
          </p>
        )}
        {state.status === 'ready' && logs.length > 0 && <LogsTable {...props} logs={logs} />}
      </div>
    </details>
  );
}

function LogsTable({ logs, traceStartUnixNano, hasSpan, spanName, spanOrder, selectedSpanId, onSelectSpan }: TraceLogsProps & { logs: LogRecord[] }) {
  const [order, setOrder] = useState<Order>('time');
  const [expanded, setExpanded] = useState<ReadonlySet<LogRecord>>(() => new Set());
  const [showAll, setShowAll] = useState(false);
  const byTime = useMemo(() => sortLogs(logs), [logs]);
  // A row's key is its record's place in the answer, so its state follows it when the order changes.
  const keyOf = useMemo(() => new Map(logs.map((record, index) => [record, index])), [logs]);
  const groups = useMemo(() => (order === 'span' ? groupLogsBySpan(logs, spanOrder) : null), [logs, order, spanOrder]);
  const selectedCount = useMemo(
    () => (selectedSpanId ? logs.filter((record) => normaliseSpanId(record.spanId) === selectedSpanId).length : 0),
    [logs, selectedSpanId],
  );
  const toggle = (record: LogRecord) =>
    setExpanded((previous) => {
      const next = new Set(previous);
      if (next.has(record)) next.delete(record);
      else next.add(record);
      return next;
    });

  // The rows in display order, cut at ROWS_SHOWN unless asked for all.
  const sections: SpanLogGroup<LogRecord>[] = groups ?? [{ spanId: null, logs: byTime }];
  let budget = showAll ? Number.POSITIVE_INFINITY : ROWS_SHOWN;
  const shownSections = sections
    .map((section) => {
      const rows = section.logs.slice(0, Math.max(0, budget));
      budget -= rows.length;
      return { ...section, rows };
    })
    .filter((section) => section.rows.length > 0);

  const rowProps = { traceStartUnixNano, hasSpan, spanName, selectedSpanId, onSelectSpan };
  return (
    <>
      <div class="trace-logs-toolbar">
        <span class="segmented" role="group" aria-label="Order the logs">
          <button type="button" class="button-small" aria-pressed={order === 'time'} onClick={() => setOrder('time')} data-testid="trace-logs-by-time">
            By time
          </button>
          <button type="button" class="button-small" aria-pressed={order === 'span'} onClick={() => setOrder('span')} data-testid="trace-logs-by-span">
            By span
          </button>
        </span>
        {selectedSpanId ? (
          <span data-testid="trace-logs-selection">
            {selectedCount === 0
              ? `The selected span “${spanName(selectedSpanId) ?? selectedSpanId}” has no logs.`
              : `The ${selectedCount === 1 ? 'record' : `${selectedCount} records`} of the selected span “${spanName(selectedSpanId) ?? selectedSpanId}” ${selectedCount === 1 ? 'is' : 'are'} marked here and listed in its details.`}
          </span>
        ) : (
          <span class="muted">Select a span (or click a span name here) to see its logs in the span details.</span>
        )}
      </div>
      <div class="trace-logs-scroll">
        <table class="data-table trace-logs-table" data-testid="trace-logs-table">
          <caption class="visually-hidden">Log records of this trace{order === 'time' ? ', oldest first' : ', by span'}</caption>
          <thead>
            <tr>
              <th scope="col">
                <span class="visually-hidden">Details</span>
              </th>
              <th scope="col" title="Time from the start of the trace">
                Offset
              </th>
              <th scope="col">Severity</th>
              <th scope="col">Service</th>
              <th scope="col">Span</th>
              <th scope="col">Body</th>
            </tr>
          </thead>
          <tbody>
            {shownSections.map((section) => (
              <Fragment key={section.spanId ?? '-'}>
                {groups && (
                  <tr class="log-group-row" data-testid="trace-log-group" data-span-id={section.spanId ?? ''}>
                    <th colSpan={6} scope="colgroup">
                      {section.spanId === null ? (
                        <span>Records without a span</span>
                      ) : (
                        <SpanCell spanId={section.spanId} hasSpan={hasSpan} spanName={spanName} onSelectSpan={onSelectSpan} />
                      )}{' '}
                      <span class="muted">
                        · {section.logs.length} {section.logs.length === 1 ? 'record' : 'records'}
                      </span>
                    </th>
                  </tr>
                )}
                {section.rows.map((record) => (
                  <LogRow key={keyOf.get(record)} record={record} expanded={expanded.has(record)} onToggle={() => toggle(record)} {...rowProps} />
                ))}
              </Fragment>
            ))}
          </tbody>
        </table>
      </div>
      {logs.length > ROWS_SHOWN && (
        <p class="muted">
          {showAll ? `Showing all ${logs.length.toLocaleString('en-US')} records.` : `Showing the first ${ROWS_SHOWN} of ${logs.length.toLocaleString('en-US')} records.`}{' '}
          <button type="button" class="button-small secondary" onClick={() => setShowAll(!showAll)} data-testid="trace-logs-show-all">
            {showAll ? `Show the first ${ROWS_SHOWN}` : 'Show all'}
          </button>
        </p>
      )}
    </>
  );
}

function SpanCell({
  spanId,
  hasSpan,
  spanName,
  onSelectSpan,
}: {
  spanId: string | null;
  hasSpan: (spanId: string) => boolean;
  spanName: (spanId: string) => string | null;
  onSelectSpan: (spanId: string) => void;
}) {
  if (spanId === null) return <span class="muted" title="The record names no span">{'\u2014'}</span>;
  if (!hasSpan(spanId)) {
    return (
      <span class="mono muted" title="This span is not in the trace as loaded">
        {spanId}
      </span>
    );
  }
  const name = spanName(spanId) ?? spanId;
  return (
    <button
      type="button"
      class="link-button"
      title={`Select “${name}” (${spanId}) in the waterfall`}
      data-testid="trace-log-span"
      data-span-id={spanId}
      onClick={() => onSelectSpan(spanId)}
    >
      {name}
    </button>
  );
}

function LogRow({
  record,
  expanded,
  onToggle,
  traceStartUnixNano,
  hasSpan,
  spanName,
  selectedSpanId,
  onSelectSpan,
}: {
  record: LogRecord;
  expanded: boolean;
  onToggle: () => void;
  traceStartUnixNano: bigint;
  hasSpan: (spanId: string) => boolean;
  spanName: (spanId: string) => string | null;
  selectedSpanId: string | null;
  onSelectSpan: (spanId: string) => void;
}) {
  const level = severityLevel(record);
  const spanId = normaliseSpanId(record.spanId);
  const selected = spanId !== null && spanId === selectedSpanId;
  const rank = severityRank(level);
  const classes = [rank >= severityRank('error') ? 'log-row-error' : rank === severityRank('warn') ? 'log-row-warn' : '', selected ? 'log-row-selected' : '']
    .filter(Boolean)
    .join(' ');
  return (
    <>
      <tr
        class={classes || undefined}
        data-testid="trace-log-row"
        data-span-id={spanId ?? ''}
        data-severity={level}
        data-selected={selected ? 'true' : undefined}
      >
        <td class="log-expand-cell">
          <ExpandButton expanded={expanded} onToggle={onToggle} label={`the ${level} record`} />
        </td>
        <td class="log-offset mono" title={formatUnixNanoPrecise(logTimeUnixNano(record))}>
          {formatOffset(logOffsetNanos(record, traceStartUnixNano))}
        </td>
        <td>
          <SeverityBadge record={record} />
        </td>
        <td>{record.serviceName ? <ServiceBadge name={record.serviceName} /> : <span class="muted">{'\u2014'}</span>}</td>
        <td class="log-span-cell">
          <SpanCell spanId={spanId} hasSpan={hasSpan} spanName={spanName} onSelectSpan={onSelectSpan} />
        </td>
        <td>
          <LogBody body={record.body} testId="trace-log-body" />
        </td>
      </tr>
      {expanded && (
        <tr class="log-details-row" data-testid="trace-log-details">
          <td colSpan={6}>
            <LogRecordDetails record={record} />
          </td>
        </tr>
      )}
    </>
  );
}
