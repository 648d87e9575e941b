// Redis: the commands the analyzed traces sent, by command and key pattern (the key with its
// numbers, IDs and tokens replaced: `cart:user:{n}`), with calls, cache hit rate, slow calls,
// latency and the largest value; then the hottest keys and the biggest values, each with its
// trace. For every service or one; the URL keeps `service` and the range.
import { useMemo, useState } from 'preact/hooks';
import './diagnostics.css';
import { type ExampleCall, type HotKeyRow, type RedisCommandRow, fetchRedisStatistics, fetchServices } from '../api';
import { ErrorBanner, Loading, ServiceBadge, TimeRangePicker } from '../components/common';
import { DiagnosticsSection, EmptyReport, ServiceSelect, SlowestLinks, TableEmpty, TraceLink } from '../components/diagnostics-common';
import { SortHeader, useSort } from '../components/metric-table';
import { useApi } from '../hooks';
import { describeHitRate, describeHotKeyCount, formatBytes, formatNanos, formatUnixNanos, totalNanos } from '../lib/diagnostics';
import { sortRows } from '../lib/metrics-view';
import { describeTimeRange, type TimeRange, timeRangeFromQuery, timeRangeToQuery } from '../lib/time-range';
import { Link, navigate, urlWith } from '../router';

/** Command rows asked for. */
const COMMAND_LIMIT = 500;

type CommandSortKey = 'time' | 'calls' | 'hitRate' | 'errors' | 'slow' | 'p99' | 'maxValue';

export function RedisPage({ search }: { search: URLSearchParams }) {
  const range = timeRangeFromQuery(search);
  const rangeQuery = timeRangeToQuery(range);
  const rangeKey = JSON.stringify(rangeQuery);
  const service = search.get('service') ?? '';
  const [refresh, setRefresh] = useState(0);

  const services = useApi((signal) => fetchServices(signal), []);
  const report = useApi(
    (signal) => fetchRedisStatistics({ ...rangeQuery, ...(service ? { service } : {}), limit: COMMAND_LIMIT }, signal),
    [rangeKey, service, refresh],
  );

  const go = (changes: { range?: TimeRange; service?: string }) =>
    navigate(urlWith('/redis', { ...timeRangeToQuery(changes.range ?? range), service: (changes.service ?? service) || undefined }));

  const data = report.data;
  const empty = data && data.commands.length === 0 && data.hot_keys.length === 0 && data.big_keys.length === 0;
  const now = Date.now();
  return (
    <div class="diagnostics-page" data-testid="redis-page">
      <div class="page-heading">
        <h1>Redis</h1>
        <span class="muted">
          {describeTimeRange(range)}
          {service ? ` · ${service}` : ''}
        </span>
        <span class="heading-links">
          <Link href={urlWith('/diagnostics', { ...rangeQuery, service: service || undefined })}>Diagnostics →</Link>
          <Link href={urlWith('/database', { ...rangeQuery, service: service || undefined })}>Database statements →</Link>
        </span>
      </div>
      <div class="toolbar">
        <TimeRangePicker key={rangeKey} value={range} onChange={(next) => go({ range: next })} />
        <ServiceSelect value={service} services={services.data?.services ?? null} onChange={(next) => go({ service: next })} />
        <button type="button" class="secondary refresh" onClick={() => setRefresh((count) => count + 1)} data-testid="refresh">
          Refresh
        </button>
      </div>
      {services.status === 'failed' && <ErrorBanner error={services.error} title="The services could not be loaded" />}
      {report.status === 'failed' && <ErrorBanner error={report.error} title="The Redis statistics could not be loaded" />}
      {report.status === 'loading' && <Loading what="Loading the Redis statistics" />}
      {empty && (
        <EmptyReport
          range={range}
          path="/redis"
          service={service}
          noServices={services.status === 'ready' && services.data.services.length === 0}
          fallback={
            <TableEmpty testId="redis-commands">
              No Redis calls in the traces analyzed in {describeTimeRange(range).toLowerCase()}
              {service ? ` for ${service}` : ''}. Weft recognises them by <code>db.system</code> = <code>redis</code>.
            </TableEmpty>
          }
        />
      )}
      {data && !empty && (
        <>
          <DiagnosticsSection
            id="commands"
            title="Commands by key pattern"
            count={data.commands.length}
            testId="redis-commands-section"
            note={
              <>
                Keys are grouped by pattern: numbers become <code>{'{n}'}</code>, UUIDs <code>{'{uuid}'}</code>, other IDs{' '}
                <code>{'{id}'}</code>. Calls of {formatNanos(data.slow_threshold_nanos)} or more count as slow.
              </>
            }
          >
            <CommandsTable rows={data.commands} />
          </DiagnosticsSection>
          <div class="diagnostics-columns">
            <DiagnosticsSection id="hot-keys" title="Hot keys" count={data.hot_keys.length} testId="hot-keys-section" note="The most called keys (counted by a sketch: a count may be slightly high).">
              <HotKeys rows={data.hot_keys} />
            </DiagnosticsSection>
            <DiagnosticsSection id="big-keys" title="Big values" count={data.big_keys.length} testId="big-keys-section" note="The largest values read or written, each with its call.">
              <BigKeys rows={data.big_keys} now={now} />
            </DiagnosticsSection>
          </div>
        </>
      )}
    </div>
  );
}

function CommandsTable({ rows }: { rows: RedisCommandRow[] }) {
  const [sort, toggle] = useSort<CommandSortKey>('time', 'desc');
  const shown = useMemo(() => {
    const value = (row: RedisCommandRow): number | null => {
      switch (sort.key) {
        case 'time':
          return totalNanos(row.latency, row.calls);
        case 'calls':
          return row.calls;
        case 'hitRate':
          return row.hit_rate;
        case 'errors':
          return row.errors;
        case 'slow':
          return row.slow_calls;
        case 'p99':
          return row.latency.p99_nanos;
        case 'maxValue':
          return row.max_value_size_bytes;
      }
    };
    return sortRows(rows, value, sort.direction, (row) => `${row.service}\u0000${row.command}\u0000${row.key_pattern}`);
  }, [rows, sort]);
  if (shown.length === 0) return <TableEmpty testId="redis-commands">No Redis commands in this range.</TableEmpty>;
  return (
    <div class="table-scroll">
      <table class="data-table" data-testid="redis-commands" data-rows={shown.length}>
        <caption class="visually-hidden">Redis commands by key pattern</caption>
        <thead>
          <tr>
            <th scope="col">Command and key pattern</th>
            <th scope="col">Service</th>
            <SortHeader column="time" sort={sort} onSort={toggle} numeric title="time spent in all calls: mean × calls">
              Time
            </SortHeader>
            <SortHeader column="calls" sort={sort} onSort={toggle} numeric>
              Calls
            </SortHeader>
            <SortHeader column="hitRate" sort={sort} onSort={toggle} numeric title="hits / (hits + misses), from the cache.hit attribute">
              Hit rate
            </SortHeader>
            <SortHeader column="errors" sort={sort} onSort={toggle} numeric>
              Errors
            </SortHeader>
            <SortHeader column="slow" sort={sort} onSort={toggle} numeric>
              Slow
            </SortHeader>
            <th scope="col" class="num">
              p50
            </th>
            <SortHeader column="p99" sort={sort} onSort={toggle} numeric>
              p99
            </SortHeader>
            <SortHeader column="maxValue" sort={sort} onSort={toggle} numeric>
              Max value
            </SortHeader>
            <th scope="col">Slowest calls</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((row) => {
            const hitRate = describeHitRate(row);
            return (
              <tr
                key={`${row.service}\u0000${row.command}\u0000${row.key_pattern}`}
                data-testid="redis-command-row"
                data-command={row.command}
                data-key-pattern={row.key_pattern}
                data-calls={row.calls}
              >
                <th scope="row">
                  <span class="strong mono">{row.command}</span> <span class="key-pattern">{row.key_pattern || <span class="muted">(no key)</span>}</span>
                </th>
                <td>
                  <ServiceBadge name={row.service} />
                </td>
                <td class="num">{formatNanos(totalNanos(row.latency, row.calls))}</td>
                <td class="num">{row.calls.toLocaleString('en-US')}</td>
                <td class="num" title={hitRate.title} data-testid="hit-rate">
                  {hitRate.text}
                </td>
                <td class={row.errors > 0 ? 'num error-text' : 'num'}>{row.errors.toLocaleString('en-US')}</td>
                <td class={row.slow_calls > 0 ? 'num level-warning' : 'num'}>{row.slow_calls.toLocaleString('en-US')}</td>
                <td class="num">{formatNanos(row.latency.p50_nanos)}</td>
                <td class="num strong">{formatNanos(row.latency.p99_nanos)}</td>
                <td class="num">{row.max_value_size_bytes > 0 ? formatBytes(row.max_value_size_bytes) : <span class="muted">{'\u2014'}</span>}</td>
                <td>
                  <SlowestLinks calls={row.slowest} />
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function HotKeys({ rows }: { rows: HotKeyRow[] }) {
  if (rows.length === 0) return <TableEmpty testId="hot-keys">No keys counted in this range.</TableEmpty>;
  return (
    <div class="table-scroll">
      <table class="data-table" data-testid="hot-keys" data-rows={rows.length}>
        <caption class="visually-hidden">The most called Redis keys</caption>
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Service</th>
            <th scope="col" class="num">
              Calls
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => {
            const count = describeHotKeyCount(row);
            return (
              <tr key={`${row.service}\u0000${row.key}`} data-testid="hot-key-row">
                <th scope="row" class="key-pattern">
                  {row.key}
                </th>
                <td>
                  <ServiceBadge name={row.service} />
                </td>
                <td class="num" title={count.title}>
                  {count.text}
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

function BigKeys({ rows, now }: { rows: ExampleCall[]; now: number }) {
  if (rows.length === 0) return <TableEmpty testId="big-keys">No value sizes recorded in this range.</TableEmpty>;
  return (
    <div class="table-scroll">
      <table class="data-table" data-testid="big-keys" data-rows={rows.length}>
        <caption class="visually-hidden">The largest Redis values, each with its call</caption>
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col" class="num">
              Size
            </th>
            <th scope="col" class="num">
              Duration
            </th>
            <th scope="col">When</th>
            <th scope="col">Trace</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={`${row.trace_id}/${row.span_id}`} data-testid="big-key-row">
              <th scope="row" class="key-pattern">
                {row.key || <span class="muted">(no key)</span>}
              </th>
              <td class="num strong">{formatBytes(row.value_size_bytes)}</td>
              <td class="num">{formatNanos(row.duration_nanos)}</td>
              <td class="muted">{formatUnixNanos(row.start_unix_nanos, now)}</td>
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
