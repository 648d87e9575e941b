//! Service topology from the span stream, sans I/O: a client (or producer) span in one service
//! paired with the server (or consumer) span it caused in another is one call on the edge
//! between them. Either side may arrive first: the side that arrives first waits in a bounded
//! table until its partner comes or its wait times out. A client span that times out unpaired
//! but names the peer it called (`peer.service`, a database, a messaging destination,
//! `server.address`) is a call to that uninstrumented peer; other unpaired spans are counted.

use std::collections::{BTreeMap, VecDeque};

use hashbrown::HashMap;
use serde::{Deserialize, Serialize};
use weft_model::{find_attribute, AttributeValue, Span, SpanId, SpanKind, StatusCode, TraceId};

use crate::Bucket;

/// One directed edge between two operations. Service-level edges are the merge of the
/// operation-level ones with the same services.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct EdgeKey {
    pub client_service: String,
    pub client_operation: String,
    /// The server's service, or the peer's name for an uninstrumented peer.
    pub server_service: String,
    /// The server span's name; empty for an uninstrumented peer.
    pub server_operation: String,
    /// True when the server side is a peer named by the client's attributes, not a span.
    pub uninstrumented: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopologyConfig {
    pub bucket_seconds: u64,
    /// How long a span waits for its partner, by the topology's clock.
    pub pairing_timeout_nanos: u64,
    /// The clock is the latest span end seen (true: deterministic, for tests and replays of
    /// recorded traffic) or what [`Topology::advance_clock`] is told (false: processing time,
    /// so a quiet stream still ends waits and skewed client clocks do not).
    pub clock_from_spans: bool,
    /// Most spans waiting at once; past it the oldest stop waiting and count as unpaired.
    pub max_waiting: usize,
    /// Most (bucket, edge) entries not yet drained; a call that would open one more is
    /// counted ([`Topology::calls_over_open_bucket_cap`]), not recorded, so calls spread over
    /// many buckets (late spans from a clock far off) cannot grow memory without bound.
    pub max_open_buckets: usize,
}

impl Default for TopologyConfig {
    fn default() -> Self {
        TopologyConfig {
            bucket_seconds: 30,
            pairing_timeout_nanos: 10_000_000_000,
            max_waiting: 100_000,
            max_open_buckets: 100_000,
            clock_from_spans: true,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Side {
    service: String,
    operation: String,
    start_unix_nanos: u64,
    duration_nanos: u64,
    is_error: bool,
    /// For a client: the peer its attributes name, if any.
    peer: Option<String>,
    /// When it started waiting, by the stream's clock.
    waiting_since_nanos: u64,
}

/// Counters of what did not become an edge.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TopologyCounters {
    pub unpaired_clients: u64,
    pub unpaired_servers: u64,
    /// Spans that stopped waiting because the table was full.
    pub evicted: u64,
}

/// The pairing join and the edges it found, per time bucket.
#[derive(Debug, Default)]
pub struct Topology {
    config: TopologyConfig,
    /// Clients by (trace, client span ID); servers by (trace, parent span ID).
    waiting_clients: HashMap<(TraceId, SpanId), Side>,
    waiting_servers: HashMap<(TraceId, SpanId), Side>,
    /// Arrival order, for timeouts and eviction: (is client, key).
    arrivals: VecDeque<(bool, (TraceId, SpanId), u64)>,
    edges: BTreeMap<(u64, EdgeKey), Bucket>,
    clock_nanos: u64,
    counters: TopologyCounters,
    /// Since start (not checkpointed): see `TopologyConfig::max_open_buckets`.
    calls_over_open_bucket_cap: u64,
}

/// A waiting entry's (trace ID, span ID) as bytes.
type WaitKeyBytes = ([u8; 16], [u8; 8]);

/// Everything a [`Topology`] holds, for a checkpoint.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct TopologySnapshot {
    waiting_clients: Vec<(WaitKeyBytes, Side)>,
    waiting_servers: Vec<(WaitKeyBytes, Side)>,
    arrivals: Vec<(bool, WaitKeyBytes, u64)>,
    edges: Vec<((u64, EdgeKey), Bucket)>,
    clock_nanos: u64,
    counters: TopologyCounters,
}

/// The uninstrumented peer a client span's attributes name, by the OpenTelemetry semantic
/// conventions, most specific first.
pub fn peer_of(span: &Span) -> Option<String> {
    let text = |key: &str| {
        find_attribute(&span.attributes, key)
            .and_then(AttributeValue::to_index_string)
            .filter(|value| !value.is_empty())
    };
    if let Some(service) = text("peer.service") {
        return Some(service);
    }
    if let Some(system) = text("db.system.name").or_else(|| text("db.system")) {
        return Some(match text("db.namespace").or_else(|| text("db.name")) {
            Some(database) => format!("{system}/{database}"),
            None => system,
        });
    }
    if let Some(system) = text("messaging.system") {
        return Some(match text("messaging.destination.name") {
            Some(destination) => format!("{system}/{destination}"),
            None => system,
        });
    }
    text("server.address")
}

impl Topology {
    pub fn new(config: TopologyConfig) -> Self {
        Topology {
            config,
            ..Topology::default()
        }
    }

    fn side_of(&self, span: &Span, with_peer: bool) -> Side {
        Side {
            service: span.service_name.clone(),
            operation: span.name.clone(),
            start_unix_nanos: span.start_time_unix_nanos,
            duration_nanos: span
                .end_time_unix_nanos
                .saturating_sub(span.start_time_unix_nanos),
            is_error: span.status.code == StatusCode::Error,
            peer: if with_peer { peer_of(span) } else { None },
            waiting_since_nanos: self.clock_nanos,
        }
    }

    pub fn record(&mut self, span: &Span) {
        if self.config.clock_from_spans {
            self.clock_nanos = self.clock_nanos.max(span.end_time_unix_nanos);
        }
        match span.kind {
            SpanKind::Client | SpanKind::Producer => {
                let key = (span.trace_id, span.span_id);
                let client = self.side_of(span, true);
                match self.waiting_servers.remove(&key) {
                    Some(server) => self.pair(&client, &server),
                    None => self.wait(true, key, client),
                }
            }
            SpanKind::Server | SpanKind::Consumer => {
                let Some(parent) = span.parent_span_id else {
                    return;
                };
                let key = (span.trace_id, parent);
                let server = self.side_of(span, false);
                match self.waiting_clients.remove(&key) {
                    Some(client) => self.pair(&client, &server),
                    None => self.wait(false, key, server),
                }
            }
            _ => {}
        }
        self.expire();
    }

    fn wait(&mut self, is_client: bool, key: (TraceId, SpanId), side: Side) {
        let since = side.waiting_since_nanos;
        let table = if is_client {
            &mut self.waiting_clients
        } else {
            &mut self.waiting_servers
        };
        table.insert(key, side);
        self.arrivals.push_back((is_client, key, since));
        while self.waiting_clients.len() + self.waiting_servers.len() > self.config.max_waiting {
            let Some((is_client, key, _)) = self.arrivals.pop_front() else {
                break;
            };
            if self.stop_waiting(is_client, key) {
                self.counters.evicted += 1;
            }
        }
    }

    /// Ends the wait of one entry (if it is still waiting): a client naming a peer becomes a
    /// call to that peer; anything else is counted unpaired. Returns whether it was waiting.
    fn stop_waiting(&mut self, is_client: bool, key: (TraceId, SpanId)) -> bool {
        if is_client {
            let Some(client) = self.waiting_clients.remove(&key) else {
                return false;
            };
            match &client.peer {
                Some(peer) => {
                    let edge = EdgeKey {
                        client_service: client.service.clone(),
                        client_operation: client.operation.clone(),
                        server_service: peer.clone(),
                        server_operation: String::new(),
                        uninstrumented: true,
                    };
                    self.add(
                        edge,
                        client.start_unix_nanos,
                        client.duration_nanos,
                        client.is_error,
                    );
                }
                None => self.counters.unpaired_clients += 1,
            }
        } else {
            if self.waiting_servers.remove(&key).is_none() {
                return false;
            }
            self.counters.unpaired_servers += 1;
        }
        true
    }

    fn expire(&mut self) {
        while let Some(&(is_client, key, since)) = self.arrivals.front() {
            if self.clock_nanos.saturating_sub(since) < self.config.pairing_timeout_nanos {
                break;
            }
            self.arrivals.pop_front();
            self.stop_waiting(is_client, key);
        }
    }

    /// A call between two services: the server's latency and error, at the client's time.
    fn pair(&mut self, client: &Side, server: &Side) {
        if client.service == server.service {
            return;
        }
        let edge = EdgeKey {
            client_service: client.service.clone(),
            client_operation: client.operation.clone(),
            server_service: server.service.clone(),
            server_operation: server.operation.clone(),
            uninstrumented: false,
        };
        self.add(
            edge,
            client.start_unix_nanos,
            server.duration_nanos,
            server.is_error,
        );
    }

    fn add(&mut self, edge: EdgeKey, start_unix_nanos: u64, duration_nanos: u64, is_error: bool) {
        let seconds = start_unix_nanos / 1_000_000_000;
        let bucket = seconds - seconds % self.config.bucket_seconds.max(1);
        let at_cap = self.edges.len() >= self.config.max_open_buckets;
        match self.edges.entry((bucket, edge)) {
            std::collections::btree_map::Entry::Occupied(mut open) => {
                open.get_mut().record(duration_nanos, is_error);
            }
            std::collections::btree_map::Entry::Vacant(_) if at_cap => {
                self.calls_over_open_bucket_cap += 1;
            }
            std::collections::btree_map::Entry::Vacant(vacant) => {
                vacant
                    .insert(Bucket::default())
                    .record(duration_nanos, is_error);
            }
        }
    }

    /// Calls not recorded because their (bucket, edge) would have been one open too many.
    pub fn calls_over_open_bucket_cap(&self) -> u64 {
        self.calls_over_open_bucket_cap
    }

    /// Moves the clock forward (processing time) and ends the waits that timed out.
    pub fn advance_clock(&mut self, now_nanos: u64) {
        self.clock_nanos = self.clock_nanos.max(now_nanos);
        self.expire();
    }

    /// Visits the edge buckets not drained yet (for queries that must see recent data).
    pub fn open(&self) -> impl Iterator<Item = (u64, &EdgeKey, &Bucket)> {
        self.edges
            .iter()
            .map(|((start, key), bucket)| (*start, key, bucket))
    }

    pub fn snapshot(&self) -> TopologySnapshot {
        let side = |(key, side): (&(TraceId, SpanId), &Side)| {
            ((*key.0.as_bytes(), *key.1.as_bytes()), side.clone())
        };
        TopologySnapshot {
            waiting_clients: self.waiting_clients.iter().map(side).collect(),
            waiting_servers: self.waiting_servers.iter().map(side).collect(),
            arrivals: self
                .arrivals
                .iter()
                .map(|(is_client, key, since)| {
                    (*is_client, (*key.0.as_bytes(), *key.1.as_bytes()), *since)
                })
                .collect(),
            edges: self
                .edges
                .iter()
                .map(|(key, bucket)| (key.clone(), bucket.clone()))
                .collect(),
            clock_nanos: self.clock_nanos,
            counters: self.counters,
        }
    }

    pub fn restore(config: TopologyConfig, snapshot: TopologySnapshot) -> Self {
        let key =
            |(trace, span): WaitKeyBytes| (TraceId::from_bytes(trace), SpanId::from_bytes(span));
        Topology {
            config,
            waiting_clients: snapshot
                .waiting_clients
                .into_iter()
                .map(|(k, side)| (key(k), side))
                .collect(),
            waiting_servers: snapshot
                .waiting_servers
                .into_iter()
                .map(|(k, side)| (key(k), side))
                .collect(),
            arrivals: snapshot
                .arrivals
                .into_iter()
                .map(|(is_client, k, since)| (is_client, key(k), since))
                .collect(),
            edges: snapshot.edges.into_iter().collect(),
            clock_nanos: snapshot.clock_nanos,
            counters: snapshot.counters,
            calls_over_open_bucket_cap: 0,
        }
    }

    /// Ends every wait now (shutdown, tests): clients naming peers become peer calls.
    pub fn flush_waiting(&mut self) {
        while let Some((is_client, key, _)) = self.arrivals.pop_front() {
            self.stop_waiting(is_client, key);
        }
    }

    pub fn counters(&self) -> TopologyCounters {
        self.counters
    }

    pub fn waiting(&self) -> usize {
        self.waiting_clients.len() + self.waiting_servers.len()
    }

    /// Takes every edge bucket that starts before `bucket_start_secs`.
    pub fn drain_before(&mut self, bucket_start_secs: u64) -> Vec<(u64, EdgeKey, Bucket)> {
        let mut drained = Vec::new();
        let starts: Vec<(u64, EdgeKey)> = self
            .edges
            .keys()
            .take_while(|(start, _)| *start < bucket_start_secs)
            .cloned()
            .collect();
        for key in starts {
            if let Some(bucket) = self.edges.remove(&key) {
                drained.push((key.0, key.1, bucket));
            }
        }
        drained
    }
}

#[cfg(test)]
mod tests;
