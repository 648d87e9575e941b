// Pieces the diagnostics pages (Diagnostics, Database, Redis) share: the service filter, trace
// links, finding badges, latency cells, section frames and the "nothing analyzed yet" states.
import type { ComponentChildren } from 'preact';
import { type AssemblerStatus, type ExampleCall, type LatencySummary, fetchDiagnosticsOverview } from '../api';
import { useApi } from '../hooks';
import {
  type AnalysisState,
  analysisState,
  describeAssembler,
  describeFindingKind,
  formatNanos,
  formatTimeout,
  shortTraceId,
  traceHref,
} from '../lib/diagnostics';
import { type TimeRange, describeTimeRange, timeRangeToQuery } from '../lib/time-range';
import { Link, urlWith } from '../router';
import { EmptyState, NoDataYet } from './common';

/** A select of every known service, "All services" first; keeps a typed-in service that is not (yet) known. */
export function ServiceSelect({ value, services, onChange }: { value: string; services: readonly string[] | null; onChange: (service: string) => void }) {
  const names = [...new Set([...(services ?? []), ...(value ? [value] : [])])].sort();
  return (
    <label>
      <span class="field-label">Service</span>
      <select aria-label="Service" value={value} data-testid="service-filter" onChange={(event) => onChange((event.currentTarget as HTMLSelectElement).value)}>
        <option value="">All services</option>
        {names.map((name) => (
          <option key={name} value={name}>
            {name}
          </option>
        ))}
      </select>
    </label>
  );
}

/** A link to a trace (selecting `spanId` when given), showing the first 16 hex digits. */
export function TraceLink({ traceId, spanId, label, testId = 'trace-link' }: { traceId: string; spanId?: string; label?: string; testId?: string }) {
  return (
    <Link
      href={traceHref(traceId, spanId)}
      class="mono trace-link"
      title={spanId ? `Open trace ${traceId} at span ${spanId}` : `Open trace ${traceId}`}
      data-testid={testId}
    >
      {label ?? shortTraceId(traceId)}
    </Link>
  );
}

/** Up to `max` example traces, newest first as the server lists them. */
export function TraceLinks({ traceIds, max = 3, testId }: { traceIds: readonly string[]; max?: number; testId?: string }) {
  if (traceIds.length === 0) return <span class="muted">{'\u2014'}</span>;
  const shown = traceIds.slice(0, max);
  return (
    <span class="trace-links">
      {shown.map((traceId) => (
        <TraceLink key={traceId} traceId={traceId} {...(testId ? { testId } : {})} />
      ))}
      {traceIds.length > max && <span class="muted"> +{traceIds.length - max}</span>}
    </span>
  );
}

/** Links to the slowest example calls, each selecting its span, with the duration as the label. */
export function SlowestLinks({ calls, max = 3 }: { calls: readonly ExampleCall[]; max?: number }) {
  if (calls.length === 0) return <span class="muted">{'\u2014'}</span>;
  return (
    <span class="trace-links">
      {calls.slice(0, max).map((call) => (
        <TraceLink key={`${call.trace_id}/${call.span_id}`} traceId={call.trace_id} spanId={call.span_id} label={formatNanos(call.duration_nanos)} testId="slowest-link" />
      ))}
    </span>
  );
}

/** A finding kind as a coloured badge (the server's title, the kind's meaning as tooltip). */
export function FindingKindBadge({ kind, title }: { kind: string; title?: string }) {
  const shown = describeFindingKind(kind, title);
  return (
    <span class={`tone-badge tone-${shown.tone}`} title={shown.description} data-testid="finding-kind" data-kind={kind}>
      {shown.label}
    </span>
  );
}

/** p50, p99 and max cells of a latency summary. */
export function LatencyCells({ latency }: { latency: LatencySummary }) {
  return (
    <>
      <td class="num">{formatNanos(latency.p50_nanos)}</td>
      <td class="num strong">{formatNanos(latency.p99_nanos)}</td>
      <td class="num">{formatNanos(latency.max_nanos)}</td>
    </>
  );
}

/** A titled section of a diagnostics page; `count` goes after the title. */
export function DiagnosticsSection({
  id,
  title,
  count,
  note,
  testId,
  children,
}: {
  id: string;
  title: string;
  count?: number | string | undefined;
  note?: ComponentChildren;
  testId?: string;
  children: ComponentChildren;
}) {
  return (
    <section class="diagnostics-section" aria-labelledby={`${id}-heading`} data-testid={testId}>
      <h2 id={`${id}-heading`}>
        {title} {count !== undefined && <span class="muted count">{typeof count === 'number' ? count.toLocaleString('en-US') : count}</span>}
      </h2>
      {note && <p class="muted section-note">{note}</p>}
      {children}
    </section>
  );
}

/** A table's empty line. */
export function TableEmpty({ children, testId }: { children: ComponentChildren; testId?: string }) {
  return (
    <p class="muted table-empty" data-testid={testId} data-rows="0">
      {children}
    </p>
  );
}

/** The assembler's state in one line, with warnings when spans or traces were not analyzed as they arrived. */
export function AssemblerLine({ assembler }: { assembler: AssemblerStatus }) {
  const described = describeAssembler(assembler);
  return (
    <div class="assembler-line" data-testid="assembler-status">
      <span>{described.summary}.</span> <span class="muted">{described.waiting}.</span>
      {described.warnings.length > 0 && (
        <ul class="assembler-warnings" role="status">
          {described.warnings.map((warning) => (
            <li key={warning}>{warning}</li>
          ))}
        </ul>
      )}
    </div>
  );
}

/**
 * The empty state when there is nothing to show: no spans at all (how to send some), nothing
 * analyzed yet (traces wait for the inactivity timeout), or nothing in this range.
 */
export function NothingAnalyzed({
  state,
  assembler,
  range,
  path,
  noServices,
  service,
}: {
  state: Exclude<AnalysisState, 'ready'>;
  assembler: AssemblerStatus | null;
  range: TimeRange;
  path: string;
  noServices: boolean;
  service: string;
}) {
  if (noServices && state === 'nothing-analyzed') return <NoDataYet />;
  const timeout = assembler ? formatTimeout(assembler.inactivityTimeoutSeconds) : 'the inactivity timeout';
  if (state === 'nothing-analyzed') {
    return (
      <EmptyState title="No traces analyzed yet" testId="nothing-analyzed">
        <p>
          Weft analyzes a trace once no span has arrived for it for {timeout} (<code>--trace-inactivity-timeout</code>), then
          looks for findings and collects database, Redis and operation statistics.
          {assembler && assembler.openTraces > 0 && (
            <>
              {' '}
              {assembler.openTraces.toLocaleString('en-US')} {assembler.openTraces === 1 ? 'trace is' : 'traces are'} waiting now.
            </>
          )}{' '}
          Refresh in a moment.
        </p>
      </EmptyState>
    );
  }
  return (
    <EmptyState title="Nothing analyzed in this time range" testId="nothing-in-range">
      <p>
        Weft analyzed no trace{service ? <> touching <code>{service}</code></> : null} in {describeTimeRange(range).toLowerCase()}. Traces are
        analyzed {timeout} after their last span, and the statistics are kept for a limited time (<code>--diagnostics-retention</code>).
      </p>
      <ul>
        <li>
          <Link href={urlWith(path, { ...(service ? { service } : {}), lookback: '6h' })}>Look at the last 6 hours</Link>
        </li>
        {service && (
          <li>
            <Link href={urlWith(path, timeRangeToQuery(range))}>Show all services</Link>
          </li>
        )}
      </ul>
    </EmptyState>
  );
}

/**
 * For a page whose own report is empty: asks the overview (one row per list) whether anything
 * was analyzed at all, and shows the fitting empty state, or `fallback` when traces were
 * analyzed in the range but none had what this page counts.
 */
export function EmptyReport({
  range,
  path,
  service,
  noServices,
  fallback,
}: {
  range: TimeRange;
  path: string;
  service: string;
  noServices: boolean;
  fallback: ComponentChildren;
}) {
  const rangeQuery = timeRangeToQuery(range);
  const overview = useApi((signal) => fetchDiagnosticsOverview({ ...rangeQuery, limit: 1 }, signal), [JSON.stringify(rangeQuery)]);
  if (overview.status !== 'ready') return <>{fallback}</>;
  const { assembler, interruptions } = overview.data;
  const state = analysisState(assembler, interruptions.traces);
  if (state === 'ready') return <>{fallback}</>;
  return (
    <NothingAnalyzed
      state={state}
      assembler={assembler}
      range={range}
      path={path}
      noServices={noServices}
      service={service}
    />
  );
}
