// The service map: who calls whom in a time range, from the topology Weft derives on the stream.
// A graph to look at and click through to a service's dashboard, and the same nodes and edges as
// tables to read, sort and link from.
import { useMemo, useState } from 'preact/hooks';
import './service-map.css';
import { fetchServices, fetchTopology, type MetricWindow } from '../api';
import { ServiceGraph } from '../components/graph-service-map';
import { ErrorRate, SortHeader, useSort } from '../components/metric-table';
import { EmptyState, ErrorBanner, Loading, NoDataYet, ServiceBadge, TimeRangePicker } from '../components/common';
import { useApi } from '../hooks';
import { Link, navigate, urlWith } from '../router';
import { describeTimeRange, type TimeRange, timeRangeFromQuery, timeRangeToQuery } from '../lib/time-range';
import { buildMapGraph, formatCount, formatMillis, formatRate, type MapEdge, type MapNode, sortRows } from '../lib/metrics-view';

const HOPS = ['1', '2', '3', '4'];

export function ServiceMapPage({ search }: { search: URLSearchParams }) {
  const range = timeRangeFromQuery(search);
  const rangeQuery = timeRangeToQuery(range);
  const rangeKey = JSON.stringify(rangeQuery);
  const focus = search.get('service') ?? '';
  const hops = HOPS.includes(search.get('hops') ?? '') ? search.get('hops')! : '1';
  const [highlight, setHighlight] = useState<string | null>(null);

  const topology = useApi(
    (signal) => fetchTopology({ ...rangeQuery, ...(focus ? { service: focus, hops: Number(hops) } : {}) }, signal),
    [rangeKey, focus, hops],
  );
  const services = useApi((signal) => fetchServices(signal), []);
  const graph = useMemo(() => (topology.data ? buildMapGraph(topology.data.nodes, topology.data.edges) : null), [topology.data]);

  const go = (changes: { range?: TimeRange; service?: string; hops?: string }) => {
    const nextRange = changes.range ?? range;
    const nextService = changes.service ?? focus;
    navigate(
      urlWith('/map', {
        ...timeRangeToQuery(nextRange),
        service: nextService || undefined,
        hops: nextService && (changes.hops ?? hops) !== '1' ? (changes.hops ?? hops) : undefined,
      }),
    );
  };
  const dashboardHref = (service: string) => urlWith(`/services/${encodeURIComponent(service)}`, rangeQuery);

  const serviceOptions = services.data?.services ?? [];
  return (
    <div class="service-map-page">
      <div class="page-heading">
        <h1>Service map</h1>
        <span class="muted">
          {describeTimeRange(range)}
          {topology.data && <WindowNote window={topology.data} />}
        </span>
      </div>
      <div class="toolbar">
        {/* Keyed by the range: the picker's inputs start from it, so back/forward must renew them. */}
        <TimeRangePicker key={rangeKey} value={range} onChange={(next) => go({ range: next })} />
        <label>
          <span class="field-label">Focus on service</span>
          <select aria-label="Focus on service" value={focus} onChange={(event) => go({ service: (event.currentTarget as HTMLSelectElement).value })}>
            <option value="">All services</option>
            {[...new Set([...serviceOptions, ...(focus ? [focus] : [])])].sort().map((name) => (
              <option key={name} value={name}>
                {name}
              </option>
            ))}
          </select>
        </label>
        <label>
          <span class="field-label">Hops</span>
          <select aria-label="Hops" value={hops} disabled={!focus} onChange={(event) => go({ hops: (event.currentTarget as HTMLSelectElement).value })}>
            {HOPS.map((value) => (
              <option key={value} value={value}>
                {value} {value === '1' ? 'hop' : 'hops'}
              </option>
            ))}
          </select>
        </label>
        {focus && (
          <button type="button" class="secondary" onClick={() => go({ service: '' })}>
            Show all services
          </button>
        )}
      </div>

      {topology.status === 'failed' && <ErrorBanner error={topology.error} title="The service map could not be loaded" />}
      {topology.status === 'loading' && <Loading what="Loading the service map" />}
      {graph && graph.nodes.length === 0 && !focus && <NoDataYet />}
      {graph && graph.nodes.length === 0 && focus && (
        <EmptyState title={`No calls around ${focus}`}>
          <p>
            Weft saw no calls from or to <code>{focus}</code> in {describeTimeRange(range).toLowerCase()}. Widen the time range, or{' '}
            <Link href={urlWith('/map', rangeQuery)}>show all services</Link>.
          </p>
        </EmptyState>
      )}
      {graph && graph.nodes.length > 0 && (
        <>
          <ServiceGraph
            nodes={graph.nodes}
            edges={graph.edges}
            {...(focus ? { focus } : {})}
            highlight={highlight}
            onOpenService={(service) => navigate(dashboardHref(service))}
          />
          <div class="map-tables">
            <section class="map-table-section" aria-labelledby="map-edges-heading">
              <h2 id="map-edges-heading">
                Calls <span class="muted count">{graph.edges.length}</span>
              </h2>
              <EdgeTable edges={graph.edges} dashboardHref={dashboardHref} onHighlight={setHighlight} />
            </section>
            <section class="map-table-section map-nodes-section" aria-labelledby="map-nodes-heading">
              <h2 id="map-nodes-heading">
                Services <span class="muted count">{graph.nodes.length}</span>
              </h2>
              <NodeTable nodes={graph.nodes} dashboardHref={dashboardHref} onHighlight={setHighlight} />
            </section>
          </div>
        </>
      )}
    </div>
  );
}

function WindowNote({ window }: { window: MetricWindow }) {
  return <span title={`Answered from ${window.resolution} buckets`}> · {window.resolution} buckets</span>;
}

type EdgeSortKey = 'caller' | 'callee' | 'calls' | 'errorRate' | 'p50' | 'p99';

function EdgeTable({ edges, dashboardHref, onHighlight }: { edges: MapEdge[]; dashboardHref: (service: string) => string; onHighlight: (id: string | null) => void }) {
  const [sort, toggle] = useSort<EdgeSortKey>('caller', 'asc');
  const value = (edge: MapEdge): number | string | null => {
    switch (sort.key) {
      case 'caller':
        return `${edge.caller}\u0000${edge.callee}`;
      case 'callee':
        return `${edge.callee}\u0000${edge.caller}`;
      case 'calls':
        return edge.stats.calls;
      case 'errorRate':
        return edge.stats.errorRate;
      case 'p50':
        return edge.stats.p50Millis;
      case 'p99':
        return edge.stats.p99Millis;
    }
  };
  const rows = sortRows(edges, value, sort.direction, (edge) => edge.id);
  return (
    <div class="table-scroll">
      <table class="data-table" data-testid="map-edge-table">
        <thead>
          <tr>
            <SortHeader column="caller" sort={sort} onSort={toggle} firstDirection="asc">
              Caller
            </SortHeader>
            <SortHeader column="callee" sort={sort} onSort={toggle} firstDirection="asc">
              Callee
            </SortHeader>
            <SortHeader column="calls" sort={sort} onSort={toggle} numeric>
              Calls/s
            </SortHeader>
            <SortHeader column="errorRate" sort={sort} onSort={toggle} numeric title="share of calls that failed, seen by the callee (by the caller for an uninstrumented peer)">
              Error rate
            </SortHeader>
            <SortHeader column="p50" sort={sort} onSort={toggle} numeric>
              p50
            </SortHeader>
            <SortHeader column="p99" sort={sort} onSort={toggle} numeric>
              p99
            </SortHeader>
          </tr>
        </thead>
        <tbody>
          {rows.map((edge) => (
            <tr
              key={edge.id}
              data-testid="map-edge-row"
              data-caller={edge.caller}
              data-callee={edge.callee}
              onMouseEnter={() => onHighlight(edge.id)}
              onMouseLeave={() => onHighlight(null)}
            >
              <td>
                <Link href={dashboardHref(edge.caller)} class="plain-link">
                  <ServiceBadge name={edge.caller} />
                </Link>
              </td>
              <td>
                {!edge.calleeUninstrumented ? (
                  <Link href={dashboardHref(edge.callee)} class="plain-link">
                    <ServiceBadge name={edge.callee} />
                  </Link>
                ) : (
                  <span class="peer-name" title="uninstrumented peer">
                    {edge.callee}
                  </span>
                )}
              </td>
              <td class="num" title={`${formatCount(edge.stats.calls)} calls`}>
                {formatRate(edge.stats.callsPerSecond)}
              </td>
              <td class="num">
                <ErrorRate rate={edge.stats.errorRate} errors={edge.stats.errors} />
              </td>
              <td class="num">{formatMillis(edge.stats.p50Millis)}</td>
              <td class="num">{formatMillis(edge.stats.p99Millis)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

type NodeSortKey = 'service' | 'calls' | 'errorRate' | 'p99';

function NodeTable({ nodes, dashboardHref, onHighlight }: { nodes: MapNode[]; dashboardHref: (service: string) => string; onHighlight: (id: string | null) => void }) {
  const [sort, toggle] = useSort<NodeSortKey>('calls', 'desc');
  const value = (node: MapNode): number | string | null => {
    switch (sort.key) {
      case 'service':
        return node.service;
      case 'calls':
        return node.stats.calls;
      case 'errorRate':
        return node.stats.errorRate;
      case 'p99':
        return node.stats.p99Millis;
    }
  };
  const rows = sortRows(nodes, value, sort.direction, (node) => node.id);
  return (
    <div class="table-scroll">
      <table class="data-table" data-testid="map-node-list">
        <thead>
          <tr>
            <SortHeader column="service" sort={sort} onSort={toggle} firstDirection="asc">
              Service
            </SortHeader>
            <SortHeader column="calls" sort={sort} onSort={toggle} numeric title="calls served (server and consumer spans; for a peer, the calls made to it)">
              Calls/s
            </SortHeader>
            <SortHeader column="errorRate" sort={sort} onSort={toggle} numeric>
              Error rate
            </SortHeader>
            <SortHeader column="p99" sort={sort} onSort={toggle} numeric>
              p99
            </SortHeader>
          </tr>
        </thead>
        <tbody>
          {rows.map((node) => (
            <tr
              key={node.id}
              data-testid="map-node-row"
              data-service={node.service}
              data-uninstrumented={node.uninstrumented ? 'true' : 'false'}
              onMouseEnter={() => onHighlight(node.id)}
              onMouseLeave={() => onHighlight(null)}
            >
              <td>
                {node.uninstrumented ? (
                  <span class="peer-name" title="uninstrumented peer: no spans of its own, seen from its callers">
                    {node.service} <span class="peer-tag">peer</span>
                  </span>
                ) : (
                  <Link href={dashboardHref(node.service)} class="plain-link" data-testid="map-node-link">
                    <ServiceBadge name={node.service} />
                  </Link>
                )}
              </td>
              <td class="num" title={`${formatCount(node.stats.calls)} calls`}>
                {formatRate(node.stats.callsPerSecond)}
              </td>
              <td class="num">
                <ErrorRate rate={node.stats.errorRate} errors={node.stats.errors} />
              </td>
              <td class="num">{formatMillis(node.stats.p99Millis)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
