//! How a span's parent is stored. Most parents are spans of the same trace that sort earlier
//! in the segment (segments are sorted by trace ID, then start time, and a parent starts before
//! its children), so instead of the parent's 8 random bytes a segment stores how many rows back
//! the parent is — a small number that compresses to almost nothing. Only a parent that is not
//! an earlier row of the trace (it is in another segment, not arrived yet, or starts later) is
//! stored as its ID.

use weft_model::{SpanId, TraceId};

use crate::StoreError;

/// A span's parent as a segment row stores it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ParentLink {
    Root,
    /// The parent is this many rows earlier, in the same trace.
    RowsBack(u32),
    Explicit(SpanId),
}

impl ParentLink {
    pub(crate) fn explicit(self) -> Option<SpanId> {
        match self {
            ParentLink::Explicit(id) => Some(id),
            _ => None,
        }
    }

    pub(crate) fn rows_back(self) -> Option<u32> {
        match self {
            ParentLink::RowsBack(rows) => Some(rows),
            _ => None,
        }
    }
}

/// Turns parents into links, fed every row of a segment in order.
#[derive(Default)]
pub(crate) struct ParentEncoder {
    trace: Option<TraceId>,
    rows_of_trace: std::collections::HashMap<SpanId, usize>,
    row_in_trace: usize,
}

impl ParentEncoder {
    pub(crate) fn encode(
        &mut self,
        trace_id: TraceId,
        span_id: SpanId,
        parent: Option<SpanId>,
    ) -> ParentLink {
        if self.trace != Some(trace_id) {
            self.trace = Some(trace_id);
            self.rows_of_trace.clear();
            self.row_in_trace = 0;
        }
        let link = match parent {
            None => ParentLink::Root,
            Some(parent) => match self.rows_of_trace.get(&parent) {
                Some(&row) => u32::try_from(self.row_in_trace - row)
                    .map_or(ParentLink::Explicit(parent), ParentLink::RowsBack),
                None => ParentLink::Explicit(parent),
            },
        };
        self.rows_of_trace
            .entry(span_id)
            .or_insert(self.row_in_trace);
        self.row_in_trace += 1;
        link
    }
}

/// Turns links back into parents, fed every row of a segment's traces in segment order.
#[derive(Default)]
pub(crate) struct ParentResolver {
    trace: Option<TraceId>,
    span_ids_of_trace: Vec<SpanId>,
}

impl ParentResolver {
    pub(crate) fn resolve(
        &mut self,
        trace_id: TraceId,
        span_id: SpanId,
        link: ParentLink,
    ) -> Result<Option<SpanId>, StoreError> {
        if self.trace != Some(trace_id) {
            self.trace = Some(trace_id);
            self.span_ids_of_trace.clear();
        }
        let parent = match link {
            ParentLink::Root => None,
            ParentLink::Explicit(parent) => Some(parent),
            ParentLink::RowsBack(rows) => {
                let index = self
                    .span_ids_of_trace
                    .len()
                    .checked_sub(rows as usize)
                    .filter(|_| rows > 0)
                    .ok_or_else(|| {
                        StoreError::Corrupt(format!(
                            "span {} points {rows} rows back to its parent, past its trace's start",
                            span_id.to_hex()
                        ))
                    })?;
                Some(self.span_ids_of_trace[index])
            }
        };
        self.span_ids_of_trace.push(span_id);
        Ok(parent)
    }
}
