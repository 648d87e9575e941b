// The Logs page: search log records by service, text in the body, minimum severity, trace ID,
// time range and limit (`GET /api/v1/logs`), newest first. A record with trace context links to
// its trace at its span. The URL holds the query in the API's own parameter names, so a reload,
// the back button or a shared link runs the same search.
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { type LogRecord, type LogSearchAnswer, fetchServices, searchLogs } from '../api';
import { EmptyState, ErrorBanner, Loading, ServiceBadge } from '../components/common';
import { TraceLink } from '../components/diagnostics-common';
import { ExpandButton, LogBody, LogRecordDetails, SeverityBadge } from '../components/log-common';
import { useApi } from '../hooks';
import {
  type LogSearchForm,
  type LogSearchFormErrors,
  MAX_LOG_LIMIT,
  SEVERITY_LEVELS,
  describeLogRange,
  describeLogSearch,
  describeMinimumSeverity,
  formatLogTimestamp,
  formatUnixNanoPrecise,
  hasLogErrors,
  isSeverityName,
  linkableTraceId,
  logFormFromQuery,
  logFormToApiParams,
  logFormToQuery,
  logTimeUnixNano,
  normaliseSpanId,
  severityLevel,
  severityRank,
  validateLogSearchForm,
} from '../lib/logs';
import { QUICK_RANGES } from '../lib/time-range';
import { Link, navigate, urlWith } from '../router';
import './logs.css';

/** The range select's value for absolute bounds from the URL. */
const ABSOLUTE = 'absolute';

export function LogsPage({ search }: { search: URLSearchParams }) {
  const queryKey = search.toString();
  // The search the URL asks for; the form edits a draft of it until submitted.
  const applied = useMemo(() => logFormFromQuery(search), [queryKey]);
  const [refresh, setRefresh] = useState(0);
  const services = useApi((signal) => fetchServices(signal), []);
  const result = useApi<LogSearchAnswer>((signal) => searchLogs(logFormToApiParams(applied), signal), [queryKey, refresh]);

  const submit = (form: LogSearchForm) => {
    const url = urlWith('/logs', logFormToQuery(form));
    const current = queryKey ? `/logs?${queryKey}` : '/logs';
    // The same URL again still searches again: a lookback moves with the clock.
    if (url === current) setRefresh((count) => count + 1);
    else navigate(url);
  };

  return (
    <div class="logs-page" data-testid="logs-page">
      <div class="page-heading">
        <h1>Logs</h1>
        <span class="muted" data-testid="logs-description">
          {describeLogSearch(applied)}
        </span>
      </div>
      <LogSearchFormView applied={applied} services={services.data?.services ?? null} onSubmit={submit} />
      {services.status === 'failed' && <ErrorBanner error={services.error} title="The services could not be loaded" />}
      <section class="logs-results" aria-label="Log records" aria-busy={result.status === 'loading'} data-state={result.status}>
        {result.status === 'loading' && <Loading what="Searching the logs" />}
        {result.status === 'failed' && <ErrorBanner error={result.error} title="The log search failed" />}
        {result.status === 'ready' && <Results answer={result.data} applied={applied} />}
      </section>
    </div>
  );
}

// ---- the form --------------------------------------------------------------------------------

function FieldError({ id, message }: { id: string; message: string | undefined }) {
  if (!message) return null;
  return (
    <span class="field-error" id={id} role="alert">
      {message}
    </span>
  );
}

function LogSearchFormView({
  applied,
  services,
  onSubmit,
}: {
  applied: LogSearchForm;
  services: readonly string[] | null;
  onSubmit: (form: LogSearchForm) => void;
}) {
  const [draft, setDraft] = useState(applied);
  const [showErrors, setShowErrors] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  // A new URL (submit, back/forward, a link) replaces the draft; its own problems show at once.
  useEffect(() => {
    setDraft(applied);
    setShowErrors(hasLogErrors(validateLogSearchForm(applied)));
  }, [applied]);

  const errors: LogSearchFormErrors = showErrors ? validateLogSearchForm(draft) : {};
  const update = (change: Partial<LogSearchForm>) => setDraft((previous) => ({ ...previous, ...change }));
  const absolute = draft.start !== '' && draft.end !== '';
  const rangeValue = absolute ? ABSOLUTE : draft.lookback;
  const invalid = (field: keyof LogSearchFormErrors) => (errors[field] ? { 'aria-invalid': true, 'aria-describedby': `logs-${field}-error` } : {});

  return (
    <form
      ref={formRef}
      class="logs-form"
      data-testid="logs-form"
      role="search"
      aria-label="Log search"
      noValidate
      onSubmit={(event) => {
        event.preventDefault();
        if (hasLogErrors(validateLogSearchForm(draft))) {
          setShowErrors(true);
          setTimeout(() => formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus(), 0);
          return;
        }
        onSubmit(draft);
      }}
    >
      <div class="logs-field logs-field-text">
        <label class="field-label" for="logs-q">
          Text in the body
        </label>
        <input
          id="logs-q"
          type="search"
          name="q"
          value={draft.q}
          placeholder="e.g. declined, timeout, heartbeat"
          autocomplete="off"
          spellcheck={false}
          data-testid="logs-text"
          onInput={(event) => update({ q: (event.currentTarget as HTMLInputElement).value })}
        />
      </div>
      <div class="logs-field">
        <label class="field-label" for="logs-service">
          Service
        </label>
        <input
          id="logs-service"
          type="text"
          name="service"
          list="logs-services"
          value={draft.service}
          placeholder="All services"
          autocomplete="off"
          spellcheck={false}
          data-testid="logs-service"
          onInput={(event) => update({ service: (event.currentTarget as HTMLInputElement).value })}
        />
        <datalist id="logs-services">
          {(services ?? []).map((name) => (
            <option key={name} value={name} />
          ))}
        </datalist>
      </div>
      <div class="logs-field">
        <label class="field-label" for="logs-severity">
          Severity
        </label>
        <select
          id="logs-severity"
          name="severity"
          value={draft.severity}
          data-testid="logs-severity"
          {...invalid('severity')}
          onChange={(event) => update({ severity: (event.currentTarget as HTMLSelectElement).value })}
        >
          <option value="">Any severity</option>
          {SEVERITY_LEVELS.map((level) => (
            <option key={level} value={level}>
              {describeMinimumSeverity(level)}
            </option>
          ))}
          {draft.severity !== '' && !isSeverityName(draft.severity) && <option value={draft.severity}>{draft.severity}</option>}
        </select>
        <FieldError id="logs-severity-error" message={errors.severity} />
      </div>
      <div class="logs-field">
        <label class="field-label" for="logs-trace-id">
          Trace ID
        </label>
        <input
          id="logs-trace-id"
          class="mono"
          type="text"
          name="traceId"
          value={draft.traceId}
          placeholder="any trace"
          autocomplete="off"
          spellcheck={false}
          data-testid="logs-trace-id"
          {...invalid('traceId')}
          onInput={(event) => update({ traceId: (event.currentTarget as HTMLInputElement).value })}
        />
        <FieldError id="logs-traceId-error" message={errors.traceId} />
      </div>
      <div class="logs-field">
        <label class="field-label" for="logs-range">
          Time range
        </label>
        <select
          id="logs-range"
          name="lookback"
          value={rangeValue}
          data-testid="logs-lookback"
          {...invalid('lookback')}
          onChange={(event) => {
            const value = (event.currentTarget as HTMLSelectElement).value;
            if (value !== ABSOLUTE) update({ lookback: value, start: '', end: '' });
          }}
        >
          {QUICK_RANGES.map((quick) => (
            <option key={quick.lookback} value={quick.lookback}>
              {quick.label}
            </option>
          ))}
          {!absolute && !QUICK_RANGES.some((quick) => quick.lookback === draft.lookback) && (
            <option value={draft.lookback}>{describeLogRange(draft)}</option>
          )}
          {absolute && <option value={ABSOLUTE}>{describeLogRange(draft)}</option>}
        </select>
        <FieldError id="logs-lookback-error" message={errors.lookback} />
      </div>
      <div class="logs-field logs-field-limit">
        <label class="field-label" for="logs-limit">
          Limit
        </label>
        <input
          id="logs-limit"
          type="number"
          name="limit"
          min={1}
          max={MAX_LOG_LIMIT}
          step={1}
          value={draft.limit}
          data-testid="logs-limit"
          {...invalid('limit')}
          onInput={(event) => update({ limit: (event.currentTarget as HTMLInputElement).value })}
        />
        <FieldError id="logs-limit-error" message={errors.limit} />
      </div>
      {draft.tier !== '' && (
        <div class="logs-field">
          <label class="field-label" for="logs-tier">
            Tier
          </label>
          <select id="logs-tier" name="tier" value={draft.tier} onChange={(event) => update({ tier: (event.currentTarget as HTMLSelectElement).value })}>
            <option value="">Server’s choice</option>
            <option value="hot">Hot</option>
            <option value="cold">Cold</option>
            {draft.tier !== 'hot' && draft.tier !== 'cold' && <option value={draft.tier}>{draft.tier}</option>}
          </select>
        </div>
      )}
      <div class="logs-field logs-actions">
        <button type="submit" data-testid="logs-submit">
          Search
        </button>
      </div>
    </form>
  );
}

// ---- results ---------------------------------------------------------------------------------

function Results({ answer, applied }: { answer: LogSearchAnswer; applied: LogSearchForm }) {
  const logs = Array.isArray(answer.logs) ? answer.logs : [];
  if (logs.length === 0) {
    const wider = !applied.start && applied.lookback !== '168h' ? (applied.lookback === '24h' || applied.lookback === '48h' ? '168h' : '24h') : null;
    return (
      <EmptyState title="No logs match" testId="logs-empty">
        <p>
          No log record matches this search ({describeLogRange(applied).replace(/^Last/, 'last')}
          {typeof answer.scannedRecords === 'number' ? `, ${answer.scannedRecords.toLocaleString('en-US')} records scanned` : ''}).
        </p>
        <ul>
          {wider && (
            <li>
              <Link href={urlWith('/logs', logFormToQuery({ ...applied, lookback: wider }))}>Search the last {wider === '24h' ? '24 hours' : '7 days'}</Link>
            </li>
          )}
          {isSeverityName(applied.severity) && (
            <li>
              <Link href={urlWith('/logs', logFormToQuery({ ...applied, severity: '' }))}>Search every severity</Link>
            </li>
          )}
          {(applied.q.trim() || applied.service.trim() || applied.traceId.trim()) && (
            <li>
              <Link href={urlWith('/logs', logFormToQuery({ ...applied, q: '', service: '', traceId: '' }))}>Drop the text, service and trace conditions</Link>
            </li>
          )}
        </ul>
        <p class="muted">Services send logs over OTLP (gRPC or HTTP) next to their traces; records with trace context link to their trace.</p>
      </EmptyState>
    );
  }
  return <LogsTable logs={logs} answer={answer} />;
}

function LogsTable({ logs, answer }: { logs: LogRecord[]; answer: LogSearchAnswer }) {
  const [expanded, setExpanded] = useState<ReadonlySet<LogRecord>>(() => new Set());
  // Re-renders (a row opened) keep the same "today" for the time column.
  const now = useMemo(() => Date.now(), [answer]);
  const toggle = (record: LogRecord) =>
    setExpanded((previous) => {
      const next = new Set(previous);
      if (next.has(record)) next.delete(record);
      else next.add(record);
      return next;
    });
  const limitReached = typeof answer.limit === 'number' && logs.length >= answer.limit;
  return (
    <>
      <p class="logs-summary muted" data-testid="logs-summary" role="status">
        {logs.length.toLocaleString('en-US')} {logs.length === 1 ? 'record' : 'records'}, newest first
        {typeof answer.scannedRecords === 'number' && ` · ${answer.scannedRecords.toLocaleString('en-US')} scanned`}
        {answer.tier && ` · ${answer.tier} tier`}
        {limitReached && <span data-testid="logs-limit-reached"> · the limit of {answer.limit} was reached: there may be more; raise the limit or narrow the search</span>}
      </p>
      <div class="table-scroll logs-table-scroll">
        <table class="data-table logs-table" data-testid="logs-table" data-rows={logs.length}>
          <caption class="visually-hidden">Log records, newest first</caption>
          <thead>
            <tr>
              <th scope="col">
                <span class="visually-hidden">Details</span>
              </th>
              <th scope="col">Time</th>
              <th scope="col">Severity</th>
              <th scope="col">Service</th>
              <th scope="col">Body</th>
              <th scope="col">Trace</th>
            </tr>
          </thead>
          <tbody>
            {logs.map((record, index) => (
              <LogRow key={index} record={record} now={now} expanded={expanded.has(record)} onToggle={() => toggle(record)} />
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

function LogRow({ record, now, expanded, onToggle }: { record: LogRecord; now: number; expanded: boolean; onToggle: () => void }) {
  const level = severityLevel(record);
  const rank = severityRank(level);
  const traceId = linkableTraceId(record);
  const spanId = normaliseSpanId(record.spanId);
  return (
    <>
      <tr
        class={rank >= severityRank('error') ? 'log-row-error' : rank === severityRank('warn') ? 'log-row-warn' : undefined}
        data-testid="log-row"
        data-severity={level}
        data-service={record.serviceName}
        data-trace-id={traceId ?? ''}
      >
        <td class="log-expand-cell">
          <ExpandButton expanded={expanded} onToggle={onToggle} label={`the ${level} record`} />
        </td>
        <td class="log-time" title={formatUnixNanoPrecise(logTimeUnixNano(record))}>
          {formatLogTimestamp(record, now)}
        </td>
        <td>
          <SeverityBadge record={record} />
        </td>
        <td>{record.serviceName ? <ServiceBadge name={record.serviceName} /> : <span class="muted">{'\u2014'}</span>}</td>
        <td class="log-body-cell">
          <LogBody body={record.body} testId="log-body" />
        </td>
        <td>
          {traceId ? (
            <TraceLink traceId={traceId} {...(spanId ? { spanId } : {})} testId="log-trace-link" />
          ) : (
            <span class="muted" title="This record carries no trace context">
              {'\u2014'}
            </span>
          )}
        </td>
      </tr>
      {expanded && (
        <tr class="log-details-row" data-testid="log-details">
          <td colSpan={6}>
            <LogRecordDetails record={record} />
          </td>
        </tr>
      )}
    </>
  );
}
