// Everything about one span: status, timing, IDs, the span's log records, attributes, events on
// a time line, links, resource and scope, with copy buttons for what people paste into tickets
// and queries.
import type { LogRecord } from '../api';
import { Link } from '../router';
import { CopyButton, ServiceBadge } from './common';
import { LogBody, LogRecordDetails, SeverityBadge } from './log-common';
import { formatDuration, formatLocalDateTime } from '../lib/format';
import { formatOffset, logOffsetNanos, severityLevel } from '../lib/logs';
import type { OtlpKeyValue, TraceSpan } from '../lib/trace-model';
import { anyValueToText } from '../lib/trace-view';

interface Props {
  span: TraceSpan;
  traceStartUnixNano: bigint;
  criticalNanos: number | null;
  parentName: string | null;
  /** The span's parent is in the trace, but a parent loop was cut at this span. */
  parentLoopCut: boolean;
  onSelectSpan: (spanId: string) => void;
  onClose: () => void;
  /** The span's log records, oldest first, once the trace's logs have loaded. */
  logs?: { status: 'loading' | 'ready' | 'failed'; records: readonly LogRecord[] };
  /** Brings the trace page's Logs panel into view. */
  onShowLogs?: () => void;
}

/** Local time to the microsecond, like the trace header's start time (which is to the second). */
function absoluteTime(traceStartUnixNano: bigint, offsetNanos: number): string {
  const unixNanos = traceStartUnixNano + BigInt(Math.round(offsetNanos));
  const subSecondMicros = Number((unixNanos / 1_000n) % 1_000_000n);
  return `${formatLocalDateTime(Number(unixNanos / 1_000_000n))}.${String(subSecondMicros).padStart(6, '0')}`;
}

export function SpanDetail({ span, traceStartUnixNano, criticalNanos, parentName, parentLoopCut, onSelectSpan, onClose, logs, onShowLogs }: Props) {
  const isError = span.statusCode === 'error';
  return (
    <aside class="span-detail" aria-label={`Span ${span.name}`} data-testid="span-detail">
      <div class="span-detail-header">
        <div>
          <h2 class="span-detail-title">{span.name}</h2>
          <ServiceBadge name={span.serviceName} /> <span class="muted">{span.kind}</span>
        </div>
        <button type="button" class="button-small" onClick={onClose} aria-label="Close span details (Escape)">
          ✕
        </button>
      </div>
      <div class={`span-status status-${span.statusCode}`} data-testid="span-status">
        Status: <strong>{span.statusCode.toUpperCase()}</strong>
        {span.statusMessage && <span> — {span.statusMessage}</span>}
      </div>
      <table class="kv-table">
        <tbody>
          <tr>
            <th>Duration</th>
            <td>{formatDuration(span.durationNanos)}</td>
          </tr>
          <tr>
            <th>Start</th>
            <td>
              +{formatDuration(span.startOffsetNanos)} <span class="muted">({absoluteTime(traceStartUnixNano, span.startOffsetNanos)})</span>
            </td>
          </tr>
          {criticalNanos !== null && (
            <tr>
              <th>Critical path</th>
              <td data-testid="span-critical-nanos">
                {formatDuration(criticalNanos)}
                {span.durationNanos > 0 && <span class="muted"> ({Math.round((criticalNanos / span.durationNanos) * 100)} % of the span)</span>}
              </td>
            </tr>
          )}
          <tr>
            <th>Span ID</th>
            <td class="mono">
              {span.spanId} <CopyButton text={span.spanId} />
            </td>
          </tr>
          <tr>
            <th>Parent</th>
            <td class="mono">
              {span.parentSpanId ? (
                <>
                  {parentLoopCut ? (
                    <span title="the parent chain loops back to this span; the view cut the loop here">
                      {span.parentSpanId} (parent loop cut here)
                    </span>
                  ) : parentName !== null ? (
                    <button type="button" class="link-button" onClick={() => onSelectSpan(span.parentSpanId!)}>
                      {span.parentSpanId}
                    </button>
                  ) : (
                    <span title="not in this trace">{span.parentSpanId} (missing)</span>
                  )}{' '}
                  <CopyButton text={span.parentSpanId} />
                </>
              ) : (
                <span class="muted">none (root)</span>
              )}
            </td>
          </tr>
          <tr>
            <th>Trace ID</th>
            <td class="mono">
              {span.traceId} <CopyButton text={span.traceId} />
            </td>
          </tr>
          <tr>
            <th>Scope</th>
            <td class="mono">{span.scopeName || <span class="muted">(none)</span>}</td>
          </tr>
        </tbody>
      </table>

      {logs && <SpanLogs logs={logs} spanStartUnixNano={traceStartUnixNano + BigInt(Math.round(span.startOffsetNanos))} onShowLogs={onShowLogs} />}

      <AttributeSection title="Attributes" attributes={span.attributes} testId="span-attributes" />

      {span.events.length > 0 && (
        <section class="detail-section" data-testid="span-events">
          <h3>Events ({span.events.length})</h3>
          <div class="event-timeline" aria-hidden="true">
            {span.events.map((event, index) => (
              <span
                key={index}
                class={`event-marker${/exception|error/i.test(event.name) || isError ? ' event-error' : ''}`}
                title={`${event.name} at +${formatDuration(event.timeOffsetNanos - span.startOffsetNanos)}`}
                style={{
                  left: `${span.durationNanos > 0 ? Math.min(Math.max((event.timeOffsetNanos - span.startOffsetNanos) / span.durationNanos, 0), 1) * 100 : 0}%`,
                }}
              />
            ))}
          </div>
          {span.events.map((event, index) => (
            <details key={index} class="event-entry" open={span.events.length <= 3}>
              <summary>
                <span class="muted">+{formatDuration(event.timeOffsetNanos - span.startOffsetNanos)}</span> {event.name}
              </summary>
              <KeyValueTable attributes={event.attributes} />
            </details>
          ))}
        </section>
      )}

      {span.links.length > 0 && (
        <section class="detail-section" data-testid="span-links">
          <h3>Links ({span.links.length})</h3>
          <ul class="link-list">
            {span.links.map((link, index) => {
              const traceId = (link.traceId ?? '').toLowerCase();
              const spanId = (link.spanId ?? '').toLowerCase();
              return (
                <li key={index}>
                  {traceId === span.traceId ? (
                    <button type="button" class="link-button mono" onClick={() => onSelectSpan(spanId)}>
                      span {spanId} (this trace)
                    </button>
                  ) : (
                    <Link class="mono" href={`/trace/${traceId}?span=${spanId}`}>
                      {traceId} / {spanId}
                    </Link>
                  )}
                  <KeyValueTable attributes={link.attributes ?? []} />
                </li>
              );
            })}
          </ul>
        </section>
      )}

      <AttributeSection title="Resource" attributes={span.resourceAttributes} testId="span-resource" collapsedByDefault />
    </aside>
  );
}

function AttributeSection({
  title,
  attributes,
  testId,
  collapsedByDefault = false,
}: {
  title: string;
  attributes: readonly OtlpKeyValue[];
  testId: string;
  collapsedByDefault?: boolean;
}) {
  const asJson = JSON.stringify(Object.fromEntries(attributes.map((attribute) => [attribute.key, anyValueToText(attribute.value)])), null, 2);
  return (
    <details class="detail-section" open={!collapsedByDefault} data-testid={testId}>
      <summary>
        <h3>
          {title} ({attributes.length})
        </h3>
        {attributes.length > 0 && <CopyButton text={asJson} label="Copy as JSON" />}
      </summary>
      <KeyValueTable attributes={attributes} />
    </details>
  );
}

function KeyValueTable({ attributes }: { attributes: readonly OtlpKeyValue[] }) {
  if (attributes.length === 0) return <p class="muted">none</p>;
  const sorted = [...attributes].sort((left, right) => left.key.localeCompare(right.key));
  return (
    <table class="kv-table">
      <tbody>
        {sorted.map((attribute, index) => {
          const text = anyValueToText(attribute.value);
          const long = text.length > 120 || text.includes('\n');
          return (
            <tr key={`${attribute.key}-${index}`}>
              <th class="mono">{attribute.key}</th>
              <td class="mono">
                {long ? <pre class="attribute-long">{text}</pre> : text} <CopyButton text={text} />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}

function SpanLogs({
  logs,
  spanStartUnixNano,
  onShowLogs,
}: {
  logs: NonNullable<Props['logs']>;
  spanStartUnixNano: bigint;
  onShowLogs: (() => void) | undefined;
}) {
  const count = logs.records.length;
  return (
    <section class="detail-section span-logs" data-testid="span-logs" data-status={logs.status} data-count={logs.status === 'ready' ? count : undefined}>
      <h3>Logs{logs.status === 'ready' ? ` (${count})` : ''}</h3>{' '}
      {onShowLogs && (
        <button type="button" class="link-button" onClick={onShowLogs}>
          all of the trace’s logs ↓
        </button>
      )}
      {logs.status === 'loading' && <p class="muted span-logs-empty">Loading…</p>}
      {logs.status === 'failed' && <p class="muted span-logs-empty">The trace’s logs could not be loaded (see the Logs panel).</p>}
      {logs.status === 'ready' && count === 0 && (
        <p class="muted span-logs-empty" data-testid="span-logs-empty">
          No logs for this span.
        </p>
      )}
      {logs.status === 'ready' && count > 0 && (
        <ul class="span-logs-list">
          {logs.records.map((record, index) => (
            <li key={index}>
              <details class="span-log-entry" data-testid="span-log-row" data-severity={severityLevel(record)}>
                <summary>
                  <span class="muted mono" title="Time from the start of the span">
                    {formatOffset(logOffsetNanos(record, spanStartUnixNano))}
                  </span>
                  <SeverityBadge record={record} />
                  <LogBody body={record.body} testId="span-log-body" />
                </summary>
                <LogRecordDetails record={record} />
              </details>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
