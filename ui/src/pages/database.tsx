// Database: the statements the analyzed traces ran, by fingerprint (literals replaced by `?`),
// with calls, errors, slow calls, latency, the endpoints that run them and their slowest calls;
// then the tables they touch. For every service or one; the URL keeps `service` and the range.
import { useMemo, useState } from 'preact/hooks';
import './diagnostics.css';
import { type StatementRow, type TableRow, fetchDatabaseStatistics, fetchServices } from '../api';
import { ErrorBanner, Loading, ServiceBadge, TimeRangePicker } from '../components/common';
import { DiagnosticsSection, EmptyReport, LatencyCells, ServiceSelect, SlowestLinks, TableEmpty } from '../components/diagnostics-common';
import { SortHeader, useSort } from '../components/metric-table';
import { useApi } from '../hooks';
import { describeStatementTarget, formatNanos, statementMatches, topEndpoints, totalNanos } from '../lib/diagnostics';
import { sortRows } from '../lib/metrics-view';
import { describeTimeRange, type TimeRange, timeRangeFromQuery, timeRangeToQuery } from '../lib/time-range';
import { Link, navigate, urlWith } from '../router';

/** Statements asked for; the server ranks them by time spent. */
const STATEMENT_LIMIT = 500;
/** Endpoints listed per statement. */
const ENDPOINTS_SHOWN = 3;

type StatementSortKey = 'time' | 'calls' | 'errors' | 'slow' | 'p50' | 'p99' | 'max';

export function DatabasePage({ search }: { search: URLSearchParams }) {
  const range = timeRangeFromQuery(search);
  const rangeQuery = timeRangeToQuery(range);
  const rangeKey = JSON.stringify(rangeQuery);
  const service = search.get('service') ?? '';
  const [refresh, setRefresh] = useState(0);
  const [filter, setFilter] = useState('');

  const services = useApi((signal) => fetchServices(signal), []);
  const report = useApi(
    (signal) => fetchDatabaseStatistics({ ...rangeQuery, ...(service ? { service } : {}), limit: STATEMENT_LIMIT }, signal),
    [rangeKey, service, refresh],
  );

  const go = (changes: { range?: TimeRange; service?: string }) =>
    navigate(urlWith('/database', { ...timeRangeToQuery(changes.range ?? range), service: (changes.service ?? service) || undefined }));

  const empty = report.data && report.data.statements.length === 0 && report.data.tables.length === 0;
  return (
    <div class="diagnostics-page" data-testid="database-page">
      <div class="page-heading">
        <h1>Database</h1>
        <span class="muted">
          {describeTimeRange(range)}
          {service ? ` · ${service}` : ''}
        </span>
        <span class="heading-links">
          <Link href={urlWith('/diagnostics', { ...rangeQuery, service: service || undefined })}>Diagnostics →</Link>
          <Link href={urlWith('/redis', { ...rangeQuery, service: service || undefined })}>Redis commands →</Link>
        </span>
      </div>
      <div class="toolbar">
        <TimeRangePicker key={rangeKey} value={range} onChange={(next) => go({ range: next })} />
        <ServiceSelect value={service} services={services.data?.services ?? null} onChange={(next) => go({ service: next })} />
        <label class="statement-filter">
          <span class="field-label">Filter statements</span>
          <input
            type="search"
            value={filter}
            placeholder="text in the statement, table or service"
            aria-label="Filter statements"
            data-testid="statement-filter"
            onInput={(event) => setFilter((event.currentTarget as HTMLInputElement).value)}
          />
        </label>
        <button type="button" class="secondary refresh" onClick={() => setRefresh((count) => count + 1)} data-testid="refresh">
          Refresh
        </button>
      </div>
      {services.status === 'failed' && <ErrorBanner error={services.error} title="The services could not be loaded" />}
      {report.status === 'failed' && <ErrorBanner error={report.error} title="The database statistics could not be loaded" />}
      {report.status === 'loading' && <Loading what="Loading the database statistics" />}
      {empty && (
        <EmptyReport
          range={range}
          path="/database"
          service={service}
          noServices={services.status === 'ready' && services.data.services.length === 0}
          fallback={
            <TableEmpty testId="statements-table">
              No database calls in the traces analyzed in {describeTimeRange(range).toLowerCase()}
              {service ? ` for ${service}` : ''}. Weft recognises database client spans by their <code>db.system</code> attribute.
            </TableEmpty>
          }
        />
      )}
      {report.data && !empty && (
        <>
          <DiagnosticsSection
            id="statements"
            title="Statements"
            count={report.data.statements.length}
            testId="statements-section"
            note={
              <>
                By fingerprint, the statement with its literals replaced by <code>?</code>; most time spent first. Calls of{' '}
                {formatNanos(report.data.slow_threshold_nanos)} or more count as slow.
              </>
            }
          >
            <StatementsTable rows={report.data.statements} filter={filter} />
          </DiagnosticsSection>
          <DiagnosticsSection id="tables" title="Tables" count={report.data.tables.length} testId="tables-section">
            <TablesTable rows={report.data.tables} />
          </DiagnosticsSection>
        </>
      )}
    </div>
  );
}

function StatementsTable({ rows, filter }: { rows: StatementRow[]; filter: string }) {
  const [sort, toggle] = useSort<StatementSortKey>('time', 'desc');
  const shown = useMemo(() => {
    const value = (row: StatementRow): number => {
      switch (sort.key) {
        case 'time':
          return totalNanos(row.latency, row.calls);
        case 'calls':
          return row.calls;
        case 'errors':
          return row.errors;
        case 'slow':
          return row.slow_calls;
        case 'p50':
          return row.latency.p50_nanos;
        case 'p99':
          return row.latency.p99_nanos;
        case 'max':
          return row.latency.max_nanos;
      }
    };
    const matching = rows.filter((row) => statementMatches(row, filter));
    return sortRows(matching, value, sort.direction, (row) => `${row.service}\u0000${row.fingerprint}`);
  }, [rows, filter, sort]);
  if (shown.length === 0) return <TableEmpty testId="statements-table">No statement matches “{filter.trim()}”.</TableEmpty>;
  return (
    <div class="table-scroll">
      <table class="data-table" data-testid="statements-table" data-rows={shown.length}>
        <caption class="visually-hidden">Database statements by fingerprint</caption>
        <thead>
          <tr>
            <th scope="col">Statement</th>
            <th scope="col">Service</th>
            <SortHeader column="time" sort={sort} onSort={toggle} numeric title="time spent in all calls: mean × calls">
              Time
            </SortHeader>
            <SortHeader column="calls" sort={sort} onSort={toggle} numeric>
              Calls
            </SortHeader>
            <SortHeader column="errors" sort={sort} onSort={toggle} numeric>
              Errors
            </SortHeader>
            <SortHeader column="slow" sort={sort} onSort={toggle} numeric>
              Slow
            </SortHeader>
            <SortHeader column="p50" sort={sort} onSort={toggle} numeric>
              p50
            </SortHeader>
            <SortHeader column="p99" sort={sort} onSort={toggle} numeric>
              p99
            </SortHeader>
            <SortHeader column="max" sort={sort} onSort={toggle} numeric>
              Max
            </SortHeader>
            <th scope="col">Endpoints</th>
            <th scope="col">Slowest calls</th>
          </tr>
        </thead>
        <tbody>
          {shown.map((row) => {
            const endpoints = topEndpoints(row.endpoints, ENDPOINTS_SHOWN);
            return (
              <tr
                key={`${row.service}\u0000${row.system}\u0000${row.database}\u0000${row.fingerprint}`}
                data-testid="statement-row"
                data-service={row.service}
                data-system={row.system}
                data-calls={row.calls}
              >
                <th scope="row">
                  <div class="fingerprint" data-testid="statement-fingerprint">
                    {row.fingerprint}
                  </div>
                  <div class="statement-target muted">
                    {row.operation && <span class="strong">{row.operation}</span>} {describeStatementTarget(row)}
                  </div>
                </th>
                <td>
                  <ServiceBadge name={row.service} />
                </td>
                <td class="num">{formatNanos(totalNanos(row.latency, row.calls))}</td>
                <td class="num" data-testid="statement-calls">
                  {row.calls.toLocaleString('en-US')}
                </td>
                <td class={row.errors > 0 ? 'num error-text' : 'num'}>{row.errors.toLocaleString('en-US')}</td>
                <td class={row.slow_calls > 0 ? 'num level-warning' : 'num'}>{row.slow_calls.toLocaleString('en-US')}</td>
                <LatencyCells latency={row.latency} />
                <td>
                  {endpoints.shown.length === 0 ? (
                    <span class="muted">{'\u2014'}</span>
                  ) : (
                    <ul class="endpoint-list">
                      {endpoints.shown.map((endpoint) => (
                        <li key={`${endpoint.service}\u0000${endpoint.operation}`} title={`${endpoint.calls.toLocaleString('en-US')} calls from traces rooted here`}>
                          <span class="strong">{endpoint.service}</span> {endpoint.operation}{' '}
                          <span class="muted">({endpoint.calls.toLocaleString('en-US')})</span>
                        </li>
                      ))}
                      {endpoints.more > 0 && <li class="muted">and {endpoints.more} more</li>}
                    </ul>
                  )}
                </td>
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

function TablesTable({ rows }: { rows: TableRow[] }) {
  if (rows.length === 0) return <TableEmpty testId="tables-table">No statement named a table.</TableEmpty>;
  return (
    <div class="table-scroll">
      <table class="data-table" data-testid="tables-table" data-rows={rows.length}>
        <caption class="visually-hidden">Tables the statements touch</caption>
        <thead>
          <tr>
            <th scope="col">Table</th>
            <th scope="col">System</th>
            <th scope="col">Database</th>
            <th scope="col" class="num">
              Calls
            </th>
            <th scope="col" class="num">
              Errors
            </th>
            <th scope="col" class="num">
              Slow
            </th>
            <th scope="col" class="num">
              Statements
            </th>
          </tr>
        </thead>
        <tbody>
          {rows.map((row) => (
            <tr key={`${row.system}\u0000${row.database}\u0000${row.table}`} data-testid="table-row" data-table={row.table}>
              <th scope="row" class="mono">
                {row.table}
              </th>
              <td>{row.system}</td>
              <td>{row.database || <span class="muted">{'\u2014'}</span>}</td>
              <td class="num">{row.calls.toLocaleString('en-US')}</td>
              <td class={row.errors > 0 ? 'num error-text' : 'num'}>{row.errors.toLocaleString('en-US')}</td>
              <td class={row.slow_calls > 0 ? 'num level-warning' : 'num'}>{row.slow_calls.toLocaleString('en-US')}</td>
              <td class="num">{row.statements.toLocaleString('en-US')}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
