// The services list and one service's dashboard: calls/s, error rate and latency percentiles over
// time (for the service or one operation), exemplar traces on the latency chart, and the slowest
// and most failing operations, all from the span metrics Weft computes on the stream.
import { useMemo, useState } from 'preact/hooks';
import './service.css';
import {
  fetchExemplars,
  fetchSeries,
  fetchServices,
  fetchTopOperations,
  fetchTopology,
  type OperationStats,
  type RedStats,
} from '../api';
import { EmptyState, ErrorBanner, Loading, NoDataYet, ServiceBadge, TimeRangePicker } from '../components/common';
import { type ChartSeries, MetricChart, useChartGroup } from '../components/metric-chart';
import { ErrorRate, SortHeader, useSort } from '../components/metric-table';
import { useApi } from '../hooks';
import { SERVICE_PALETTE, formatLocalDateTime, serviceColour } from '../lib/format';
import {
  defaultSpanKind,
  describeExemplarReason,
  errorLevel,
  type ExemplarPoint,
  exemplarPoints,
  formatCount,
  formatMillis,
  formatPercent,
  formatRate,
  seriesToChartData,
  type ServiceRow,
  serviceRows,
  sortRows,
  topOperationLines,
} from '../lib/metrics-view';
import { describeTimeRange, type TimeRange, timeRangeFromQuery, timeRangeToQuery } from '../lib/time-range';
import { Link, navigate, urlWith } from '../router';

type RangeQuery = ReturnType<typeof timeRangeToQuery>;

// ---- /services ----------------------------------------------------------------------------------

type ServiceSortKey = 'service' | 'calls' | 'errorRate' | 'p50' | 'p99';

export function ServicesPage({ search }: { search: URLSearchParams }) {
  const range = timeRangeFromQuery(search);
  const rangeQuery = timeRangeToQuery(range);
  const rangeKey = JSON.stringify(rangeQuery);
  const services = useApi((signal) => fetchServices(signal), []);
  // The metrics are optional here: without them (501) the list still links every dashboard.
  const topology = useApi((signal) => fetchTopology(rangeQuery, signal), [rangeKey]);
  const [sort, toggle] = useSort<ServiceSortKey>('calls', 'desc');

  const rows = useMemo(
    () => (services.data ? serviceRows(services.data.services, topology.data?.nodes ?? []) : null),
    [services.data, topology.data],
  );
  const value = (row: ServiceRow): number | string | null => {
    switch (sort.key) {
      case 'service':
        return row.service;
      case 'calls':
        return row.stats?.calls ?? null;
      case 'errorRate':
        return row.stats?.errorRate ?? null;
      case 'p50':
        return row.stats?.p50Millis ?? null;
      case 'p99':
        return row.stats?.p99Millis ?? null;
    }
  };
  const sorted = rows ? sortRows(rows, value, sort.direction, (row) => row.service) : null;

  return (
    <div class="services-page">
      <div class="page-heading">
        <h1>Services</h1>
        <span class="muted">{describeTimeRange(range)}</span>
      </div>
      <div class="toolbar">
        {/* Keyed by the range: the picker's inputs start from it, so back/forward must renew them. */}
        <TimeRangePicker key={rangeKey} value={range} onChange={(next) => navigate(urlWith('/services', timeRangeToQuery(next)))} />
        <Link href={urlWith('/map', rangeQuery)} class="toolbar-link">
          Service map →
        </Link>
      </div>
      {services.status === 'failed' && <ErrorBanner error={services.error} title="The services could not be loaded" />}
      {topology.status === 'failed' && <ErrorBanner error={topology.error} title="The service metrics could not be loaded" />}
      {services.status === 'loading' && <Loading what="Loading services" />}
      {sorted && sorted.length === 0 && <NoDataYet />}
      {sorted && sorted.length > 0 && (
        <div class="table-scroll">
          <table class="data-table services-table" data-testid="services-table">
            <thead>
              <tr>
                <SortHeader column="service" sort={sort} onSort={toggle} firstDirection="asc">
                  Service
                </SortHeader>
                <SortHeader column="calls" sort={sort} onSort={toggle} numeric title="requests served: server and consumer spans">
                  Calls
                </SortHeader>
                <th class="num" scope="col">
                  Calls/s
                </th>
                <SortHeader column="errorRate" sort={sort} onSort={toggle} numeric>
                  Error rate
                </SortHeader>
                <SortHeader column="p50" sort={sort} onSort={toggle} numeric>
                  p50
                </SortHeader>
                <SortHeader column="p99" sort={sort} onSort={toggle} numeric>
                  p99
                </SortHeader>
                <th scope="col">
                  <span class="visually-hidden">Links</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {sorted.map((row) => (
                <tr key={row.service} data-testid="services-row" data-service={row.service}>
                  <td>
                    <Link href={urlWith(`/services/${encodeURIComponent(row.service)}`, rangeQuery)} class="plain-link" data-testid="service-link">
                      <ServiceBadge name={row.service} />
                    </Link>
                  </td>
                  <td class="num">{row.stats ? formatCount(row.stats.calls) : <span class="muted">{topology.status === 'loading' ? '…' : '\u2014'}</span>}</td>
                  <td class="num">{row.stats ? formatRate(row.stats.callsPerSecond) : ''}</td>
                  <td class="num">{row.stats ? <ErrorRate rate={row.stats.errorRate} errors={row.stats.errors} /> : ''}</td>
                  <td class="num">{row.stats ? formatMillis(row.stats.p50Millis) : ''}</td>
                  <td class="num">{row.stats ? formatMillis(row.stats.p99Millis) : ''}</td>
                  <td class="row-links">
                    <Link href={urlWith('/search', { service: row.service, ...rangeQuery })}>Traces</Link>
                    <Link href={urlWith('/map', { service: row.service, ...rangeQuery })}>Map</Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </div>
  );
}

// ---- /services/<name> ---------------------------------------------------------------------------

const SPAN_KINDS = ['server', 'consumer', 'client', 'producer', 'internal'];

interface DashboardSelection {
  service: string;
  operation: string;
  /** '' for all kinds. */
  spanKind: string;
}

export function ServicePage({ service, search }: { service: string; search: URLSearchParams }) {
  const range = timeRangeFromQuery(search);
  const rangeQuery = timeRangeToQuery(range);
  const rangeKey = JSON.stringify(rangeQuery);
  const operation = search.get('operation') ?? '';
  const kindParam = search.get('spanKind');

  // Every operation of the service (all kinds): the select, the default kind and the empty state.
  const operations = useApi((signal) => fetchTopOperations({ service, ...rangeQuery, sortBy: 'calls', limit: 1000 }, signal), [service, rangeKey]);
  const spanKind =
    kindParam === 'all' ? '' : kindParam && SPAN_KINDS.includes(kindParam) ? kindParam : operations.data ? defaultSpanKind(operations.data.operations) : null;

  const go = (changes: { range?: TimeRange; operation?: string; spanKind?: string }) => {
    const nextKind = changes.spanKind ?? kindParam ?? undefined;
    navigate(
      urlWith(`/services/${encodeURIComponent(service)}`, {
        ...timeRangeToQuery(changes.range ?? range),
        spanKind: nextKind === '' ? 'all' : nextKind,
        operation: changes.operation ?? operation,
      }),
    );
  };

  const noCalls = operations.status === 'ready' && operations.data.operations.length === 0;
  return (
    <div class="service-page">
      <nav class="breadcrumbs" aria-label="Breadcrumbs">
        <Link href={urlWith('/services', rangeQuery)}>Services</Link>
        <span aria-hidden="true"> / </span>
        <span aria-current="page">{service}</span>
      </nav>
      <div class="service-heading">
        <h1>
          <span class="service-dot" style={{ background: serviceColour(service) }} aria-hidden="true" />
          {service}
        </h1>
        <div class="heading-links">
          <Link href={urlWith('/map', { service, ...rangeQuery })}>On the map</Link>
          <Link href={urlWith('/search', { service, ...rangeQuery, ...(operation ? { operation } : {}) })}>Search traces</Link>
          <Link
            href={urlWith('/search', { service, status: 'error', ...rangeQuery, ...(operation ? { operation } : {}) })}
            class="error-link"
            data-testid="find-error-traces"
          >
            Find error traces
          </Link>
        </div>
      </div>
      <div class="toolbar">
        {/* Keyed by the range: the picker's inputs start from it, so back/forward must renew them. */}
        <TimeRangePicker key={rangeKey} value={range} onChange={(next) => go({ range: next })} />
        {operations.data && !noCalls && spanKind !== null && (
          <>
            <label>
              <span class="field-label">Span kind</span>
              <select
                aria-label="Span kind"
                value={spanKind === '' ? 'all' : spanKind}
                onChange={(event) => {
                  const value = (event.currentTarget as HTMLSelectElement).value;
                  go({ spanKind: value === 'all' ? '' : value, operation: '' });
                }}
              >
                <option value="all">All kinds</option>
                {SPAN_KINDS.filter((kind) => kind === spanKind || operations.data!.operations.some((entry) => entry.spanKind === kind)).map((kind) => (
                  <option key={kind} value={kind}>
                    {kind}
                  </option>
                ))}
              </select>
            </label>
            <OperationSelect
              operations={operations.data.operations}
              spanKind={spanKind}
              operation={operation}
              onChange={(next, kind) => go({ operation: next, ...(kind !== undefined ? { spanKind: kind } : {}) })}
            />
            {operation && (
              <button type="button" class="secondary" onClick={() => go({ operation: '' })}>
                All operations
              </button>
            )}
          </>
        )}
      </div>
      {operations.status === 'failed' && <ErrorBanner error={operations.error} title="The service's metrics could not be loaded" />}
      {operations.status === 'loading' && <Loading what={`Loading ${service}`} />}
      {noCalls && <NoCalls service={service} range={range} />}
      {operations.data && !noCalls && spanKind !== null && (
        <Dashboard selection={{ service, operation, spanKind }} range={range} rangeQuery={rangeQuery} onSelectOperation={(next, kind) => go({ operation: next, spanKind: kind })} />
      )}
    </div>
  );
}

function OperationSelect({
  operations,
  spanKind,
  operation,
  onChange,
}: {
  operations: OperationStats[];
  spanKind: string;
  operation: string;
  onChange: (operation: string, spanKind?: string) => void;
}) {
  const choices = operations
    .filter((entry) => spanKind === '' || entry.spanKind === spanKind)
    .sort((a, b) => a.operation.localeCompare(b.operation) || a.spanKind.localeCompare(b.spanKind));
  const known = choices.some((entry) => entry.operation === operation);
  return (
    <label>
      <span class="field-label">Operation</span>
      <select
        aria-label="Operation"
        class="operation-select"
        value={operation ? JSON.stringify([operation, spanKind]) : ''}
        onChange={(event) => {
          const value = (event.currentTarget as HTMLSelectElement).value;
          if (!value) {
            onChange('');
            return;
          }
          const [name, kind] = JSON.parse(value) as [string, string];
          onChange(name, spanKind === '' ? kind : undefined);
        }}
      >
        <option value="">All operations ({choices.length})</option>
        {!known && operation && <option value={JSON.stringify([operation, spanKind])}>{operation}</option>}
        {choices.map((entry) => (
          <option key={`${entry.spanKind}/${entry.operation}`} value={JSON.stringify([entry.operation, spanKind === '' ? entry.spanKind : spanKind])}>
            {entry.operation}
            {spanKind === '' ? ` (${entry.spanKind})` : ''}
          </option>
        ))}
      </select>
    </label>
  );
}

function NoCalls({ service, range }: { service: string; range: TimeRange }) {
  return (
    <EmptyState title={`No calls for ${service} in this time range`} testId="service-empty">
      <p>
        Weft has no span metrics for <code>{service}</code> in {describeTimeRange(range).toLowerCase()}. Either the service sent no spans
        in that range or the name is misspelled.
      </p>
      <ul>
        <li>
          <Link href={urlWith(`/services/${encodeURIComponent(service)}`, { lookback: '168h' })}>Look at the last 7 days</Link>
        </li>
        <li>
          <Link href={urlWith('/services', timeRangeToQuery(range))}>See all services</Link> or the{' '}
          <Link href={urlWith('/map', timeRangeToQuery(range))}>service map</Link>
        </li>
        <li>
          <Link href={urlWith('/search', { service, ...timeRangeToQuery(range) })}>Search its traces</Link>
        </li>
      </ul>
    </EmptyState>
  );
}

// ---- the dashboard ------------------------------------------------------------------------------

/** Lines on the per-operation charts; more would be unreadable. */
const TOP_OPERATION_LINES = 6;

const formatRateAxis = (value: number) => formatRate(value).replace('/s', '');
const formatPercentAxis = (value: number) => formatPercent(value / 100);

function Dashboard({
  selection,
  range,
  rangeQuery,
  onSelectOperation,
}: {
  selection: DashboardSelection;
  range: TimeRange;
  rangeQuery: RangeQuery;
  onSelectOperation: (operation: string, spanKind: string) => void;
}) {
  const { service, operation, spanKind } = selection;
  const rangeKey = JSON.stringify(rangeQuery);
  const filter = { service, ...rangeQuery, ...(operation ? { operation } : {}), ...(spanKind ? { spanKind } : {}) };
  const series = useApi((signal) => fetchSeries(filter, signal), [service, operation, spanKind, rangeKey]);
  const exemplars = useApi((signal) => fetchExemplars({ ...filter, limit: 500 }, signal), [service, operation, spanKind, rangeKey]);
  const slowest = useApi((signal) => fetchTopOperations({ service, ...rangeQuery, sortBy: 'p99', limit: 10 }, signal), [service, rangeKey]);
  const failing = useApi((signal) => fetchTopOperations({ service, ...rangeQuery, sortBy: 'errors', limit: 10 }, signal), [service, rangeKey]);
  // The busiest operations of every kind over time, when the dashboard shows the whole service.
  const byOperation = useApi(
    (signal) => (operation ? Promise.resolve(null) : fetchSeries({ service, ...rangeQuery, groupBy: 'operation' }, signal)),
    [service, operation, rangeKey],
  );
  const group = useChartGroup();

  const first = series.data?.series[0];
  const chartData = useMemo(
    () => (series.data ? seriesToChartData(first?.points ?? [], series.data.endUnixSeconds) : null),
    [series.data, first],
  );
  const callsSeries = useMemo<ChartSeries[]>(() => (chartData ? [{ label: 'calls/s', values: chartData.callsPerSecond, colour: '--accent', fill: true }] : []), [chartData]);
  const errorSeries = useMemo<ChartSeries[]>(() => (chartData ? [{ label: 'error rate', values: chartData.errorPercent, colour: '--error', fill: true }] : []), [chartData]);
  const latencySeries = useMemo<ChartSeries[]>(
    () =>
      chartData
        ? [
            { label: 'p50', values: chartData.p50, colour: '--ok' },
            { label: 'p90', values: chartData.p90, colour: '--accent' },
            { label: 'p99', values: chartData.p99, colour: '--warning' },
          ]
        : [],
    [chartData],
  );
  const operationLines = useMemo(
    () => (byOperation.data ? topOperationLines(byOperation.data.series, TOP_OPERATION_LINES, byOperation.data.endUnixSeconds) : null),
    [byOperation.data],
  );
  const operationCallsSeries = useMemo<ChartSeries[]>(
    () => operationLines?.lines.map((line, index) => ({ label: line.label, values: line.callsPerSecond, colour: SERVICE_PALETTE[(index * 5) % SERVICE_PALETTE.length]!.hex })) ?? [],
    [operationLines],
  );
  const operationP99Series = useMemo<ChartSeries[]>(
    () => operationLines?.lines.map((line, index) => ({ label: line.label, values: line.p99, colour: SERVICE_PALETTE[(index * 5) % SERVICE_PALETTE.length]!.hex })) ?? [],
    [operationLines],
  );
  const dots = useMemo(() => (exemplars.data ? exemplarPoints(exemplars.data.exemplars) : undefined), [exemplars.data]);
  const openExemplar = (exemplar: ExemplarPoint) => navigate(urlWith(`/trace/${encodeURIComponent(exemplar.traceId)}`, { span: exemplar.spanId }));

  const what = operation ? `${operation}${spanKind ? ` (${spanKind})` : ''}` : spanKind ? `all ${spanKind} spans` : 'all spans';
  return (
    <>
      {series.status === 'failed' && <ErrorBanner error={series.error} title="The metric series could not be loaded" />}
      <StatTiles totals={first?.totals ?? null} loading={series.status === 'loading'} what={what} />
      {series.status === 'loading' && <Loading what="Loading the charts" />}
      {chartData && (
        <div class="chart-grid">
          <MetricChart chart="calls" title="Requests" description="calls per second" unit="calls/s" x={chartData.x} series={callsSeries} format={formatRateAxis} group={group} minTop={0.1} />
          <MetricChart chart="errors" title="Errors" description="share of calls that failed" x={chartData.x} series={errorSeries} format={formatPercentAxis} group={group} minTop={1} />
          <div class="chart-wide">
            <MetricChart
              chart="latency"
              title="Latency"
              description={
                dots && dots.length > 0
                  ? `p50 / p90 / p99 · ${dots.length} exemplar trace${dots.length === 1 ? '' : 's'} (dots: click to open)`
                  : 'p50 / p90 / p99'
              }
              x={chartData.x}
              series={latencySeries}
              format={formatMillisAxis}
              group={group}
              height={300}
              {...(dots ? { exemplars: dots } : {})}
              onExemplar={openExemplar}
            />
          </div>
        </div>
      )}
      {byOperation.status === 'failed' && <ErrorBanner error={byOperation.error} title="The per-operation series could not be loaded" />}
      {chartData && operationLines && operationLines.lines.length > 1 && (
        <section class="chart-grid" aria-labelledby="operations-over-time-heading" data-testid="operations-over-time">
          <h2 id="operations-over-time-heading" class="chart-grid-heading">
            Top {operationLines.lines.length} operations over time
          </h2>
          <MetricChart chart="operation-calls" title="Requests by operation" description="calls per second, every span kind" unit="calls/s" x={operationLines.x} series={operationCallsSeries} format={formatRateAxis} group={group} minTop={0.1} />
          <MetricChart chart="operation-p99" title="p99 by operation" description="99th percentile latency" x={operationLines.x} series={operationP99Series} format={formatMillisAxis} group={group} />
        </section>
      )}
      {chartData && <p class="chart-hint muted">Drag across a chart to zoom in on a time span; double-click to zoom back out. All charts follow.</p>}
      <div class="operation-tables">
        <section aria-labelledby="slowest-heading">
          <h2 id="slowest-heading">Slowest operations</h2>
          {slowest.status === 'failed' && <ErrorBanner error={slowest.error} />}
          {slowest.status === 'loading' && <Loading />}
          {slowest.data && (
            <OperationTable
              testId="slowest-operations"
              operations={slowest.data.operations.filter((entry) => entry.p99Millis !== null)}
              service={service}
              rangeQuery={rangeQuery}
              selected={operation}
              emphasis="latency"
              onSelect={onSelectOperation}
              empty="No calls in this range."
            />
          )}
        </section>
        <section aria-labelledby="failing-heading">
          <h2 id="failing-heading">Most failing operations</h2>
          {failing.status === 'failed' && <ErrorBanner error={failing.error} />}
          {failing.status === 'loading' && <Loading />}
          {failing.data && (
            <OperationTable
              testId="failing-operations"
              operations={failing.data.operations.filter((entry) => entry.errors > 0)}
              service={service}
              rangeQuery={rangeQuery}
              selected={operation}
              emphasis="errors"
              onSelect={onSelectOperation}
              empty="No operation failed in this range."
            />
          )}
        </section>
      </div>
      <section aria-labelledby="exemplars-heading" class="exemplar-section">
        <h2 id="exemplars-heading">
          Exemplar traces <span class="muted count">{dots ? dots.length : ''}</span>
        </h2>
        <p class="muted section-note">
          Traces Weft kept for the metric buckets of {what}: the slowest calls, failures and a sample, so every point of the charts leads to
          a real trace.
        </p>
        {exemplars.status === 'failed' && <ErrorBanner error={exemplars.error} title="The exemplars could not be loaded" />}
        {exemplars.status === 'loading' && <Loading />}
        {exemplars.data?.truncated && (
          <p class="muted section-note">Only the newest {exemplars.data.exemplars.length} exemplars are shown; narrow the time range or pick an operation to see others.</p>
        )}
        {dots && <ExemplarTable exemplars={dots} range={range} />}
      </section>
    </>
  );
}

const formatMillisAxis = (value: number) => (value === 0 ? '0' : formatMillis(value));

function StatTiles({ totals, loading, what }: { totals: RedStats | null; loading: boolean; what: string }) {
  const value = (text: string) => (loading ? '…' : text);
  const tiles: { label: string; text: string; tone?: string; title?: string }[] = [
    { label: 'Calls', text: value(totals ? formatCount(totals.calls) : '0'), title: what },
    { label: 'Calls/s', text: value(totals ? formatRate(totals.callsPerSecond) : '\u2014'), title: 'average over the time range' },
    {
      label: 'Error rate',
      text: value(totals ? formatPercent(totals.errorRate) : '\u2014'),
      ...(totals && errorLevel(totals.errorRate) !== 'ok' ? { tone: errorLevel(totals.errorRate) } : {}),
      ...(totals ? { title: `${formatCount(totals.errors)} failed calls` } : {}),
    },
    { label: 'p50', text: value(formatMillis(totals?.p50Millis)) },
    { label: 'p90', text: value(formatMillis(totals?.p90Millis)) },
    { label: 'p99', text: value(formatMillis(totals?.p99Millis)) },
  ];
  return (
    <div class="stat-tiles" data-testid="service-totals" aria-label={`Totals for ${what}`}>
      {tiles.map((tile) => (
        <div class={`stat-tile${tile.tone ? ` stat-${tile.tone}` : ''}`} key={tile.label} title={tile.title}>
          <div class="stat-label">{tile.label}</div>
          <div class="stat-value">{tile.text}</div>
        </div>
      ))}
      <div class="stat-scope muted">{what}</div>
    </div>
  );
}

function OperationTable({
  testId,
  operations,
  service,
  rangeQuery,
  selected,
  emphasis,
  onSelect,
  empty,
}: {
  testId: string;
  operations: OperationStats[];
  service: string;
  rangeQuery: RangeQuery;
  selected: string;
  emphasis: 'latency' | 'errors';
  onSelect: (operation: string, spanKind: string) => void;
  empty: string;
}) {
  if (operations.length === 0) {
    return (
      <p class="muted table-empty" data-testid={testId} data-rows="0">
        {empty}
      </p>
    );
  }
  return (
    <div class="table-scroll">
      <table class="data-table operation-table" data-testid={testId} data-rows={operations.length}>
        <thead>
          <tr>
            <th scope="col">Operation</th>
            <th scope="col">Kind</th>
            <th scope="col" class="num">
              Calls
            </th>
            <th scope="col" class="num">
              {emphasis === 'errors' ? 'Errors' : 'p50'}
            </th>
            <th scope="col" class="num">
              {emphasis === 'errors' ? 'Error rate' : 'p99'}
            </th>
            <th scope="col">
              <span class="visually-hidden">Links</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {operations.map((entry) => (
            <tr
              key={`${entry.spanKind}/${entry.operation}`}
              data-testid="operation-row"
              data-operation={entry.operation}
              data-span-kind={entry.spanKind}
              class={entry.operation === selected ? 'selected-row clickable-row' : 'clickable-row'}
              onClick={(event) => {
                if ((event.target as HTMLElement).closest('a')) return;
                onSelect(entry.operation, entry.spanKind);
              }}
            >
              <td class="operation-name">
                <button
                  type="button"
                  class="link-button"
                  title={`Show ${entry.operation} (${entry.spanKind}) in the charts`}
                  onClick={(event) => {
                    event.stopPropagation();
                    onSelect(entry.operation, entry.spanKind);
                  }}
                >
                  {entry.operation}
                </button>
              </td>
              <td class="muted">{entry.spanKind}</td>
              <td class="num">{formatCount(entry.calls)}</td>
              {emphasis === 'errors' ? (
                <>
                  <td class="num">{formatCount(entry.errors)}</td>
                  <td class="num">
                    <ErrorRate rate={entry.errorRate} errors={entry.errors} />
                  </td>
                </>
              ) : (
                <>
                  <td class="num">{formatMillis(entry.p50Millis)}</td>
                  <td class="num strong">{formatMillis(entry.p99Millis)}</td>
                </>
              )}
              <td class="row-links">
                <Link
                  href={urlWith('/search', {
                    service,
                    operation: entry.operation,
                    spanKind: entry.spanKind,
                    ...(emphasis === 'errors' ? { status: 'error' } : {}),
                    ...rangeQuery,
                  })}
                  title={emphasis === 'errors' ? 'Search the failing traces of this operation' : 'Search the traces of this operation'}
                >
                  {emphasis === 'errors' ? 'Error traces' : 'Traces'}
                </Link>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const EXEMPLAR_ROWS = 15;

function ExemplarTable({ exemplars, range }: { exemplars: ExemplarPoint[]; range: TimeRange }) {
  const [showAll, setShowAll] = useState(false);
  if (exemplars.length === 0) {
    return <p class="muted table-empty">No exemplars in {describeTimeRange(range).toLowerCase()}.</p>;
  }
  const rows = showAll ? exemplars : exemplars.slice(0, EXEMPLAR_ROWS);
  return (
    <>
      <div class="table-scroll">
        <table class="data-table exemplar-table" data-testid="exemplar-table">
          <thead>
            <tr>
              <th scope="col">Trace</th>
              <th scope="col">Operation</th>
              <th scope="col">Started</th>
              <th scope="col" class="num">
                Duration
              </th>
              <th scope="col">Status</th>
              <th scope="col">Kept because</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((exemplar) => (
              <tr key={`${exemplar.traceId}/${exemplar.spanId}`} data-testid="exemplar-row" data-trace-id={exemplar.traceId}>
                <td>
                  <Link href={urlWith(`/trace/${encodeURIComponent(exemplar.traceId)}`, { span: exemplar.spanId })} class="mono">
                    {exemplar.traceId.slice(0, 16)}
                  </Link>
                </td>
                <td>
                  {exemplar.operation} <span class="muted">{exemplar.spanKind}</span>
                </td>
                <td class="muted">{formatLocalDateTime(exemplar.x * 1000)}</td>
                <td class="num">{formatMillis(exemplar.y)}</td>
                <td>{exemplar.isError ? <span class="status-error">error</span> : <span class="muted">ok</span>}</td>
                <td class="muted">{describeExemplarReason(exemplar.reason)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {exemplars.length > EXEMPLAR_ROWS && (
        <button type="button" class="secondary show-more" onClick={() => setShowAll(!showAll)}>
          {showAll ? 'Show fewer' : `Show all ${exemplars.length}`}
        </button>
      )}
    </>
  );
}
