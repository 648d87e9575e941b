// Pieces every page uses: errors and empty states that say what to do, loading, service
// badges in the service's colour, copy buttons and the time range picker.
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import type { ApiError } from '../api';
import { serviceColour } from '../lib/format';
import {
  QUICK_RANGES,
  type TimeRange,
  describeTimeRange,
  resolveTimeRange,
  toDateTimeLocalValue,
} from '../lib/time-range';

/** An API failure with the server's own message and, where there is one, what to do about it. */
export function ErrorBanner({ error, title = 'The request failed' }: { error: ApiError; title?: string }) {
  let hint: string | null = null;
  if (error.status === 0) hint = 'Check that weft serve is running and reachable from this browser, then reload.';
  else if (error.status === 501) hint = 'This view needs the stream metrics; restart weft serve without --no-stream-metrics.';
  else if (error.status === 429 || error.status === 503) hint = 'The server is busy; try again in a moment.';
  else if (error.status === 400) hint = 'Change the filters named in the message and search again.';
  return (
    <div class="banner banner-error" role="alert" data-testid="error-banner">
      <strong>{title}</strong>
      <span class="banner-message">{error.message}</span>
      {error.status > 0 && <span class="muted"> (HTTP {error.status}, {error.code})</span>}
      {hint && <div class="banner-hint">{hint}</div>}
    </div>
  );
}

/** What to show when there is nothing to show, and how to change that. */
export function EmptyState({ title, children, testId = 'empty-state' }: { title: string; children?: ComponentChildren; testId?: string }) {
  return (
    <div class="empty-state" data-testid={testId}>
      <h2>{title}</h2>
      {children}
    </div>
  );
}

/** The first-run empty state: no spans have arrived yet. */
export function NoDataYet() {
  const host = window.location.hostname || 'localhost';
  return (
    <EmptyState title="No spans yet" testId="no-data">
      <p>Weft has not received any spans in this time range. Point an OpenTelemetry SDK or Collector at it:</p>
      <pre class="code-block">{`OTEL_EXPORTER_OTLP_ENDPOINT=http://${host}:4317   # OTLP/gRPC
OTEL_EXPORTER_OTLP_ENDPOINT=http://${host}:4318   # OTLP/HTTP`}</pre>
      <p>
        Or watch it work with demo traffic: restart with <code>weft serve --demo</code>, or run <code>weft gen</code> next
        to it. Then widen the time range if your spans are older.
      </p>
    </EmptyState>
  );
}

export function Loading({ what = 'Loading' }: { what?: string }) {
  return (
    <div class="loading" role="status" aria-live="polite" data-testid="loading">
      <span class="spinner" aria-hidden="true" /> {what}…
    </div>
  );
}

/** A service name in its palette colour, as on the waterfall and the map. */
export function ServiceBadge({ name, count, errors }: { name: string; count?: number; errors?: number }) {
  return (
    <span class="service-badge" style={{ '--service-colour': serviceColour(name) }} title={name} data-testid="service-badge">
      <span class="service-swatch" aria-hidden="true" />
      {name}
      {count !== undefined && <span class="badge-count">{count}</span>}
      {errors !== undefined && errors > 0 && <span class="badge-errors" title={`${errors} failing spans`}>{errors}!</span>}
    </span>
  );
}

/** Copies `text` to the clipboard and says so for a moment. */
export function CopyButton({ text, label = 'Copy' }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      class="button-small"
      aria-label={`${label}: ${text.length > 40 ? `${text.slice(0, 40)}…` : text}`}
      onClick={() => {
        void navigator.clipboard?.writeText(text).then(
          () => {
            setCopied(true);
            setTimeout(() => setCopied(false), 1200);
          },
          () => setCopied(false),
        );
      }}
    >
      {copied ? 'Copied' : label}
    </button>
  );
}

/**
 * Quick ranges and absolute bounds. Absolute bounds are entered in local time and kept in the
 * URL as RFC 3339 so a shared link means the same instant everywhere.
 */
export function TimeRangePicker({ value, onChange }: { value: TimeRange; onChange: (range: TimeRange) => void }) {
  const [editingAbsolute, setEditingAbsolute] = useState(false);
  const resolved = resolveTimeRange(value, Date.now());
  const [startText, setStartText] = useState(toDateTimeLocalValue(resolved.startMillis));
  const [endText, setEndText] = useState(toDateTimeLocalValue(resolved.endMillis));
  const invalid = Number.isNaN(Date.parse(startText)) || Number.isNaN(Date.parse(endText)) || Date.parse(startText) >= Date.parse(endText);
  return (
    <div class="time-range" data-testid="time-range">
      <label>
        <span class="field-label">Time range</span>
        <select
          aria-label="Time range"
          value={value.kind === 'lookback' ? value.lookback : 'absolute'}
          onChange={(event) => {
            const selected = (event.currentTarget as HTMLSelectElement).value;
            if (selected === 'absolute') {
              setEditingAbsolute(true);
            } else {
              setEditingAbsolute(false);
              onChange({ kind: 'lookback', lookback: selected });
            }
          }}
        >
          {QUICK_RANGES.map((quick) => (
            <option key={quick.lookback} value={quick.lookback}>
              {quick.label}
            </option>
          ))}
          {value.kind === 'lookback' && !QUICK_RANGES.some((quick) => quick.lookback === value.lookback) && (
            <option value={value.lookback}>{describeTimeRange(value)}</option>
          )}
          <option value="absolute">{value.kind === 'absolute' ? describeTimeRange(value) : 'Absolute range…'}</option>
        </select>
      </label>
      {(editingAbsolute || value.kind === 'absolute') && (
        <form
          class="absolute-range"
          onSubmit={(event) => {
            event.preventDefault();
            if (invalid) return;
            onChange({ kind: 'absolute', start: new Date(startText).toISOString(), end: new Date(endText).toISOString() });
            setEditingAbsolute(false);
          }}
        >
          <label>
            <span class="field-label">From</span>
            <input type="datetime-local" step="1" value={startText} onInput={(event) => setStartText((event.currentTarget as HTMLInputElement).value)} />
          </label>
          <label>
            <span class="field-label">To</span>
            <input type="datetime-local" step="1" value={endText} onInput={(event) => setEndText((event.currentTarget as HTMLInputElement).value)} />
          </label>
          <button type="submit" disabled={invalid} title={invalid ? 'the start must be before the end' : undefined}>
            Apply
          </button>
        </form>
      )}
    </div>
  );
}
