// Pieces every log view shares (the trace page's Logs panel, the span detail's logs, the Logs
// page): the severity badge, a record's body and everything else about a record when expanded.
import { useState } from 'preact/hooks';
import type { LogRecord } from '../api';
import { attributeEntries, logTimeUnixNano, severityClass, severityLabel, severityLevel, truncateText, formatUnixNanoPrecise } from '../lib/logs';
import { CopyButton } from './common';
import './logs.css';

/** Characters of a body shown in a row before "more". */
const BODY_PREVIEW_CHARS = 400;

/** A record's severity as a badge in its level's colour; `data-level` is the level. */
export function SeverityBadge({ record }: { record: LogRecord }) {
  const level = severityLevel(record);
  const label = severityLabel(record);
  return (
    <span
      class={`log-severity ${severityClass(level)}`}
      title={`severity ${label}${record.severityNumber ? ` (number ${record.severityNumber})` : ''}, level ${level}`}
      data-testid="log-severity"
      data-level={level}
    >
      {label}
    </span>
  );
}

/** A body as a row shows it: the first few hundred characters, then "more" for the rest. */
export function LogBody({ body, testId }: { body: string; testId: string }) {
  const [all, setAll] = useState(false);
  const text = typeof body === 'string' ? body : String(body ?? '');
  const preview = truncateText(text, BODY_PREVIEW_CHARS);
  return (
    <span class="log-body" data-testid={testId}>
      {all ? text : preview.text}
      {preview.truncated && (
        <>
          {' '}
          <button
            type="button"
            class="link-button log-body-more"
            aria-expanded={all}
            onClick={(event) => {
              // Inside a <summary> the click would also open or close the details.
              event.preventDefault();
              setAll(!all);
            }}
          >
            {all ? 'less' : `more (${text.length.toLocaleString('en-US')} characters)`}
          </button>
        </>
      )}
    </span>
  );
}

function EntriesTable({ entries, testId }: { entries: ReturnType<typeof attributeEntries>; testId: string }) {
  if (entries.length === 0) return <p class="muted log-none">none</p>;
  return (
    <table class="kv-table log-kv" data-testid={testId}>
      <tbody>
        {entries.map((entry) => (
          <tr key={entry.key} data-key={entry.key}>
            <th class="mono">{entry.key}</th>
            <td class="mono">
              {entry.long ? <pre class="attribute-long">{entry.text}</pre> : entry.text} <CopyButton text={entry.text} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/**
 * Everything about a record beyond its row: attributes, then the body in full when it is long,
 * the IDs, times, scope and event name, and the resource.
 */
export function LogRecordDetails({ record }: { record: LogRecord }) {
  const attributes = attributeEntries(record.attributes);
  const resource = attributeEntries(record.resource);
  const time = logTimeUnixNano(record);
  const observed = logTimeUnixNano({ timeUnixNano: record.observedTimeUnixNano, observedTimeUnixNano: '0' });
  const body = typeof record.body === 'string' ? record.body : '';
  return (
    <div class="log-details" data-testid="log-record-details">
      <div class="log-details-section">
        <h4>Attributes ({attributes.length})</h4>
        <EntriesTable entries={attributes} testId="log-attributes" />
      </div>
      {(body.length > 120 || body.includes('\n')) && (
        <div class="log-details-section">
          <h4>
            Body <CopyButton text={body} />
          </h4>
          <pre class="attribute-long log-body-full">{body}</pre>
        </div>
      )}
      <div class="log-details-section">
        <h4>Record</h4>
        <table class="kv-table log-kv">
          <tbody>
            <tr>
              <th>Time</th>
              <td class="mono">
                {formatUnixNanoPrecise(time)}
                {record.timeUnixNano === '0' && <span class="muted"> (observed; the record has no time)</span>}
              </td>
            </tr>
            {observed !== null && observed !== time && (
              <tr>
                <th>Observed</th>
                <td class="mono">{formatUnixNanoPrecise(observed)}</td>
              </tr>
            )}
            <tr>
              <th>Severity</th>
              <td class="mono">
                {record.severityText || <span class="muted">(no text)</span>} · number {record.severityNumber ?? 0}
              </td>
            </tr>
            {record.traceId && (
              <tr>
                <th>Trace ID</th>
                <td class="mono">
                  {record.traceId} <CopyButton text={record.traceId} />
                </td>
              </tr>
            )}
            {record.spanId && (
              <tr>
                <th>Span ID</th>
                <td class="mono">
                  {record.spanId} <CopyButton text={record.spanId} />
                </td>
              </tr>
            )}
            {record.scope && (record.scope.name || record.scope.version) && (
              <tr>
                <th>Scope</th>
                <td class="mono">
                  {record.scope.name || <span class="muted">(no name)</span>}
                  {record.scope.version && <span class="muted"> {record.scope.version}</span>}
                </td>
              </tr>
            )}
            {record.eventName && (
              <tr>
                <th>Event</th>
                <td class="mono">{record.eventName}</td>
              </tr>
            )}
          </tbody>
        </table>
      </div>
      <details class="log-details-section">
        <summary>
          <h4>Resource ({resource.length})</h4>
        </summary>
        <EntriesTable entries={resource} testId="log-resource" />
      </details>
    </div>
  );
}

/** The button that opens a row's details. */
export function ExpandButton({ expanded, onToggle, label }: { expanded: boolean; onToggle: () => void; label: string }) {
  return (
    <button
      type="button"
      class="log-expand"
      aria-expanded={expanded}
      aria-label={expanded ? `Hide details of ${label}` : `Show details of ${label}`}
      title={expanded ? 'Hide attributes' : 'Show attributes'}
      data-testid="log-expand"
      onClick={onToggle}
    >
      {expanded ? '\u25BE' : '\u25B8'}
    </button>
  );
}
