// Diagnostics: what Weft found in the traces it analyzed (broken traces, bottlenecks, repeated
// calls, timeout misconfigurations, call cycles), the trace interruption rate, cycles in the
// service graph, and the slowest operations, failures and exceptions, for every service or one.
// Every example leads to its trace. The URL keeps the filters: `service`, `kind`, the range.
import { useMemo, useState } from 'preact/hooks';
import './diagnostics.css';
import {
  type DiagnosedTraceSummary,
  type DiagnosticsOverview,
  type ExceptionRow,
  type FailureRow,
  type FindingRow,
  type GraphCycle,
  type InterruptionReport,
  type OperationRow,
  fetchDiagnosedTraces,
  fetchDiagnosticsOverview,
  fetchFindings,
  fetchServices,
} from '../api';
import { ErrorBanner, Loading, ServiceBadge, TimeRangePicker } from '../components/common';
import {
  AssemblerLine,
  DiagnosticsSection,
  FindingKindBadge,
  LatencyCells,
  NothingAnalyzed,
  ServiceSelect,
  SlowestLinks,
  TableEmpty,
  TraceLink,
  TraceLinks,
} from '../components/diagnostics-common';
import { type ChartSeries, MetricChart, useChartGroup } from '../components/metric-chart';
import { type AsyncState, useApi } from '../hooks';
import {
  FINDING_KINDS,
  analysisState,
  describeCompletion,
  describeFindingKind,
  describeFindingValue,
  formatShare,
  formatUnixNanos,
  interruptionChart,
  interruptionHeadline,
  interruptionLevel,
  isFindingKind,
  kindFromQuery,
} from '../lib/diagnostics';
import { formatDuration, formatLocalTimestamp, unixNanoToMillis } from '../lib/format';
import { describeTimeRange, type TimeRange, timeRangeFromQuery, timeRangeToQuery } from '../lib/time-range';
import { Link, navigate, urlWith } from '../router';

/** Findings asked for when one kind is chosen (the overview lists the top 50 of all kinds). */
const KIND_FINDINGS_LIMIT = 200;
/** Recent traces with findings listed. */
const RECENT_TRACES_LIMIT = 20;
const ALL_KINDS = FINDING_KINDS.map((info) => info.kind);

export function DiagnosticsPage({ search }: { search: URLSearchParams }) {
  const range = timeRangeFromQuery(search);
  const rangeQuery = timeRangeToQuery(range);
  const rangeKey = JSON.stringify(rangeQuery);
  const service = search.get('service') ?? '';
  const kind = kindFromQuery(search);
  const [refresh, setRefresh] = useState(0);

  const services = useApi((signal) => fetchServices(signal), []);
  const overview = useApi((signal) => fetchDiagnosticsOverview({ ...rangeQuery, ...(service ? { service } : {}) }, signal), [rangeKey, service, refresh]);
  // With a kind chosen, that kind's findings (the overview has the top rows of all kinds).
  const kindFindings = useApi(
    (signal) => (kind ? fetchFindings({ ...rangeQuery, ...(service ? { service } : {}), kind, limit: KIND_FINDINGS_LIMIT }, signal) : Promise.resolve(null)),
    [rangeKey, service, kind, refresh],
  );
  const recentTraces = useApi(
    (signal) =>
      fetchDiagnosedTraces({ ...rangeQuery, ...(service ? { service } : {}), kind: kind ? [kind] : ALL_KINDS, limit: RECENT_TRACES_LIMIT }, signal),
    [rangeKey, service, kind, refresh],
  );

  const go = (changes: { range?: TimeRange; service?: string; kind?: string }) => {
    navigate(
      urlWith('/diagnostics', {
        ...timeRangeToQuery(changes.range ?? range),
        service: (changes.service ?? service) || undefined,
        kind: (changes.kind ?? kind) || undefined,
      }),
    );
  };

  const state = overview.data ? analysisState(overview.data.assembler, overview.data.interruptions.traces) : null;
  return (
    <div class="diagnostics-page" data-testid="diagnostics-page">
      <div class="page-heading">
        <h1>Diagnostics</h1>
        <span class="muted">
          {describeTimeRange(range)}
          {service ? ` · ${service}` : ''}
        </span>
        <span class="heading-links">
          <Link href={urlWith('/database', { ...rangeQuery, service: service || undefined })}>Database statements →</Link>
          <Link href={urlWith('/redis', { ...rangeQuery, service: service || undefined })}>Redis commands →</Link>
        </span>
      </div>
      <div class="toolbar">
        {/* Keyed by the range: the picker's inputs start from it, so back/forward must renew them. */}
        <TimeRangePicker key={rangeKey} value={range} onChange={(next) => go({ range: next })} />
        <ServiceSelect value={service} services={services.data?.services ?? null} onChange={(next) => go({ service: next })} />
        <label>
          <span class="field-label">Finding kind</span>
          <select aria-label="Finding kind" value={kind} data-testid="kind-filter" onChange={(event) => go({ kind: (event.currentTarget as HTMLSelectElement).value })}>
            <option value="">All kinds</option>
            {FINDING_KINDS.map((info) => (
              <option key={info.kind} value={info.kind}>
                {info.label}
              </option>
            ))}
            {kind && !isFindingKind(kind) && <option value={kind}>{kind}</option>}
          </select>
        </label>
        <button type="button" class="secondary refresh" onClick={() => setRefresh((count) => count + 1)} data-testid="refresh">
          Refresh
        </button>
      </div>

      {services.status === 'failed' && <ErrorBanner error={services.error} title="The services could not be loaded" />}
      {overview.status === 'failed' && <ErrorBanner error={overview.error} title="The diagnostics could not be loaded" />}
      {overview.status === 'loading' && <Loading what="Loading the diagnostics" />}
      {overview.data?.assembler && <AssemblerLine assembler={overview.data.assembler} />}
      {overview.data && state !== null && state !== 'ready' && (
        <NothingAnalyzed
          state={state}
          assembler={overview.data.assembler}
          range={range}
          path="/diagnostics"
          noServices={services.status === 'ready' && services.data.services.length === 0}
          service={service}
        />
      )}
      {overview.data && state === 'ready' && (
        <Report
          overview={overview.data}
          kind={kind}
          kindFindings={kindFindings}
          recentTraces={recentTraces}
          service={service}
          onKind={(next) => go({ kind: next })}
        />
      )}
    </div>
  );
}

function Report({
  overview,
  kind,
  kindFindings,
  recentTraces,
  service,
  onKind,
}: {
  overview: DiagnosticsOverview;
  kind: string;
  kindFindings: AsyncState<{ findings: FindingRow[] } | null>;
  recentTraces: AsyncState<{ traces: DiagnosedTraceSummary[] }>;
  service: string;
  onKind: (kind: string) => void;
}) {
  const now = Date.now();
  const findings = kind ? kindFindings.data?.findings ?? null : overview.findings;
  const kindLabel = kind ? describeFindingKind(kind).label : '';
  const operations = overview.operations;
  return (
    <>
      <DiagnosticsSection
        id="findings"
        title={kind ? `Findings: ${kindLabel}` : 'Findings'}
        count={findings?.length}
        testId="findings-section"
        note="Problems found in analyzed traces, one row per kind and place, most traces first. The worst case is the largest measure seen."
      >
        {kind && kindFindings.status === 'failed' && <ErrorBanner error={kindFindings.error} title="The findings could not be loaded" />}
        {kind && kindFindings.status === 'loading' && <Loading what="Loading the findings" />}
        {findings && <FindingsTable findings={findings} now={now} kind={kind} onKind={onKind} />}
      </DiagnosticsSection>

      <DiagnosticsSection
        id="finding-traces"
        title={kind ? `Recent traces with ${kindLabel}` : 'Recent traces with findings'}
        count={recentTraces.data?.traces.length}
        testId="finding-traces-section"
      >
        {recentTraces.status === 'failed' && <ErrorBanner error={recentTraces.error} title="The traces could not be loaded" />}
        {recentTraces.status === 'loading' && <Loading what="Loading traces" />}
        {recentTraces.data && <RecentTracesTable traces={recentTraces.data.traces} now={now} />}
      </DiagnosticsSection>

      <Interruptions report={overview.interruptions} service={service} />

      <DiagnosticsSection
        id="cycles"
        title="Cycles in the service graph"
        count={overview.cycles.length}
        testId="cycles-section"
        note="Services that call each other round, directly or through others, over all analyzed traces in the range."
      >
        <Cycles cycles={overview.cycles} />
      </DiagnosticsSection>

      <DiagnosticsSection id="slowest" title="Slowest operations" count={operations.slowest.length} testId="slowest-section" note="Entry operations (server, consumer and root spans), slowest first.">
        <SlowestOperations rows={operations.slowest} />
      </DiagnosticsSection>

      <div class="diagnostics-columns">
        <DiagnosticsSection id="failures" title="Failures" count={operations.failures.length} testId="failures-section" note="Failing operations by status message.">
          <Failures rows={operations.failures} now={now} />
        </DiagnosticsSection>
        <DiagnosticsSection id="exceptions" title="Recent exceptions" count={operations.exceptions.length} testId="exceptions-section">
          <Exceptions rows={operations.exceptions} now={now} />
        </DiagnosticsSection>
      </div>
    </>
  );
}

function FindingsTable({ findings, now, kind, onKind }: { findings: FindingRow[]; now: number; kind: string; onKind: (kind: string) => void }) {
  if (findings.length === 0) {
    return (
      <TableEmpty testId="findings-table">
        {kind ? `No ${describeFindingKind(kind).label} findings in this range.` : 'No findings in this range: the analyzed traces look healthy.'}
      </TableEmpty>
    );
  }
  return (
    <div class="table-scroll">
      <table class="data-table findings-table" data-testid="findings-table" data-rows={findings.length}>
        <caption class="visually-hidden">Findings, most traces first</caption>
        <thead>
          <tr>
            <th scope="col">Kind</th>
            <th scope="col">Service and operation</th>
            <th scope="col">Detail and last message</th>
            <th scope="col" class="num">
              Traces
            </th>
            <th scope="col" class="num">
              Worst case
            </th>
            <th scope="col">Last seen</th>
            <th scope="col">Example traces</th>
          </tr>
        </thead>
        <tbody>
          {findings.map((row) => (
            <tr key={`${row.kind}/${row.service}/${row.operation}/${row.detail}`} data-testid="finding-row" data-kind={row.kind} data-service={row.service}>
              <td>
                {kind ? (
                  <FindingKindBadge kind={row.kind} title={row.title} />
                ) : (
                  <button
                    type="button"
                    class="link-button badge-button"
                    title={`Show only ${describeFindingKind(row.kind, row.title).label} findings`}
                    onClick={() => onKind(row.kind)}
                  >
                    <FindingKindBadge kind={row.kind} title={row.title} />
                  </button>
                )}
              </td>
              <td>
                <div class="finding-where">
                  <ServiceBadge name={row.service} />
                  <span>{row.operation}</span>
                </div>
              </td>
              <td>
                <div class="finding-detail">{row.detail}</div>
                {row.last_message && <div class="finding-message muted">{row.last_message}</div>}
              </td>
              <td class="num">{row.traces.toLocaleString('en-US')}</td>
              <td class="num">{describeFindingValue(row.kind, row.value_max)}</td>
              <td class="muted">{formatUnixNanos(row.last_seen_unix_nanos, now)}</td>
              <td>
                <TraceLinks traceIds={row.example_trace_ids} testId="finding-example-link" />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function RecentTracesTable({ traces, now }: { traces: DiagnosedTraceSummary[]; now: number }) {
  if (traces.length === 0) return <TableEmpty testId="finding-traces-table">No analyzed trace in this range has such a finding.</TableEmpty>;
  return (
    <div class="table-scroll">
      <table class="data-table" data-testid="finding-traces-table" data-rows={traces.length}>
        <caption class="visually-hidden">Recent traces with findings, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Trace</th>
            <th scope="col">Root</th>
            <th scope="col">Started</th>
            <th scope="col" class="num">
              Duration
            </th>
            <th scope="col" class="num">
              Spans
            </th>
            <th scope="col" class="num">
              Errors
            </th>
            <th scope="col">Findings</th>
          </tr>
        </thead>
        <tbody>
          {traces.map((trace) => (
            <tr key={trace.traceId} data-testid="finding-trace-row" data-trace-id={trace.traceId}>
              <td>
                <TraceLink traceId={trace.traceId} />
              </td>
              <td>
                <div class="finding-where">
                  <ServiceBadge name={trace.rootService} />
                  <span>{trace.rootOperation}</span>
                </div>
              </td>
              <td class="muted">{formatLocalTimestamp(unixNanoToMillis(trace.startTimeUnixNano), now)}</td>
              <td class="num">{formatDuration(Number(trace.durationNanos))}</td>
              <td class="num" title={trace.truncated ? 'The trace had more spans than the analysis keeps' : undefined}>
                {trace.spanCount.toLocaleString('en-US')}
                {trace.truncated ? '+' : ''}
              </td>
              <td class={trace.errorCount > 0 ? 'num error-text' : 'num'}>{trace.errorCount.toLocaleString('en-US')}</td>
              <td>
                <span class="trace-links">
                  {trace.findings.map((name) => (
                    <FindingKindBadge key={name} kind={name} />
                  ))}
                </span>
                {trace.completion !== 'inactive' && <div class="muted finding-message">{describeCompletion(trace.completion)}</div>}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

const formatPercentAxis = (value: number) => `${Number(value.toPrecision(3))} %`;

function Interruptions({ report, service }: { report: InterruptionReport; service: string }) {
  const headline = interruptionHeadline(report, service);
  const chart = useMemo(() => interruptionChart(report.series), [report.series]);
  const group = useChartGroup();
  const series = useMemo<ChartSeries[]>(() => [{ label: 'interruption rate', values: chart.percent, colour: '--warning', fill: true }], [chart]);
  const level = interruptionLevel(headline.rate);
  const tiles: { label: string; text: string; title?: string; tone?: string; testId?: string }[] = [
    { label: 'Traces', text: headline.traces.toLocaleString('en-US'), title: service ? `Traces with spans of ${service}` : 'Traces analyzed in the range' },
    { label: 'Broken', text: headline.brokenTraces.toLocaleString('en-US'), title: 'Traces with a span whose parent never arrived' },
    { label: 'Interruption rate', text: formatShare(headline.rate), tone: level, testId: 'interruption-rate' },
    ...(service ? [] : [{ label: 'Truncated', text: report.truncated_traces.toLocaleString('en-US'), title: 'Traces analyzed without all their spans' }]),
  ];
  return (
    <DiagnosticsSection
      id="interruptions"
      title="Trace interruptions"
      testId="interruptions-section"
      note="A trace is broken when one of its spans names a parent span that never arrived: context lost at a hop, an uninstrumented service, or spans dropped on the way."
    >
      <div class="interruption-tiles" aria-label="Interruption totals">
        {tiles.map((tile) => (
          <div class="stat-tile" key={tile.label} title={tile.title}>
            <div class="stat-label">{tile.label}</div>
            <div class={`stat-value${tile.tone && tile.tone !== 'ok' ? ` level-${tile.tone}` : ''}`} data-testid={tile.testId}>
              {tile.text}
            </div>
          </div>
        ))}
      </div>
      {chart.x.length > 1 && (
        <div class="interruption-chart">
          <MetricChart
            chart="interruptions"
            title="Interruption rate"
            description={`share of traces broken, per bucket${service ? `, traces with spans of ${service}` : ''}`}
            x={chart.x}
            series={series}
            format={formatPercentAxis}
            group={group}
            height={180}
            minTop={1}
          />
        </div>
      )}
      {report.services.length === 0 ? (
        <TableEmpty testId="interruption-services">No service in this range.</TableEmpty>
      ) : (
        <div class="table-scroll">
          <table class="data-table" data-testid="interruption-services" data-rows={report.services.length}>
            <caption class="visually-hidden">Interruption rate per service, highest first</caption>
            <thead>
              <tr>
                <th scope="col">Service</th>
                <th scope="col" class="num">
                  Traces
                </th>
                <th scope="col" class="num">
                  Broken
                </th>
                <th scope="col" class="num">
                  Rate
                </th>
                <th scope="col">Example broken traces</th>
              </tr>
            </thead>
            <tbody>
              {report.services.map((row) => {
                const rowLevel = interruptionLevel(row.interruption_rate);
                return (
                  <tr key={row.service} data-testid="interruption-row" data-service={row.service}>
                    <th scope="row" class="row-heading">
                      <ServiceBadge name={row.service} />
                    </th>
                    <td class="num">{row.traces.toLocaleString('en-US')}</td>
                    <td class="num">{row.broken_traces.toLocaleString('en-US')}</td>
                    <td class={`num${rowLevel !== 'ok' ? ` level-${rowLevel}` : ''}`}>{formatShare(row.interruption_rate)}</td>
                    <td>
                      <TraceLinks traceIds={row.broken_traces > 0 ? row.example_trace_ids : []} />
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </DiagnosticsSection>
  );
}

function Cycles({ cycles }: { cycles: GraphCycle[] }) {
  if (cycles.length === 0) return <TableEmpty testId="cycles">No cycles: no service is called back by a service it calls.</TableEmpty>;
  return (
    <div class="cycle-list" data-testid="cycles">
      {cycles.map((cycle) => (
        <div key={cycle.services.join('\u0000')} class="cycle" data-testid="cycle" data-services={cycle.services.join(',')}>
          <div class="cycle-services">
            {cycle.services.map((name, index) => (
              <span key={name}>
                {index > 0 && (
                  <span class="muted" aria-hidden="true">
                    {' \u21c4 '}
                  </span>
                )}
                <ServiceBadge name={name} />
              </span>
            ))}
          </div>
          <div class="table-scroll">
            <table class="data-table">
              <caption class="visually-hidden">Calls inside the cycle of {cycle.services.join(', ')}</caption>
              <thead>
                <tr>
                  <th scope="col">Caller</th>
                  <th scope="col">Callee</th>
                  <th scope="col" class="num">
                    Traces
                  </th>
                  <th scope="col">Example</th>
                </tr>
              </thead>
              <tbody>
                {cycle.edges.map((edge) => (
                  <tr key={`${edge.caller}\u0000${edge.callee}`}>
                    <td>
                      <ServiceBadge name={edge.caller} />
                    </td>
                    <td>
                      <ServiceBadge name={edge.callee} />
                    </td>
                    <td class="num">{edge.traces.toLocaleString('en-US')}</td>
                    <td>{edge.example_trace_id ? <TraceLink traceId={edge.example_trace_id} /> : <span class="muted">{'\u2014'}</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </div>
      ))}
    </div>
  );
}

function SlowestOperations({ rows }: { rows: OperationRow[] }) {
  if (rows.length === 0) return <TableEmpty testId="slowest-operations">No entry operations in this range.</TableEmpty>;
  return (
    <div class="table-scroll">
      <table class="data-table" data-testid="slowest-operations" data-rows={rows.length}>
        <caption class="visually-hidden">Slowest entry operations</caption>
        <thead>
          <tr>
            <th scope="col">Service</th>
            <th scope="col">Operation</th>
            <th scope="col" class="num">
              Calls
            </th>
            <th scope="col" class="num">
              Errors
            </th>
            <th scope="col" class="num">
              p50
            </th>
            <th scope="col" class="num">
              p99
            </th>
            <th scope="col" class="num">
              Max
            </th>
            <th scope="col">Slowest traces</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={`${row.service}\u0000${row.operation}`} data-testid="slowest-operation-row" data-service={row.service} data-operation={row.operation}>
              <td>
                <ServiceBadge name={row.service} />
              </td>
              <td>{row.operation}</td>
              <td class="num">{row.calls.toLocaleString('en-US')}</td>
              <td class={row.errors > 0 ? 'num error-text' : 'num'}>{row.errors.toLocaleString('en-US')}</td>
              <LatencyCells latency={row.latency} />
              <td>
                <SlowestLinks calls={row.slowest} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Failures({ rows, now }: { rows: FailureRow[]; now: number }) {
  if (rows.length === 0) return <TableEmpty testId="failures">No failing operation in this range.</TableEmpty>;
  return (
    <div class="table-scroll">
      <table class="data-table" data-testid="failures" data-rows={rows.length}>
        <caption class="visually-hidden">Failures by operation and status message</caption>
        <thead>
          <tr>
            <th scope="col">Where</th>
            <th scope="col">Status message</th>
            <th scope="col" class="num">
              Count
            </th>
            <th scope="col">Last seen</th>
            <th scope="col">Examples</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={`${row.service}\u0000${row.operation}\u0000${row.status_message}`} data-testid="failure-row">
              <td>
                <div class="finding-where">
                  <ServiceBadge name={row.service} />
                  <span>{row.operation}</span>
                </div>
              </td>
              <td class="finding-detail">{row.status_message || <span class="muted">(no message)</span>}</td>
              <td class="num error-text">{row.count.toLocaleString('en-US')}</td>
              <td class="muted">{formatUnixNanos(row.last_seen_unix_nanos, now)}</td>
              <td>
                <TraceLinks traceIds={row.example_trace_ids} max={2} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function Exceptions({ rows, now }: { rows: ExceptionRow[]; now: number }) {
  if (rows.length === 0) return <TableEmpty testId="exceptions">No exception recorded in this range.</TableEmpty>;
  return (
    <div class="table-scroll">
      <table class="data-table" data-testid="exceptions" data-rows={rows.length}>
        <caption class="visually-hidden">Recent exceptions, newest first</caption>
        <thead>
          <tr>
            <th scope="col">Time</th>
            <th scope="col">Where</th>
            <th scope="col">Exception</th>
            <th scope="col">Trace</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={`${row.trace_id}/${row.span_id}/${row.time_unix_nanos}`} data-testid="exception-row">
              <td class="muted">{formatUnixNanos(row.time_unix_nanos, now)}</td>
              <td>
                <div class="finding-where">
                  <ServiceBadge name={row.service} />
                  <span>{row.operation}</span>
                </div>
              </td>
              <td>
                <div class="finding-detail strong">{row.exception_type || '(no type)'}</div>
                {row.message && <div class="finding-message">{row.message}</div>}
              </td>
              <td>
                <TraceLink traceId={row.trace_id} spanId={row.span_id} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
