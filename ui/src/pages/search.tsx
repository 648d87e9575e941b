// The search page: conditions on the left (service, operation, attributes with autocompletion
// from the catalog, business key, status, durations, time range, limit), results on the right
// as a duration-over-time scatter plot and a sortable table. The URL holds the query in the
// API's own parameter names, so a reload or a shared link runs the same search.
import { Component } from 'preact';
import { useCallback, useEffect, useMemo, useRef, useState } from 'preact/hooks';
import {
  type ApiError,
  type SearchResponse,
  type TraceSummary,
  fetchAttributeKeys,
  fetchAttributeValues,
  fetchOperations,
  fetchServices,
  searchTraces,
} from '../api';
import { EmptyState, ErrorBanner, Loading, NoDataYet, ServiceBadge, TimeRangePicker } from '../components/common';
import { SortHeader, type SortState, useSort } from '../components/metric-table';
import { ScatterPlot } from '../components/scatter-plot';
import { useApi } from '../hooks';
import { formatDuration, formatLocalTimestamp, formatRelativeTime } from '../lib/format';
import {
  type AttributeFilter,
  DEFAULT_SORT,
  MAX_LIMIT,
  STATUS_OPTIONS,
  type SearchForm,
  type SortKey,
  type StatusFilter,
  countLabel,
  defaultSearchForm,
  formFromQuery,
  formToApiParams,
  formToQuery,
  hasConditions,
  hasErrors,
  normaliseTraceId,
  sortTraces,
  startMillis,
  validateSearchForm,
} from '../lib/search-query';
import { describeTimeRange, lookbackMillis, timeRangeToQuery } from '../lib/time-range';
import { Link, navigate, urlWith } from '../router';
import './search.css';

interface SearchResult {
  response: SearchResponse;
  /** The form the search ran with, so a dimmed old answer is described as it was asked. */
  applied: SearchForm;
  /** When the answer came (Unix milliseconds); "… ago" is measured from no earlier than this. */
  receivedAt: number;
}

/** The current time, refreshed every `everyMillis` so "2 min ago" stays true. */
function useNow(everyMillis: number): number {
  const [now, setNow] = useState(Date.now);
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMillis);
    return () => clearInterval(timer);
  }, [everyMillis]);
  return now;
}

export function SearchPage({ search }: { search: URLSearchParams }) {
  const queryKey = search.toString();
  // The search the URL asks for; the form below edits a draft of it until submitted.
  const applied = useMemo(() => formFromQuery(search), [queryKey]);
  const [refresh, setRefresh] = useState(0);
  const services = useApi((signal) => fetchServices(signal), []);
  const result = useApi<SearchResult>(
    async (signal) => ({ response: await searchTraces(formToApiParams(applied), signal), applied, receivedAt: Date.now() }),
    [queryKey, refresh],
  );
  const lastShown = useRef<SearchResult | null>(null);
  if (result.status === 'ready') lastShown.current = result.data;
  else if (result.status === 'failed') lastShown.current = null;

  const submit = (form: SearchForm) => {
    const url = urlWith('/search', formToQuery(form));
    const current = queryKey ? `/search?${queryKey}` : '/search';
    // The same URL again still searches again: a lookback moves with the clock.
    if (url === current) setRefresh((count) => count + 1);
    else navigate(url);
  };

  return (
    <div class="search-page">
      <div class="search-page-header">
        <h1>Search traces</h1>
        <TraceIdJump />
      </div>
      <div class="search-layout">
        <SearchSidebar applied={applied} services={services.data?.services ?? null} onSubmit={submit} />
        <section class="search-results" aria-label="Search results" aria-busy={result.status === 'loading'} data-state={result.status}>
          <Results
            state={result}
            previous={lastShown.current}
            noServices={services.status === 'ready' && services.data.services.length === 0}
          />
        </section>
      </div>
    </div>
  );
}

// ---- trace ID jump -------------------------------------------------------------------------

function TraceIdJump() {
  const [text, setText] = useState('');
  const traceId = normaliseTraceId(text);
  const invalid = text.trim() !== '' && traceId === null;
  return (
    <form
      class="trace-jump"
      data-testid="trace-id-form"
      role="search"
      aria-label="Open a trace by ID"
      onSubmit={(event) => {
        event.preventDefault();
        if (traceId) navigate(`/trace/${traceId}`);
      }}
    >
      <div class="trace-jump-field">
        <label class="field-label" for="trace-jump-input">
          Trace ID
        </label>
        <input
          id="trace-jump-input"
          class="mono"
          type="text"
          value={text}
          placeholder="4bf92f3577b34da6a3ce929d0e0e4736"
          spellcheck={false}
          autocomplete="off"
          aria-invalid={invalid}
          aria-describedby={invalid ? 'trace-jump-error' : undefined}
          onInput={(event) => setText((event.currentTarget as HTMLInputElement).value)}
        />
      </div>
      <button type="submit" class={traceId ? '' : 'secondary'} disabled={!traceId} title={traceId ? `Open /trace/${traceId}` : 'Type a trace ID'}>
        {traceId ? 'Open trace →' : 'Open trace'}
      </button>
      {invalid && (
        <span class="field-error trace-jump-error" id="trace-jump-error">
          A trace ID is 1 to 32 hex digits.
        </span>
      )}
    </form>
  );
}

// ---- the form ------------------------------------------------------------------------------

type FieldName = 'minDuration' | 'maxDuration' | 'limit' | 'attributes';

function SearchSidebar({
  applied,
  services,
  onSubmit,
}: {
  applied: SearchForm;
  services: string[] | null;
  onSubmit: (form: SearchForm) => void;
}) {
  const [draft, setDraft] = useState(applied);
  const [touched, setTouched] = useState<ReadonlySet<FieldName>>(new Set());
  const [showAllErrors, setShowAllErrors] = useState(false);
  const formRef = useRef<HTMLFormElement>(null);
  // Counts the drafts taken from the URL. The time range picker is keyed by it: its inputs start
  // from its value, so it must start again when the draft does. (Keyed by `applied` it would
  // start one render too early, from the draft the URL is about to replace.)
  const [draftVersion, setDraftVersion] = useState(0);

  // A new URL (submit, back/forward, a link) replaces the draft; its own problems show at once.
  useEffect(() => {
    setDraft(applied);
    setDraftVersion((version) => version + 1);
    setTouched(new Set());
    setShowAllErrors(hasErrors(validateSearchForm(applied)));
  }, [applied]);

  const errors = validateSearchForm(draft);
  const shown = (field: FieldName) => showAllErrors || touched.has(field);
  const touch = (field: FieldName) => setTouched((previous) => new Set(previous).add(field));
  const update = (change: Partial<SearchForm>) => setDraft((previous) => ({ ...previous, ...change }));

  const operations = useApi(
    (signal) => (draft.service ? fetchOperations(draft.service, signal) : Promise.resolve({ operations: [] })),
    [draft.service],
  );
  const attributeKeys = useApi((signal) => fetchAttributeKeys(draft.service || undefined, signal), [draft.service]);

  const serviceOptions = useMemo(() => {
    const names = [...(services ?? [])];
    if (draft.service && !names.includes(draft.service)) names.unshift(draft.service);
    return names;
  }, [services, draft.service]);
  const operationOptions = useMemo(() => {
    const names = [...new Set((operations.data?.operations ?? []).map((operation) => operation.name))].sort();
    if (draft.operation && !names.includes(draft.operation)) names.unshift(draft.operation);
    return names;
  }, [operations.data, draft.operation]);

  const setAttribute = (index: number, filter: AttributeFilter) =>
    update({ attributes: draft.attributes.map((existing, at) => (at === index ? filter : existing)) });

  return (
    <aside class="search-sidebar" aria-label="Search conditions">
      <div class="search-field search-time">
        <TimeRangePicker key={draftVersion} value={draft.timeRange} onChange={(timeRange) => update({ timeRange })} />
      </div>
      <form
        ref={formRef}
        class="search-form"
        data-testid="search-form"
        role="search"
        aria-label="Trace search"
        noValidate
        onSubmit={(event) => {
          event.preventDefault();
          if (hasErrors(errors)) {
            setShowAllErrors(true);
            // Take the keyboard to the first field that needs fixing.
            setTimeout(() => formRef.current?.querySelector<HTMLElement>('[aria-invalid="true"]')?.focus(), 0);
            return;
          }
          onSubmit(draft);
        }}
      >
        <div class="search-field">
          <label class="field-label" for="search-service">
            Service
          </label>
          <select
            id="search-service"
            name="service"
            value={draft.service}
            onChange={(event) => update({ service: (event.currentTarget as HTMLSelectElement).value, operation: '' })}
          >
            <option value="">All services</option>
            {serviceOptions.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </div>

        <div class="search-field">
          <label class="field-label" for="search-operation">
            Operation
          </label>
          <select
            id="search-operation"
            name="operation"
            value={draft.operation}
            disabled={!draft.service && !draft.operation}
            title={!draft.service ? 'Choose a service to list its operations' : undefined}
            onChange={(event) => update({ operation: (event.currentTarget as HTMLSelectElement).value })}
          >
            <option value="">{draft.service ? 'All operations' : 'Choose a service first'}</option>
            {operationOptions.map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </div>

        <fieldset class="search-field attribute-fieldset">
          <legend class="field-label">Attributes</legend>
          <datalist id="weft-attribute-keys">
            {(attributeKeys.data?.keys ?? []).map((entry) => (
              <option key={`${entry.scope}:${entry.key}`} value={entry.key} label={entry.scope} />
            ))}
          </datalist>
          {draft.attributes.map((filter, index) => (
            <AttributeRow
              key={index}
              index={index}
              filter={filter}
              error={shown('attributes') ? errors.attributes?.[index] : undefined}
              onChange={(next) => setAttribute(index, next)}
              onBlur={() => touch('attributes')}
              onRemove={() => update({ attributes: draft.attributes.filter((_, at) => at !== index) })}
            />
          ))}
          <button
            type="button"
            class="secondary button-add"
            onClick={() => {
              update({ attributes: [...draft.attributes, { key: '', value: '' }] });
              // Focus the new row's key so typing can start at once.
              setTimeout(() => {
                const inputs = formRef.current?.querySelectorAll<HTMLInputElement>('.attribute-key');
                inputs?.[inputs.length - 1]?.focus();
              }, 0);
            }}
          >
            + Add attribute
          </button>
        </fieldset>

        <div class="search-field">
          <label class="field-label" for="search-business-key">
            Business key
          </label>
          <input
            id="search-business-key"
            type="text"
            name="businessKey"
            value={draft.businessKey}
            placeholder="e.g. an order or customer ID"
            autocomplete="off"
            onInput={(event) => update({ businessKey: (event.currentTarget as HTMLInputElement).value })}
          />
        </div>

        <div class="search-field">
          <label class="field-label" for="search-status">
            Status
          </label>
          <select
            id="search-status"
            name="status"
            value={draft.status}
            onChange={(event) => update({ status: (event.currentTarget as HTMLSelectElement).value as StatusFilter })}
          >
            {STATUS_OPTIONS.map((option) => (
              <option key={option.value} value={option.value}>
                {option.label}
              </option>
            ))}
          </select>
        </div>

        <div class="search-field-row">
          <DurationInput
            label="Min duration"
            name="minDuration"
            value={draft.minDuration}
            placeholder="e.g. 100ms"
            error={shown('minDuration') ? errors.minDuration : undefined}
            onInput={(minDuration) => update({ minDuration })}
            onBlur={() => touch('minDuration')}
          />
          <DurationInput
            label="Max duration"
            name="maxDuration"
            value={draft.maxDuration}
            placeholder="e.g. 1.5s"
            error={shown('maxDuration') ? errors.maxDuration : undefined}
            onInput={(maxDuration) => update({ maxDuration })}
            onBlur={() => touch('maxDuration')}
          />
          {/* Below both inputs, where a sentence has room. */}
          {(['minDuration', 'maxDuration'] as const).map((field) =>
            shown(field) && errors[field] ? (
              <span key={field} class="field-error duration-error" id={`${field}-error`} role="alert" data-testid={`${field}-error`}>
                {field === 'minDuration' ? 'Min' : 'Max'}: {errors[field]}
              </span>
            ) : null,
          )}
        </div>

        <div class="search-field">
          <label class="field-label" for="search-limit">
            Limit
          </label>
          <input
            id="search-limit"
            type="number"
            name="limit"
            min={1}
            max={MAX_LIMIT}
            step={1}
            value={draft.limit}
            aria-invalid={shown('limit') && errors.limit !== undefined}
            aria-describedby={shown('limit') && errors.limit ? 'limit-error' : undefined}
            onInput={(event) => update({ limit: (event.currentTarget as HTMLInputElement).value })}
            onBlur={() => touch('limit')}
          />
          {shown('limit') && errors.limit && (
            <span class="field-error" id="limit-error" role="alert">
              {errors.limit}
            </span>
          )}
        </div>

        {draft.extra.length > 0 && (
          <div class="search-field">
            <span class="field-label">Also from the link</span>
            <div class="extra-conditions">
              {draft.extra.map((condition) => (
                <span class="extra-chip" key={condition.name}>
                  <span class="mono">
                    {condition.name}={condition.value}
                  </span>
                  <button
                    type="button"
                    class="chip-remove"
                    aria-label={`Remove the condition ${condition.name}=${condition.value}`}
                    onClick={() => update({ extra: draft.extra.filter((other) => other.name !== condition.name) })}
                  >
                    ×
                  </button>
                </span>
              ))}
            </div>
          </div>
        )}

        <div class="search-actions">
          <button type="submit" class="search-submit">
            Find traces
          </button>
          <button
            type="button"
            class="secondary"
            title="Clear every condition (the time range and limit stay)"
            onClick={() => {
              setDraft({ ...defaultSearchForm(), timeRange: draft.timeRange, limit: draft.limit });
              setTouched(new Set());
              setShowAllErrors(false);
            }}
          >
            Clear
          </button>
        </div>
      </form>
    </aside>
  );
}

function DurationInput({
  label,
  name,
  value,
  placeholder,
  error,
  onInput,
  onBlur,
}: {
  label: string;
  name: string;
  value: string;
  placeholder: string;
  error: string | undefined;
  onInput: (value: string) => void;
  onBlur: () => void;
}) {
  const errorId = `${name}-error`;
  const inputId = `search-${name}`;
  return (
    <div class="search-field">
      <label class="field-label" for={inputId}>
        {label}
      </label>
      <input
        id={inputId}
        type="text"
        name={name}
        value={value}
        placeholder={placeholder}
        autocomplete="off"
        spellcheck={false}
        aria-invalid={error !== undefined}
        aria-describedby={error ? errorId : undefined}
        onInput={(event) => onInput((event.currentTarget as HTMLInputElement).value)}
        onBlur={onBlur}
      />
    </div>
  );
}

function AttributeRow({
  index,
  filter,
  error,
  onChange,
  onBlur,
  onRemove,
}: {
  index: number;
  filter: AttributeFilter;
  error: string | undefined;
  onChange: (filter: AttributeFilter) => void;
  onBlur: () => void;
  onRemove: () => void;
}) {
  const [values, setValues] = useState<string[]>([]);
  const key = filter.key.trim();
  const prefix = filter.value;
  // Values seen for the key, narrowed by what is typed; a short pause spares the server.
  useEffect(() => {
    if (!key) {
      setValues([]);
      return;
    }
    const controller = new AbortController();
    const timer = setTimeout(() => {
      fetchAttributeValues(key, prefix || undefined, controller.signal).then(
        (answer) => {
          if (!controller.signal.aborted) setValues(answer.values);
        },
        () => undefined,
      );
    }, 150);
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [key, prefix]);
  const listId = `weft-attribute-values-${index}`;
  const errorId = `attribute-${index}-error`;
  return (
    <div class="attribute-row" data-testid="attribute-row">
      <input
        class="attribute-key mono"
        type="text"
        list="weft-attribute-keys"
        value={filter.key}
        placeholder="key, e.g. http.route"
        aria-label={`Attribute ${index + 1} key`}
        autocomplete="off"
        spellcheck={false}
        aria-invalid={error !== undefined}
        aria-describedby={error ? errorId : undefined}
        onInput={(event) => onChange({ ...filter, key: (event.currentTarget as HTMLInputElement).value })}
        onBlur={onBlur}
      />
      <input
        class="attribute-value mono"
        type="text"
        list={listId}
        value={filter.value}
        placeholder="= value"
        aria-label={`Attribute ${index + 1} value`}
        autocomplete="off"
        spellcheck={false}
        onInput={(event) => onChange({ ...filter, value: (event.currentTarget as HTMLInputElement).value })}
        onBlur={onBlur}
      />
      <datalist id={listId}>
        {values.map((value) => (
          <option key={value} value={value} />
        ))}
      </datalist>
      <button type="button" class="icon-button" aria-label={`Remove attribute ${index + 1}`} title="Remove" onClick={onRemove}>
        ×
      </button>
      {error && (
        <span class="field-error attribute-error" id={errorId} role="alert">
          {error}
        </span>
      )}
    </div>
  );
}

// ---- results -------------------------------------------------------------------------------

function Results({
  state,
  previous,
  noServices,
}: {
  state: { status: 'loading' } | { status: 'ready'; data: SearchResult } | { status: 'failed'; error: ApiError };
  /** The last answer shown, kept on screen (dimmed) while a new search runs. */
  previous: SearchResult | null;
  noServices: boolean;
}) {
  const [sort, toggleSort] = useSort<SortKey>(DEFAULT_SORT.key, DEFAULT_SORT.direction);
  const [selected, setSelected] = useState<string[]>([]);
  // The trace hovered in the plot or the table. It lives here, below the form, so a hover
  // re-renders the plot's highlight and two table rows, not the page.
  const [highlighted, setHighlighted] = useState<string | null>(null);
  const tick = useNow(15_000);
  const shown = state.status === 'ready' ? state.data : state.status === 'loading' ? previous : null;
  // New results may hold traces younger than the last tick: never older than the answer.
  const now = Math.max(tick, shown?.receivedAt ?? 0);
  const traces = shown?.response.traces;
  // Ticking a box keeps only the ticked traces still listed; a ref so the handler stays the
  // same function and the memoised rows need not re-render for it.
  const tracesRef = useRef(traces);
  tracesRef.current = traces;
  const toggle = useCallback((traceId: string) => {
    setSelected((earlier) => {
      const listed = tracesRef.current ?? [];
      const current = earlier.filter((id) => listed.some((trace) => trace.traceId === id));
      return current.includes(traceId) ? current.filter((id) => id !== traceId) : [...current, traceId];
    });
  }, []);

  if (state.status === 'failed') return <ErrorBanner error={state.error} title="The search failed" />;
  if (!shown || !traces) return <Loading what="Searching traces" />;
  const stale = state.status === 'loading';

  const { partial, scannedSpans } = shown.response;
  let body;
  if (traces.length === 0) {
    body = noServices ? <NoDataYet /> : <NoMatches applied={shown.applied} partial={partial} scannedSpans={scannedSpans} />;
  } else {
    const limit = Number(shown.applied.limit);
    const apiUrl = urlWith('/api/v1/search', formToQuery(shown.applied));
    const present = selected.filter((traceId) => traces.some((trace) => trace.traceId === traceId));
    body = (
      <>
        <div class="results-bar">
          <p class="result-summary" data-testid="result-summary">
            <strong>{countLabel(traces.length, 'trace')}</strong>
            <span class="muted"> · scanned {countLabel(scannedSpans, 'span')} · {describeTimeRange(shown.applied.timeRange)}</span>
            {traces.length === limit && !partial && <span class="muted"> · newest {limit} shown; raise the limit to see more</span>}
          </p>
          <a class="api-link" href={apiUrl} target="_blank" rel="noopener" title="This search as the API answers it">
            API JSON ↗
          </a>
        </div>
        {partial && <PartialWarning scannedSpans={scannedSpans} />}
        <ScatterPlot traces={traces} highlighted={highlighted} onHighlight={setHighlighted} now={now} />
        <div class="compare-bar">
          <span class="muted" aria-live="polite">
            {present.length === 0
              ? 'Tick two traces to compare them.'
              : present.length === 1
                ? '1 trace selected; tick one more to compare.'
                : '2 traces selected.'}
          </span>
          {present.length > 0 && (
            <button type="button" class="button-small" onClick={() => setSelected([])}>
              Clear selection
            </button>
          )}
          <button
            type="button"
            data-testid="compare-button"
            disabled={present.length !== 2}
            onClick={() => navigate(urlWith('/compare', { a: present[0], b: present[1] }))}
          >
            Compare{present.length === 2 ? ' 2 traces' : ` (${present.length}/2)`}
          </button>
        </div>
        <TraceTable
          traces={traces}
          sort={sort}
          onSort={toggleSort}
          selected={present}
          onToggle={toggle}
          highlighted={highlighted}
          onHighlight={setHighlighted}
          now={now}
        />
      </>
    );
  }
  if (!stale) return body;
  return (
    <>
      <div class="stale-notice">
        <Loading what="Searching traces" />
      </div>
      <div class="stale-results" inert>
        {body}
      </div>
    </>
  );
}

function PartialWarning({ scannedSpans }: { scannedSpans: number }) {
  return (
    <div class="banner banner-warning" role="status" data-testid="partial-warning">
      <strong>Partial results.</strong> The search stopped after scanning {countLabel(scannedSpans, 'span')}, so older matches
      may be missing. Narrow the time range or add conditions (a service, an operation, an attribute) to see every match.
    </div>
  );
}

function NoMatches({ applied, partial, scannedSpans }: { applied: SearchForm; partial: boolean; scannedSpans: number }) {
  const wider = ['24h', '168h'].find((lookback) => {
    if (applied.timeRange.kind !== 'lookback') return lookback === '24h';
    return (lookbackMillis(lookback) ?? 0) > (lookbackMillis(applied.timeRange.lookback) ?? Infinity);
  });
  const conditions = hasConditions(applied);
  return (
    <>
      {partial && <PartialWarning scannedSpans={scannedSpans} />}
      <EmptyState title="No traces match" testId="no-results">
        <p>
          Nothing in <strong>{describeTimeRange(applied.timeRange)}</strong> matches
          {conditions ? ' these conditions' : ''}. Widen the time range{conditions ? ' or remove some conditions' : ''}.
        </p>
        <div class="empty-actions">
          {wider && (
            <button
              type="button"
              onClick={() => navigate(urlWith('/search', formToQuery({ ...applied, timeRange: { kind: 'lookback', lookback: wider } })))}
            >
              Search the {wider === '24h' ? 'last 24 hours' : 'last 7 days'}
            </button>
          )}
          {conditions && (
            <button
              type="button"
              class="secondary"
              onClick={() =>
                navigate(urlWith('/search', { ...timeRangeToQuery(applied.timeRange), limit: applied.limit }))
              }
            >
              Remove all conditions
            </button>
          )}
        </div>
      </EmptyState>
    </>
  );
}

const SORT_COLUMNS: readonly { key: SortKey; label: string; numeric: boolean }[] = [
  { key: 'start', label: 'Start', numeric: false },
  { key: 'duration', label: 'Duration', numeric: false },
  { key: 'spans', label: 'Spans', numeric: true },
  { key: 'errors', label: 'Errors', numeric: true },
];

function TraceTable({
  traces,
  sort,
  onSort,
  selected,
  onToggle,
  highlighted,
  onHighlight,
  now,
}: {
  traces: readonly TraceSummary[];
  sort: SortState<SortKey>;
  onSort: (key: SortKey) => void;
  selected: readonly string[];
  onToggle: (traceId: string) => void;
  highlighted: string | null;
  onHighlight: (traceId: string | null) => void;
  now: number;
}) {
  const rows = useMemo(() => sortTraces(traces, sort), [traces, sort]);
  const maxDuration = useMemo(() => Math.max(1, ...traces.map((trace) => trace.durationNanos)), [traces]);
  return (
    <div class="table-scroll">
      <table class="data-table trace-table" data-testid="trace-results">
        <caption class="visually-hidden">Matching traces, sortable by start, duration, spans and errors</caption>
        <thead>
          <tr>
            <th scope="col" class="col-select">
              <span class="visually-hidden">Select to compare</span>
            </th>
            <th scope="col" class="col-trace">
              Trace
            </th>
            {SORT_COLUMNS.map((column) => (
              <SortHeader
                key={column.key}
                column={column.key}
                sort={sort}
                onSort={onSort}
                numeric={column.numeric}
                className={`col-${column.key}`}
                testId={`sort-${column.key}`}
                title={`Sort by ${column.label.toLowerCase()}`}
              >
                {column.label}
              </SortHeader>
            ))}
            <th scope="col" class="col-services">
              Services
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((trace) => {
            const isSelected = selected.includes(trace.traceId);
            return (
              <TraceRow
                key={trace.traceId}
                trace={trace}
                isSelected={isSelected}
                blocked={!isSelected && selected.length >= 2}
                isHighlighted={trace.traceId === highlighted}
                maxDuration={maxDuration}
                now={now}
                onToggle={onToggle}
                onHighlight={onHighlight}
              />
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

interface TraceRowProps {
  trace: TraceSummary;
  isSelected: boolean;
  /** Two other traces are ticked already. */
  blocked: boolean;
  isHighlighted: boolean;
  maxDuration: number;
  now: number;
  onToggle: (traceId: string) => void;
  onHighlight: (traceId: string | null) => void;
}

/**
 * One result row. Up to 1,000 of them: a row renders again only when its own props change, so
 * hovering (which moves the highlight from one row to another) updates two rows, not all.
 */
class TraceRow extends Component<TraceRowProps> {
  override shouldComponentUpdate(next: TraceRowProps): boolean {
    const current = this.props;
    return (
      next.trace !== current.trace ||
      next.isSelected !== current.isSelected ||
      next.blocked !== current.blocked ||
      next.isHighlighted !== current.isHighlighted ||
      next.maxDuration !== current.maxDuration ||
      next.now !== current.now ||
      next.onToggle !== current.onToggle ||
      next.onHighlight !== current.onHighlight
    );
  }

  override render() {
    const { trace, isSelected, blocked, isHighlighted, maxDuration, now, onToggle, onHighlight } = this.props;
    const start = startMillis(trace);
    return (
      <tr
        data-testid="trace-row"
        data-trace-id={trace.traceId}
        data-start-unix-nano={trace.startTimeUnixNano}
        data-duration-nanos={trace.durationNanos}
        data-span-count={trace.spanCount}
        data-error-count={trace.errorCount}
        class={`${isSelected ? 'is-selected' : ''}${isHighlighted ? ' is-highlighted' : ''}`}
        onMouseEnter={() => onHighlight(trace.traceId)}
        onMouseLeave={() => onHighlight(null)}
      >
        <td class="col-select">
          <input
            type="checkbox"
            checked={isSelected}
            disabled={blocked}
            title={blocked ? 'Two traces are selected; untick one to choose another' : 'Select to compare'}
            aria-label={`Select trace ${trace.rootServiceName} ${trace.rootSpanName} ${trace.traceId.slice(0, 8)} to compare`}
            data-testid="compare-checkbox"
            onChange={() => onToggle(trace.traceId)}
          />
        </td>
        <td class="col-trace">
          <div class="trace-title">
            <ServiceBadge name={trace.rootServiceName} />
            <Link href={`/trace/${trace.traceId}`} class="trace-link" data-testid="trace-link">
              {trace.rootSpanName || '(unnamed span)'}
            </Link>
          </div>
          <div class="trace-meta">
            <span class="mono muted" title={trace.traceId}>
              {trace.traceId.slice(0, 12)}…
            </span>
            {!trace.rootSpanFound && (
              <span class="tag-warning" title="The trace's root span has not arrived; the name shown is the earliest span's">
                root span not received yet
              </span>
            )}
          </div>
        </td>
        <td class="col-start">
          <div class="mono start-time" title={new Date(start).toISOString()}>
            {formatLocalTimestamp(start, now)}
          </div>
          <div class="muted small">{formatRelativeTime(start, now)}</div>
        </td>
        <td class="col-duration">
          <div class="duration-value">{formatDuration(trace.durationNanos)}</div>
          <div class="duration-bar" aria-hidden="true">
            <span
              class={trace.errorCount > 0 ? 'is-error' : ''}
              style={{ width: `${Math.max(1, (trace.durationNanos / maxDuration) * 100)}%` }}
            />
          </div>
        </td>
        <td class="num">{trace.spanCount}</td>
        <td class={`num ${trace.errorCount > 0 ? 'error-text error-count' : 'muted'}`} data-testid="error-count">
          {trace.errorCount}
        </td>
        <td class="col-services">
          {trace.services.map((service) => (
            <ServiceBadge key={service.serviceName} name={service.serviceName} count={service.spanCount} errors={service.errorCount} />
          ))}
        </td>
      </tr>
    );
  }
}
