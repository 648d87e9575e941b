//! The trace assembler: spans in, whole traces out.
//!
//! A map keyed by trace ID — not time windows, so a trace that straddles a window edge is still
//! one trace — holds each open trace's span facts. A trace is complete when no span of it has
//! arrived for the inactivity timeout; one older than the maximum age is cut so a never-ending
//! trace cannot pin memory (or the bus position the processor must replay from). Memory is
//! bounded three ways: open traces, spans per trace, and open spans in all; when the total caps
//! are reached the trace idle longest is completed early, and a span over the per-trace cap is
//! counted and its trace marked truncated. Spans arriving for a trace completed recently are
//! counted as late and not analyzed: analyzing them alone would report a broken trace that is
//! not.
//!
//! Time is passed in (arrival time on the caller's clock), so tests drive it exactly.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, VecDeque};
use std::time::Duration;

use hashbrown::{HashMap, HashSet};
use weft_model::{Span, TraceId};

use crate::facts::{span_facts, Interner, SpanFacts};

#[derive(Debug, Clone, PartialEq)]
pub struct AssemblerConfig {
    /// A trace is complete when none of its spans has arrived for this long.
    pub inactivity_timeout: Duration,
    /// A trace open this long is completed even if spans still arrive (marked truncated).
    pub max_trace_age: Duration,
    pub max_open_traces: usize,
    pub max_spans_per_trace: usize,
    pub max_open_spans: usize,
    /// How many completed trace IDs are remembered to recognise late spans.
    pub remembered_completed_traces: usize,
}

impl Default for AssemblerConfig {
    fn default() -> Self {
        AssemblerConfig {
            inactivity_timeout: Duration::from_secs(30),
            max_trace_age: Duration::from_secs(300),
            max_open_traces: 100_000,
            max_spans_per_trace: 5_000,
            max_open_spans: 1_000_000,
            remembered_completed_traces: 200_000,
        }
    }
}

/// Why a trace was completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Completion {
    /// No span arrived for the inactivity timeout: the normal case.
    Inactive,
    /// Open longer than the maximum age.
    MaxAge,
    /// Completed early to stay within the open-trace or open-span cap.
    Evicted,
    /// Completed because the process is stopping.
    Shutdown,
}

impl Completion {
    pub fn as_str(self) -> &'static str {
        match self {
            Completion::Inactive => "inactive",
            Completion::MaxAge => "max_age",
            Completion::Evicted => "evicted",
            Completion::Shutdown => "shutdown",
        }
    }
}

/// A completed trace.
#[derive(Debug, Clone)]
pub struct AssembledTrace {
    pub trace_id: TraceId,
    pub spans: Vec<SpanFacts>,
    /// Spans not kept because the trace reached the per-trace cap.
    pub dropped_spans: u64,
    pub completion: Completion,
}

impl AssembledTrace {
    /// Spans are missing from this analysis by Weft's own limits (cap reached, cut early), so a
    /// missing parent may be Weft's doing, not the client's.
    pub fn is_truncated(&self) -> bool {
        self.dropped_spans > 0 || self.completion != Completion::Inactive
    }
}

/// Counters the assembler keeps since it was created.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AssemblerCounters {
    pub spans_received: u64,
    pub spans_dropped_over_trace_cap: u64,
    /// Spans of a trace already completed and analyzed.
    pub late_spans: u64,
    pub traces_completed: u64,
    pub traces_evicted: u64,
    pub traces_cut_by_age: u64,
}

struct OpenTrace {
    spans: Vec<SpanFacts>,
    dropped_spans: u64,
    first_arrival_nanos: u64,
    last_arrival_nanos: u64,
    /// The bus position of the first span, so the caller knows what a restart must replay.
    first_position: u64,
}

pub struct TraceAssembler {
    config: AssemblerConfig,
    open: HashMap<TraceId, OpenTrace>,
    /// (deadline, trace) for every open trace; an entry is stale when the trace got a span
    /// since, and is then pushed again with its new deadline when it reaches the top.
    deadlines: BinaryHeap<Reverse<(u64, TraceId)>>,
    open_spans: usize,
    recently_completed: HashSet<TraceId>,
    recently_completed_order: VecDeque<TraceId>,
    interner: Interner,
    counters: AssemblerCounters,
}

impl TraceAssembler {
    pub fn new(config: AssemblerConfig) -> Self {
        TraceAssembler {
            config,
            open: HashMap::new(),
            deadlines: BinaryHeap::new(),
            open_spans: 0,
            recently_completed: HashSet::new(),
            recently_completed_order: VecDeque::new(),
            interner: Interner::new(100_000),
            counters: AssemblerCounters::default(),
        }
    }

    pub fn config(&self) -> &AssemblerConfig {
        &self.config
    }

    pub fn counters(&self) -> &AssemblerCounters {
        &self.counters
    }

    pub fn open_traces(&self) -> usize {
        self.open.len()
    }

    pub fn open_spans(&self) -> usize {
        self.open_spans
    }

    /// The IDs of the open traces (checkpointed so a restart replays their spans only).
    pub fn open_trace_ids(&self) -> impl Iterator<Item = &TraceId> {
        self.open.keys()
    }

    /// The lowest bus position a span of an open trace came from.
    pub fn oldest_open_position(&self) -> Option<u64> {
        self.open.values().map(|trace| trace.first_position).min()
    }

    /// Whether `trace_id` was completed recently (its further spans are late).
    pub fn was_completed(&self, trace_id: &TraceId) -> bool {
        self.recently_completed.contains(trace_id)
    }

    /// Takes one span that arrived at `now_nanos` from bus position `position`. Traces completed
    /// early to make room are appended to `completed`.
    pub fn offer(
        &mut self,
        span: &Span,
        position: u64,
        now_nanos: u64,
        completed: &mut Vec<AssembledTrace>,
    ) {
        self.counters.spans_received += 1;
        let trace_id = span.trace_id;
        if let Some(trace) = self.open.get_mut(&trace_id) {
            trace.last_arrival_nanos = trace.last_arrival_nanos.max(now_nanos);
            if trace.spans.len() >= self.config.max_spans_per_trace {
                trace.dropped_spans += 1;
                self.counters.spans_dropped_over_trace_cap += 1;
                return;
            }
            trace.spans.push(span_facts(span, &mut self.interner));
            self.open_spans += 1;
            if self.open_spans > self.config.max_open_spans {
                self.evict_one(Some(trace_id), completed);
            }
            return;
        }
        if self.recently_completed.contains(&trace_id) {
            self.counters.late_spans += 1;
            return;
        }
        while self.open.len() >= self.config.max_open_traces.max(1)
            || self.open_spans >= self.config.max_open_spans.max(1)
        {
            if !self.evict_one(None, completed) {
                break;
            }
        }
        self.open.insert(
            trace_id,
            OpenTrace {
                spans: vec![span_facts(span, &mut self.interner)],
                dropped_spans: 0,
                first_arrival_nanos: now_nanos,
                last_arrival_nanos: now_nanos,
                first_position: position,
            },
        );
        self.open_spans += 1;
        self.deadlines.push(Reverse((
            now_nanos.saturating_add(self.timeout_nanos()),
            trace_id,
        )));
    }

    fn timeout_nanos(&self) -> u64 {
        u64::try_from(self.config.inactivity_timeout.as_nanos()).unwrap_or(u64::MAX)
    }

    fn max_age_nanos(&self) -> u64 {
        u64::try_from(self.config.max_trace_age.as_nanos()).unwrap_or(u64::MAX)
    }

    /// The deadline a trace has now: inactivity or age, whichever comes first.
    fn deadline_of(&self, trace: &OpenTrace) -> u64 {
        trace
            .last_arrival_nanos
            .saturating_add(self.timeout_nanos())
            .min(
                trace
                    .first_arrival_nanos
                    .saturating_add(self.max_age_nanos()),
            )
    }

    /// Completes the trace idle longest (never `keep`). Returns false when nothing is open.
    fn evict_one(&mut self, keep: Option<TraceId>, completed: &mut Vec<AssembledTrace>) -> bool {
        let mut kept_aside = None;
        let evicted = loop {
            let Some(Reverse((deadline, trace_id))) = self.deadlines.pop() else {
                break false;
            };
            let Some(trace) = self.open.get(&trace_id) else {
                continue;
            };
            let current_deadline = self.deadline_of(trace);
            if current_deadline != deadline {
                self.deadlines.push(Reverse((current_deadline, trace_id)));
                continue;
            }
            if Some(trace_id) == keep {
                kept_aside = Some(Reverse((deadline, trace_id)));
                continue;
            }
            self.counters.traces_evicted += 1;
            completed.push(self.complete(trace_id, Completion::Evicted));
            break true;
        };
        if let Some(entry) = kept_aside {
            self.deadlines.push(entry);
        }
        evicted
    }

    /// Completes every trace whose deadline has passed at `now_nanos`.
    pub fn expire(&mut self, now_nanos: u64, completed: &mut Vec<AssembledTrace>) {
        while let Some(Reverse((deadline, trace_id))) = self.deadlines.peek().copied() {
            if deadline > now_nanos {
                break;
            }
            self.deadlines.pop();
            let Some(trace) = self.open.get(&trace_id) else {
                continue;
            };
            let current_deadline = self.deadline_of(trace);
            if current_deadline > now_nanos {
                self.deadlines.push(Reverse((current_deadline, trace_id)));
                continue;
            }
            let inactive_since = trace
                .last_arrival_nanos
                .saturating_add(self.timeout_nanos());
            let completion = if inactive_since <= now_nanos {
                Completion::Inactive
            } else {
                self.counters.traces_cut_by_age += 1;
                Completion::MaxAge
            };
            completed.push(self.complete(trace_id, completion));
        }
    }

    /// Completes every open trace (shutdown).
    pub fn drain(&mut self, completed: &mut Vec<AssembledTrace>) {
        let trace_ids: Vec<TraceId> = self.open.keys().copied().collect();
        for trace_id in trace_ids {
            completed.push(self.complete(trace_id, Completion::Shutdown));
        }
        self.deadlines.clear();
    }

    fn complete(&mut self, trace_id: TraceId, completion: Completion) -> AssembledTrace {
        let trace = self
            .open
            .remove(&trace_id)
            .expect("only open traces are completed");
        self.open_spans -= trace.spans.len();
        self.counters.traces_completed += 1;
        self.remember_completed(trace_id);
        AssembledTrace {
            trace_id,
            spans: trace.spans,
            dropped_spans: trace.dropped_spans,
            completion,
        }
    }

    fn remember_completed(&mut self, trace_id: TraceId) {
        if self.config.remembered_completed_traces == 0 {
            return;
        }
        if self.recently_completed.insert(trace_id) {
            self.recently_completed_order.push_back(trace_id);
        }
        while self.recently_completed_order.len() > self.config.remembered_completed_traces {
            if let Some(oldest) = self.recently_completed_order.pop_front() {
                self.recently_completed.remove(&oldest);
            }
        }
    }
}
