//! Spans written but not yet in a segment: queryable at once, held as the pipeline's own
//! batches (shared, not copied) plus a trace-ID index.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Instant;

use weft_model::{Span, TraceId};

use crate::Position;

pub(crate) struct Memtable {
    batches: Vec<Arc<Vec<Span>>>,
    /// Where each trace's spans are: (batch, span) indices.
    by_trace: HashMap<TraceId, Vec<(u32, u32)>>,
    span_count: usize,
    /// The last bus position written into this memtable.
    pub last_position: Position,
    pub created_at: Instant,
}

impl Memtable {
    pub(crate) fn new() -> Self {
        Memtable {
            batches: Vec::new(),
            by_trace: HashMap::new(),
            span_count: 0,
            last_position: 0,
            created_at: Instant::now(),
        }
    }

    pub(crate) fn insert(&mut self, position: Position, spans: Arc<Vec<Span>>) {
        if self.span_count == 0 {
            self.created_at = Instant::now();
        }
        self.last_position = position;
        if spans.is_empty() {
            return;
        }
        let batch_index = u32::try_from(self.batches.len()).expect("fewer than 2^32 batches");
        for (span_index, span) in spans.iter().enumerate() {
            self.by_trace
                .entry(span.trace_id)
                .or_default()
                .push((batch_index, span_index as u32));
        }
        self.span_count += spans.len();
        self.batches.push(spans);
    }

    pub(crate) fn span_count(&self) -> usize {
        self.span_count
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.span_count == 0
    }

    pub(crate) fn trace(&self, trace_id: &TraceId) -> impl Iterator<Item = &Span> {
        self.by_trace
            .get(trace_id)
            .into_iter()
            .flatten()
            .map(|&(batch, span)| &self.batches[batch as usize][span as usize])
    }

    pub(crate) fn spans(&self) -> impl Iterator<Item = &Span> {
        self.batches.iter().flat_map(|batch| batch.iter())
    }
}
