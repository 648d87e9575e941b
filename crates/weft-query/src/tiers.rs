//! The hot and cold tiers behind one query surface: which tier a trace lookup or a search
//! reads, and merging answers when both are read.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use weft_model::{LogRecord, Span, SpanKind, TraceId, TraceIdTimeWindow};
use weft_storage::{
    AttributeKeyInfo, LogReader, OperationInfo, SearchQuery, SearchResult, ServiceCatalog,
    SpanReader, StoreError, StoreStats, TraceQuery, TraceSummary,
};

use weft_model::now_unix_nanos;
/// The hot and cold log stores: log records follow their trace's spans through the tiers.
pub struct LogTiers {
    pub hot: Arc<dyn LogReader>,
    pub cold: Arc<dyn LogReader>,
}

/// One tier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Hot,
    Cold,
}

impl Tier {
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Hot => "hot",
            Tier::Cold => "cold",
        }
    }
}

/// What a query asks for with `tier=`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TierChoice {
    /// Not given: by time — the hot tier within its retention, the cold tier beyond.
    Auto,
    Hot,
    Cold,
    All,
}

impl TierChoice {
    pub fn parse(text: &str) -> Result<TierChoice, String> {
        match text {
            "hot" => Ok(TierChoice::Hot),
            "cold" => Ok(TierChoice::Cold),
            "all" => Ok(TierChoice::All),
            _ => Err("expected hot, cold or all".to_owned()),
        }
    }
}

/// A lookup near the hot retention's edge reads both tiers: clocks differ and partitions are
/// dropped whole.
const RETENTION_EDGE: Duration = Duration::from_secs(3_600);

/// A trace summary and the tier it came from.
pub struct TieredSummary {
    pub summary: TraceSummary,
    pub tier: Tier,
}

pub struct TieredSearch {
    pub traces: Vec<TieredSummary>,
    pub partial: bool,
    pub scanned_spans: u64,
    /// The tiers read, hot first.
    pub tiers: Vec<Tier>,
}

pub struct Tiers {
    pub hot: Arc<dyn SpanReader>,
    pub cold: Arc<dyn SpanReader>,
    pub hot_retention: Duration,
    /// The log records beside the spans, tiered alike.
    pub logs: Arc<LogTiers>,
}

/// Log records are read this far around a trace's spans: a service logs before its span
/// starts and after it ends, and clocks differ.
const LOG_TIME_MARGIN_NANOS: u64 = 15 * 60 * 1_000_000_000;

impl Tiers {
    /// The tiers a trace lookup reads, in order: by the time in a Weft-issued ID (hot while it
    /// is within the hot retention, cold past it, both near the edge); both for a foreign ID.
    fn tiers_for_trace(&self, trace_id: &TraceId, choice: TierChoice) -> Vec<Tier> {
        match choice {
            TierChoice::Hot => return vec![Tier::Hot],
            TierChoice::Cold => return vec![Tier::Cold],
            TierChoice::All => return vec![Tier::Hot, Tier::Cold],
            TierChoice::Auto => {}
        }
        let now_seconds = now_unix_nanos() / 1_000_000_000;
        let plausible = TraceIdTimeWindow::around(now_seconds, 400 * 86_400, 3_600);
        let Some(started) = trace_id.embedded_time_unix_seconds(plausible) else {
            return vec![Tier::Hot, Tier::Cold];
        };
        let age = Duration::from_secs(now_seconds.saturating_sub(started));
        if age + RETENTION_EDGE < self.hot_retention {
            vec![Tier::Hot]
        } else if age > self.hot_retention + RETENTION_EDGE {
            vec![Tier::Cold]
        } else {
            vec![Tier::Hot, Tier::Cold]
        }
    }

    fn store(&self, tier: Tier) -> &Arc<dyn SpanReader> {
        match tier {
            Tier::Hot => &self.hot,
            Tier::Cold => &self.cold,
        }
    }

    /// Reads one trace from the tiers `choice` and the ID's time point to, keeping the answer
    /// `size` calls larger (ties to the earlier tier). With `Auto`, a miss there reads the
    /// other tier too: a random ID's first bytes read as a plausible time about once in a
    /// hundred, so the time in the ID is a guess.
    fn read_trace<T>(
        &self,
        trace_id: &TraceId,
        choice: TierChoice,
        read: impl Fn(&dyn SpanReader) -> Result<T, StoreError>,
        size: impl Fn(&T) -> usize,
    ) -> Result<(T, Tier), StoreError> {
        let guessed = self.tiers_for_trace(trace_id, choice);
        let mut best: Option<(T, Tier)> = None;
        let keep_larger = |tier: Tier, best: &mut Option<(T, Tier)>| {
            let found = read(self.store(tier).as_ref())?;
            if best
                .as_ref()
                .is_none_or(|(kept, _)| size(&found) > size(kept))
            {
                *best = Some((found, tier));
            }
            Ok::<(), StoreError>(())
        };
        for tier in &guessed {
            keep_larger(*tier, &mut best)?;
        }
        if choice == TierChoice::Auto && best.as_ref().is_some_and(|(kept, _)| size(kept) == 0) {
            for tier in [Tier::Hot, Tier::Cold] {
                if !guessed.contains(&tier) {
                    keep_larger(tier, &mut best)?;
                }
            }
        }
        Ok(best.expect("at least one tier is read"))
    }

    /// A trace's spans and the tier that answered. When both tiers are read, the one with more
    /// spans answers (the hot tier has every span while it holds the trace; the cold tier,
    /// once hot retention has dropped part of it).
    pub fn trace(
        &self,
        query: &TraceQuery,
        choice: TierChoice,
    ) -> Result<(Vec<Span>, Tier), StoreError> {
        self.read_trace(
            &query.trace_id,
            choice,
            |store| store.trace(query),
            Vec::len,
        )
    }

    /// A trace's summary from its spans' heads (nothing decoded beyond them), and the tier
    /// that answered, chosen as [`Tiers::trace`] chooses.
    pub fn trace_summary(
        &self,
        trace_id: &TraceId,
        choice: TierChoice,
    ) -> Result<(Option<TraceSummary>, Tier), StoreError> {
        self.read_trace(
            trace_id,
            choice,
            |store| store.trace_summary(*trace_id),
            |summary| summary.as_ref().map_or(0, |summary| summary.span_count),
        )
    }

    /// A trace's log records, oldest first, and the log tier they came from: `tier` when
    /// given (the tier [`Tiers::trace`] found the spans in), else the hot tier, or the cold one
    /// when the hot tier has none. Read around the spans' time (from the earliest start to the
    /// latest end) when it is known.
    pub fn trace_logs(
        &self,
        trace_id: &TraceId,
        spans_time_range: Option<(u64, u64)>,
        tier: Option<Tier>,
    ) -> Result<(Vec<LogRecord>, Tier), StoreError> {
        let hint = spans_time_range.map(|(start, end)| {
            (
                start.saturating_sub(LOG_TIME_MARGIN_NANOS),
                end.saturating_add(LOG_TIME_MARGIN_NANOS),
            )
        });
        let read = |tier: Tier| match tier {
            Tier::Hot => self.logs.hot.logs_of_trace(trace_id, hint),
            Tier::Cold => self.logs.cold.logs_of_trace(trace_id, hint),
        };
        if let Some(tier) = tier {
            return Ok((read(tier)?, tier));
        }
        let hot = read(Tier::Hot)?;
        if !hot.is_empty() {
            return Ok((hot, Tier::Hot));
        }
        let cold = read(Tier::Cold)?;
        let tier = if cold.is_empty() {
            Tier::Hot
        } else {
            Tier::Cold
        };
        Ok((cold, tier))
    }

    /// A search over the tiers its time range and `choice` name. `Auto` reads the hot tier for
    /// the part of the range within the hot retention and the cold tier for the part before
    /// it; traces found in both are listed once, from the hot tier.
    pub fn search(
        &self,
        query: &SearchQuery,
        choice: TierChoice,
    ) -> Result<TieredSearch, StoreError> {
        let hot_edge = now_unix_nanos().saturating_sub(self.hot_retention.as_nanos() as u64);
        let mut reads: Vec<(Tier, SearchQuery)> = Vec::new();
        match choice {
            TierChoice::Hot => reads.push((Tier::Hot, query.clone())),
            TierChoice::Cold => reads.push((Tier::Cold, query.clone())),
            TierChoice::All => {
                reads.push((Tier::Hot, query.clone()));
                reads.push((Tier::Cold, query.clone()));
            }
            TierChoice::Auto => {
                if query.end_unix_nanos >= hot_edge {
                    reads.push((
                        Tier::Hot,
                        SearchQuery {
                            start_unix_nanos: query.start_unix_nanos.max(hot_edge),
                            ..query.clone()
                        },
                    ));
                }
                if query.start_unix_nanos < hot_edge {
                    reads.push((
                        Tier::Cold,
                        SearchQuery {
                            end_unix_nanos: query.end_unix_nanos.min(hot_edge),
                            ..query.clone()
                        },
                    ));
                }
            }
        }
        let mut merged = TieredSearch {
            traces: Vec::new(),
            partial: false,
            scanned_spans: 0,
            tiers: Vec::new(),
        };
        let mut seen: HashSet<TraceId> = HashSet::new();
        for (tier, tier_query) in reads {
            let SearchResult {
                traces,
                partial,
                scanned_spans,
            } = self.store(tier).search(&tier_query)?;
            merged.partial |= partial;
            merged.scanned_spans += scanned_spans;
            merged.tiers.push(tier);
            for summary in traces {
                if seen.insert(summary.trace_id) {
                    merged.traces.push(TieredSummary { summary, tier });
                }
            }
        }
        merged.traces.sort_by(|left, right| {
            right
                .summary
                .start_unix_nanos
                .cmp(&left.summary.start_unix_nanos)
        });
        merged.traces.truncate(query.limit);
        Ok(merged)
    }

    /// Services of either tier.
    pub fn services(&self) -> Result<Vec<String>, StoreError> {
        let mut services = self.hot.services()?;
        services.extend(self.cold.services()?);
        services.sort();
        services.dedup();
        Ok(services)
    }

    /// Operations of either tier (by name and kind).
    pub fn operations(
        &self,
        service: &str,
        kind: Option<SpanKind>,
    ) -> Result<Vec<OperationInfo>, StoreError> {
        let mut operations = self.hot.operations(service, kind)?;
        let known: HashSet<(String, SpanKind)> = operations
            .iter()
            .map(|operation| (operation.name.clone(), operation.span_kind))
            .collect();
        operations.extend(
            self.cold
                .operations(service, kind)?
                .into_iter()
                .filter(|operation| {
                    !known.contains(&(operation.name.clone(), operation.span_kind))
                }),
        );
        operations.sort_by(|left, right| left.name.cmp(&right.name));
        Ok(operations)
    }

    /// The attribute catalog is the hot tier's: what is being sent now.
    pub fn catalog(
        &self,
        service: Option<&str>,
        top_values: usize,
    ) -> Result<Vec<ServiceCatalog>, StoreError> {
        self.hot.catalog(service, top_values)
    }

    pub fn attribute_keys(
        &self,
        service: Option<&str>,
    ) -> Result<Vec<AttributeKeyInfo>, StoreError> {
        self.hot.attribute_keys(service)
    }

    pub fn attribute_values(&self, key: &str, prefix: &str) -> Result<Vec<String>, StoreError> {
        self.hot.attribute_values(key, prefix)
    }

    /// The hot store's sizes, when it is on local disk.
    pub fn hot_local_stats(&self) -> Option<StoreStats> {
        self.hot.local_stats()
    }
}

/// From the earliest start to the latest end of `spans`.
pub fn spans_time_range(spans: &[Span]) -> Option<(u64, u64)> {
    let start = spans.iter().map(|span| span.start_time_unix_nanos).min()?;
    let end = spans
        .iter()
        .map(|span| span.end_time_unix_nanos.max(span.start_time_unix_nanos))
        .max()?;
    Some((start, end))
}
