//! Per-trace analyses on an assembled trace: the summary row, broken traces (missing parents),
//! self time and the critical path, bottlenecks, repeated calls (N+1), timeout
//! misconfiguration and call cycles. Every walk is iterative with a visited mark, so a trace
//! of any depth, or one whose parent links form a loop, cannot overflow the stack or spin.

use std::sync::Arc;

use hashbrown::HashMap;
use serde::{Deserialize, Serialize};
use weft_model::{SpanId, SpanKind, TraceId};

use crate::assembler::{AssembledTrace, Completion};
use crate::facts::SpanFacts;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AnalysisConfig {
    /// A span whose self time is more than this share of its trace is a bottleneck.
    pub bottleneck_share: f64,
    /// The same downstream call this many times under one parent is a repeated call.
    pub repeated_call_threshold: usize,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            bottleneck_share: 0.48,
            repeated_call_threshold: 5,
        }
    }
}

/// The kinds of finding, in the order the API lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingKind {
    BrokenTrace,
    Bottleneck,
    RepeatedCalls,
    TimeoutMisconfiguration,
    Cycle,
}

// `TraceSummary::finding_kinds` is a u8 of `FindingKind::bit`s.
const _: () = assert!(FindingKind::COUNT <= 8);

impl FindingKind {
    /// How many kinds there are: the length of every per-kind counter array.
    pub const COUNT: usize = 5;

    pub const ALL: [FindingKind; FindingKind::COUNT] = [
        FindingKind::BrokenTrace,
        FindingKind::Bottleneck,
        FindingKind::RepeatedCalls,
        FindingKind::TimeoutMisconfiguration,
        FindingKind::Cycle,
    ];

    /// This kind's slot in a `[_; FindingKind::COUNT]` array (its place in [`Self::ALL`]). An
    /// exhaustive match, not `as usize`: a new kind cannot compile without a slot of its own.
    pub fn index(self) -> usize {
        match self {
            FindingKind::BrokenTrace => 0,
            FindingKind::Bottleneck => 1,
            FindingKind::RepeatedCalls => 2,
            FindingKind::TimeoutMisconfiguration => 3,
            FindingKind::Cycle => 4,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::BrokenTrace => "broken_trace",
            FindingKind::Bottleneck => "bottleneck",
            FindingKind::RepeatedCalls => "repeated_calls",
            FindingKind::TimeoutMisconfiguration => "timeout_misconfiguration",
            FindingKind::Cycle => "cycle",
        }
    }

    /// How people say it: "repeated calls".
    pub fn title(self) -> &'static str {
        match self {
            FindingKind::BrokenTrace => "broken trace",
            FindingKind::Bottleneck => "bottleneck",
            FindingKind::RepeatedCalls => "repeated calls",
            FindingKind::TimeoutMisconfiguration => "timeout misconfiguration",
            FindingKind::Cycle => "call cycle",
        }
    }

    pub fn parse(text: &str) -> Option<FindingKind> {
        FindingKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == text)
    }

    /// The bit of this kind in [`TraceSummary::finding_kinds`].
    pub fn bit(self) -> u8 {
        1 << self.index()
    }
}

/// Spans a finding names at most (a loop of 10,000 queries lists the first 50).
pub const MAX_SPANS_PER_FINDING: usize = 50;

/// One problem found in one trace.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub kind: FindingKind,
    /// Where it shows: the service and operation a developer would change.
    pub service: Arc<str>,
    pub operation: Arc<str>,
    /// What it is about, stable across traces so findings aggregate: the repeated call, the
    /// slow span's operation, the callee, the cycle. Never holds IDs or values of one trace.
    pub detail: String,
    /// A sentence for people, with this trace's numbers.
    pub message: String,
    /// The spans involved (at most [`MAX_SPANS_PER_FINDING`]).
    pub span_ids: Vec<SpanId>,
    /// The finding's measure: repetitions, self time share in per mille, the callee's timeout
    /// in nanoseconds, the cycle's length, the missing parents.
    pub value: u64,
}

/// One row per trace: what search and the trace list show without reading spans.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceSummary {
    pub trace_id: TraceId,
    pub root_service: Arc<str>,
    pub root_operation: Arc<str>,
    pub start_unix_nanos: u64,
    pub duration_nanos: u64,
    pub span_count: u32,
    pub error_count: u32,
    pub service_count: u32,
    /// Spans whose parent never arrived.
    pub orphan_span_count: u32,
    pub dropped_span_count: u64,
    pub truncated: bool,
    pub completion: Completion,
    /// One bit per [`FindingKind`] found.
    pub finding_kinds: u8,
    /// Every service the trace touched, sorted.
    pub services: Vec<Arc<str>>,
}

impl TraceSummary {
    pub fn has(&self, kind: FindingKind) -> bool {
        self.finding_kinds & kind.bit() != 0
    }
}

/// Everything the analyses say about one trace.
#[derive(Debug, Clone, PartialEq)]
pub struct TraceDiagnosis {
    pub summary: TraceSummary,
    pub findings: Vec<Finding>,
    /// The spans on the critical path, in start order.
    pub critical_path: Vec<SpanId>,
    /// Services with a span whose parent never arrived, sorted.
    pub services_with_orphans: Vec<Arc<str>>,
    /// Distinct caller → callee service pairs (parent and child in different services).
    pub service_edges: Vec<(Arc<str>, Arc<str>)>,
}

/// The trace's spans with their links resolved.
struct TraceGraph<'a> {
    spans: &'a [SpanFacts],
    /// Index of each span's parent in `spans`, when it arrived.
    parent: Vec<Option<usize>>,
    children: Vec<Vec<usize>>,
    /// Spans without a parent, and spans whose parent never arrived, in start order.
    roots: Vec<usize>,
    orphans: Vec<usize>,
}

impl<'a> TraceGraph<'a> {
    fn build(spans: &'a [SpanFacts]) -> Self {
        let mut index_of: HashMap<SpanId, usize> = HashMap::with_capacity(spans.len());
        for (index, span) in spans.iter().enumerate() {
            // A duplicate span ID keeps its first arrival as the span children link to.
            index_of.entry(span.span_id).or_insert(index);
        }
        let mut parent = vec![None; spans.len()];
        let mut children = vec![Vec::new(); spans.len()];
        let mut roots = Vec::new();
        let mut orphans = Vec::new();
        for (index, span) in spans.iter().enumerate() {
            match span.parent_span_id {
                None => roots.push(index),
                Some(parent_id) => match index_of.get(&parent_id) {
                    Some(&parent_index) if parent_index != index => {
                        parent[index] = Some(parent_index);
                        children[parent_index].push(index);
                    }
                    _ => {
                        orphans.push(index);
                        roots.push(index);
                    }
                },
            }
        }
        let by_start = |a: &usize, b: &usize| {
            spans[*a]
                .start_unix_nanos
                .cmp(&spans[*b].start_unix_nanos)
                .then(a.cmp(b))
        };
        roots.sort_by(by_start);
        for list in &mut children {
            list.sort_by(by_start);
        }
        TraceGraph {
            spans,
            parent,
            children,
            roots,
            orphans,
        }
    }

    /// Spans in depth-first order from the roots; spans in a parent loop (unreachable from any
    /// root) are appended after, each as its own root, so every span is visited once.
    fn depth_first(&self) -> Vec<(usize, Option<usize>)> {
        let mut order = Vec::with_capacity(self.spans.len());
        let mut visited = vec![false; self.spans.len()];
        let mut stack: Vec<(usize, Option<usize>)> = Vec::new();
        let starts = self
            .roots
            .iter()
            .copied()
            .chain(0..self.spans.len())
            .collect::<Vec<_>>();
        for start in starts {
            if visited[start] {
                continue;
            }
            stack.push((start, None));
            while let Some((index, parent)) = stack.pop() {
                if visited[index] {
                    continue;
                }
                visited[index] = true;
                order.push((index, parent));
                for &child in self.children[index].iter().rev() {
                    if !visited[child] {
                        stack.push((child, Some(index)));
                    }
                }
            }
        }
        order
    }
}

/// Analyzes one assembled trace.
pub fn analyze_trace(trace: &AssembledTrace, config: &AnalysisConfig) -> TraceDiagnosis {
    analyze_spans(
        trace.trace_id,
        &trace.spans,
        trace.dropped_spans,
        trace.completion,
        config,
    )
}

/// Analyzes the spans of one trace (from the assembler, or read back from a store).
pub fn analyze_spans(
    trace_id: TraceId,
    spans: &[SpanFacts],
    dropped_span_count: u64,
    completion: Completion,
    config: &AnalysisConfig,
) -> TraceDiagnosis {
    let graph = TraceGraph::build(spans);
    let truncated = dropped_span_count > 0 || completion != Completion::Inactive;
    let order = graph.depth_first();
    let mut findings = Vec::new();

    if !truncated {
        broken_trace_findings(&graph, &mut findings);
    }
    let self_times = self_times_nanos(&graph);
    let trace_start = spans.iter().map(|s| s.start_unix_nanos).min().unwrap_or(0);
    let trace_end = spans.iter().map(|s| s.end_unix_nanos).max().unwrap_or(0);
    let trace_duration = trace_end.saturating_sub(trace_start);
    bottleneck_findings(&graph, &self_times, trace_duration, config, &mut findings);
    repeated_call_findings(&graph, config, &mut findings);
    timeout_findings(&graph, &order, &mut findings);
    cycle_findings(&graph, &order, &mut findings);

    let root = graph
        .roots
        .iter()
        .copied()
        .find(|&index| spans[index].parent_span_id.is_none())
        .or_else(|| graph.roots.first().copied());
    let mut services: Vec<Arc<str>> = spans.iter().map(|span| span.service.clone()).collect();
    services.sort();
    services.dedup();
    let mut services_with_orphans: Vec<Arc<str>> = graph
        .orphans
        .iter()
        .map(|&index| spans[index].service.clone())
        .collect();
    services_with_orphans.sort();
    services_with_orphans.dedup();
    let mut service_edges: Vec<(Arc<str>, Arc<str>)> = (0..spans.len())
        .filter_map(|index| {
            let parent = graph.parent[index]?;
            (spans[parent].service != spans[index].service)
                .then(|| (spans[parent].service.clone(), spans[index].service.clone()))
        })
        .collect();
    service_edges.sort();
    service_edges.dedup();

    let finding_kinds = findings
        .iter()
        .fold(0u8, |bits, finding| bits | finding.kind.bit());
    let summary = TraceSummary {
        trace_id,
        root_service: root
            .map(|index| spans[index].service.clone())
            .unwrap_or_else(|| Arc::from("")),
        root_operation: root
            .map(|index| spans[index].operation.clone())
            .unwrap_or_else(|| Arc::from("")),
        start_unix_nanos: trace_start,
        duration_nanos: trace_duration,
        span_count: u32::try_from(spans.len()).unwrap_or(u32::MAX),
        error_count: u32::try_from(spans.iter().filter(|span| span.is_error).count())
            .unwrap_or(u32::MAX),
        service_count: u32::try_from(services.len()).unwrap_or(u32::MAX),
        orphan_span_count: u32::try_from(graph.orphans.len()).unwrap_or(u32::MAX),
        dropped_span_count,
        truncated,
        completion,
        finding_kinds,
        services,
    };
    let mut critical_path = critical_path(&graph);
    critical_path.sort_by_key(|&index| (spans[index].start_unix_nanos, index));
    TraceDiagnosis {
        summary,
        findings,
        critical_path: critical_path
            .into_iter()
            .map(|index| spans[index].span_id)
            .collect(),
        services_with_orphans,
        service_edges,
    }
}

fn broken_trace_findings(graph: &TraceGraph<'_>, findings: &mut Vec<Finding>) {
    // One finding per (service, operation) that lost its parent; a trace with a missing hop
    // usually orphans several sibling spans of one operation.
    // (service, operation, orphaned spans, missing parents)
    type Place = (Arc<str>, Arc<str>, Vec<SpanId>, Vec<SpanId>);
    let mut by_place: Vec<Place> = Vec::new();
    for &index in &graph.orphans {
        let span = &graph.spans[index];
        let missing_parent = span.parent_span_id.unwrap_or_default();
        match by_place.iter_mut().find(|(service, operation, _, _)| {
            *service == span.service && *operation == span.operation
        }) {
            Some((_, _, orphans, parents)) => {
                orphans.push(span.span_id);
                if !parents.contains(&missing_parent) {
                    parents.push(missing_parent);
                }
            }
            None => by_place.push((
                span.service.clone(),
                span.operation.clone(),
                vec![span.span_id],
                vec![missing_parent],
            )),
        }
    }
    for (service, operation, orphans, parents) in by_place {
        let message = format!(
            "{} span(s) of {service} {operation:?} name a parent that never arrived ({}), so the trace is cut above them",
            orphans.len(),
            parents
                .iter()
                .take(3)
                .map(|parent| parent.to_hex())
                .collect::<Vec<_>>()
                .join(", ")
        );
        findings.push(Finding {
            kind: FindingKind::BrokenTrace,
            service,
            operation,
            detail: "parent span never arrived".to_owned(),
            message,
            value: parents.len() as u64,
            span_ids: orphans.into_iter().take(MAX_SPANS_PER_FINDING).collect(),
        });
    }
}

/// Each span's duration minus the time covered by its children (their union, so parallel
/// children are not counted twice), clipped to the span.
fn self_times_nanos(graph: &TraceGraph<'_>) -> Vec<u64> {
    let mut intervals: Vec<(u64, u64)> = Vec::new();
    graph
        .spans
        .iter()
        .enumerate()
        .map(|(index, span)| {
            let (start, end) = (
                span.start_unix_nanos,
                span.end_unix_nanos.max(span.start_unix_nanos),
            );
            intervals.clear();
            for &child in &graph.children[index] {
                let child = &graph.spans[child];
                let child_start = child.start_unix_nanos.max(start);
                let child_end = child.end_unix_nanos.min(end);
                if child_end > child_start {
                    intervals.push((child_start, child_end));
                }
            }
            intervals.sort_unstable();
            let mut covered = 0u64;
            let mut current: Option<(u64, u64)> = None;
            for &(child_start, child_end) in &intervals {
                current = match current {
                    Some((open_start, open_end)) if child_start <= open_end => {
                        Some((open_start, open_end.max(child_end)))
                    }
                    Some((open_start, open_end)) => {
                        covered += open_end - open_start;
                        Some((child_start, child_end))
                    }
                    None => Some((child_start, child_end)),
                };
            }
            if let Some((open_start, open_end)) = current {
                covered += open_end - open_start;
            }
            (end - start).saturating_sub(covered)
        })
        .collect()
}

fn bottleneck_findings(
    graph: &TraceGraph<'_>,
    self_times: &[u64],
    trace_duration: u64,
    config: &AnalysisConfig,
    findings: &mut Vec<Finding>,
) {
    // A lone span is all self time by definition; that says nothing about where time goes.
    if graph.spans.len() < 2 || trace_duration == 0 {
        return;
    }
    for (index, &self_time) in self_times.iter().enumerate() {
        let share = self_time as f64 / trace_duration as f64;
        if share <= config.bottleneck_share {
            continue;
        }
        let span = &graph.spans[index];
        findings.push(Finding {
            kind: FindingKind::Bottleneck,
            service: span.service.clone(),
            operation: span.operation.clone(),
            detail: format!("{} {}", span.service, span.operation),
            message: format!(
                "{} {:?} spends {:.0} % of the trace ({} of {}) in its own work, not in calls it makes",
                span.service,
                &*span.operation,
                share * 100.0,
                format_nanos(self_time),
                format_nanos(trace_duration)
            ),
            span_ids: vec![span.span_id],
            value: (share * 1000.0).round() as u64,
        });
    }
}

/// The critical path: from the root, the child that finished last before the parent's cursor,
/// recursively, then the cursor moves to that child's start (Jaeger's definition).
fn critical_path(graph: &TraceGraph<'_>) -> Vec<usize> {
    let Some(&root) = graph.roots.iter().max_by_key(|&&index| {
        let span = &graph.spans[index];
        (span.parent_span_id.is_none(), span.duration_nanos())
    }) else {
        return Vec::new();
    };
    let mut path = Vec::new();
    let mut visited = vec![false; graph.spans.len()];
    let mut stack = vec![(root, graph.spans[root].end_unix_nanos)];
    while let Some((index, until)) = stack.pop() {
        if visited[index] {
            continue;
        }
        visited[index] = true;
        path.push(index);
        let span = &graph.spans[index];
        let mut children = graph.children[index].clone();
        children.sort_by_key(|&child| std::cmp::Reverse(graph.spans[child].end_unix_nanos));
        let mut cursor = span.end_unix_nanos.min(until);
        for child in children {
            let child_span = &graph.spans[child];
            if child_span.end_unix_nanos.min(span.end_unix_nanos) <= cursor
                && child_span.end_unix_nanos > span.start_unix_nanos.min(cursor)
            {
                stack.push((child, cursor));
                cursor = child_span.start_unix_nanos;
            }
        }
    }
    path
}

/// What makes two child spans "the same downstream call".
fn downstream_call_of(parent: &SpanFacts, child: &SpanFacts) -> Option<String> {
    if let Some(database) = &child.database {
        let target = if database.name.is_empty() {
            database.system.to_string()
        } else {
            format!("{} {}", database.system, database.name)
        };
        return Some(format!("{target}: {}", database.fingerprint));
    }
    if let Some(redis) = &child.redis {
        return Some(if redis.key_pattern.is_empty() {
            format!("redis {}", redis.command)
        } else {
            format!("redis {} {}", redis.command, redis.key_pattern)
        });
    }
    match child.kind {
        SpanKind::Client | SpanKind::Producer => {
            let target = child.peer.as_ref().unwrap_or(&child.service);
            Some(format!("{target} {}", child.operation))
        }
        // A server span right under another service's span: the caller was not instrumented
        // with a client span, the call is still a call.
        SpanKind::Server | SpanKind::Consumer if child.service != parent.service => {
            Some(format!("{} {}", child.service, child.operation))
        }
        _ => None,
    }
}

fn repeated_call_findings(
    graph: &TraceGraph<'_>,
    config: &AnalysisConfig,
    findings: &mut Vec<Finding>,
) {
    let threshold = config.repeated_call_threshold.max(2);
    let mut calls: Vec<(String, Vec<SpanId>)> = Vec::new();
    for (parent_index, children) in graph.children.iter().enumerate() {
        if children.len() < threshold {
            continue;
        }
        let parent = &graph.spans[parent_index];
        calls.clear();
        for &child in children {
            let child = &graph.spans[child];
            let Some(call) = downstream_call_of(parent, child) else {
                continue;
            };
            match calls.iter_mut().find(|(known, _)| *known == call) {
                Some((_, spans)) => spans.push(child.span_id),
                None => calls.push((call, vec![child.span_id])),
            }
        }
        for (call, spans) in calls.drain(..) {
            if spans.len() < threshold {
                continue;
            }
            findings.push(Finding {
                kind: FindingKind::RepeatedCalls,
                service: parent.service.clone(),
                operation: parent.operation.clone(),
                message: format!(
                    "{} {:?} makes the same call {} times: {call}",
                    parent.service,
                    &*parent.operation,
                    spans.len()
                ),
                detail: call,
                value: spans.len() as u64,
                span_ids: spans.into_iter().take(MAX_SPANS_PER_FINDING).collect(),
            });
        }
    }
}

fn timeout_findings(
    graph: &TraceGraph<'_>,
    order: &[(usize, Option<usize>)],
    findings: &mut Vec<Finding>,
) {
    // The nearest ancestor (or the span itself) that carries a timeout, per span.
    let mut nearest_with_timeout: Vec<Option<usize>> = vec![None; graph.spans.len()];
    for &(index, parent) in order {
        let inherited = parent.and_then(|parent| nearest_with_timeout[parent]);
        let span = &graph.spans[index];
        if let (Some(timeout), Some(caller_index)) = (span.timeout_nanos, inherited) {
            let caller = &graph.spans[caller_index];
            let caller_timeout = caller.timeout_nanos.unwrap_or(u64::MAX);
            if timeout > caller_timeout {
                findings.push(Finding {
                    kind: FindingKind::TimeoutMisconfiguration,
                    service: span.service.clone(),
                    operation: span.operation.clone(),
                    detail: format!(
                        "timeout {} over caller {} {} timeout {}",
                        format_nanos(timeout),
                        caller.service,
                        caller.operation,
                        format_nanos(caller_timeout)
                    ),
                    message: format!(
                        "{} {:?} waits up to {}, but its caller {} {:?} gives up after {}: the extra wait is wasted",
                        span.service,
                        &*span.operation,
                        format_nanos(timeout),
                        caller.service,
                        &*caller.operation,
                        format_nanos(caller_timeout)
                    ),
                    span_ids: vec![caller.span_id, span.span_id],
                    value: timeout,
                });
            }
        }
        nearest_with_timeout[index] = if span.timeout_nanos.is_some() {
            Some(index)
        } else {
            inherited
        };
    }
}

fn cycle_findings(
    graph: &TraceGraph<'_>,
    order: &[(usize, Option<usize>)],
    findings: &mut Vec<Finding>,
) {
    // The services on the path from a root to each span, one entry per change of service, as
    // a shared linked list: (service, previous entry).
    let mut path_nodes: Vec<(Arc<str>, Option<usize>)> = Vec::new();
    let mut path_of: Vec<usize> = vec![usize::MAX; graph.spans.len()];
    let mut seen_cycles: Vec<String> = Vec::new();
    for &(index, parent) in order {
        let span = &graph.spans[index];
        let parent_path = parent.map(|parent| path_of[parent]);
        let same_service = parent_path
            .map(|node| path_nodes[node].0 == span.service)
            .unwrap_or(false);
        if same_service {
            path_of[index] = parent_path.expect("same service implies a parent");
            continue;
        }
        // Look back along the path for this service.
        let mut cycle: Vec<Arc<str>> = vec![span.service.clone()];
        let mut cursor = parent_path;
        let mut closes_cycle = false;
        while let Some(node) = cursor {
            let (service, previous) = &path_nodes[node];
            cycle.push(service.clone());
            if *service == span.service {
                closes_cycle = true;
                break;
            }
            cursor = *previous;
        }
        path_nodes.push((span.service.clone(), parent_path));
        path_of[index] = path_nodes.len() - 1;
        if !closes_cycle {
            continue;
        }
        cycle.reverse();
        let detail = cycle
            .iter()
            .map(|service| service.as_ref())
            .collect::<Vec<_>>()
            .join(" → ");
        if seen_cycles.contains(&detail) {
            continue;
        }
        seen_cycles.push(detail.clone());
        findings.push(Finding {
            kind: FindingKind::Cycle,
            service: span.service.clone(),
            operation: span.operation.clone(),
            message: format!(
                "calls go round in a cycle, {detail}: {} is called back by a service it called",
                span.service
            ),
            detail,
            span_ids: vec![span.span_id],
            value: (cycle.len() - 1) as u64,
        });
    }
}

/// `1.5s`, `250ms`, `80µs`: short enough for a sentence.
pub fn format_nanos(nanos: u64) -> String {
    if nanos >= 1_000_000_000 {
        let seconds = nanos as f64 / 1e9;
        if nanos.is_multiple_of(1_000_000_000) {
            format!("{}s", nanos / 1_000_000_000)
        } else {
            format!("{seconds:.2}s")
        }
    } else if nanos >= 1_000_000 {
        format!("{}ms", nanos / 1_000_000)
    } else if nanos >= 1_000 {
        format!("{}µs", nanos / 1_000)
    } else {
        format!("{nanos}ns")
    }
}
