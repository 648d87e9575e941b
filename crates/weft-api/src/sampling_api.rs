//! The sampling and storage API: rules (read and replaced at run time), sampler status,
//! per-trace explanations, and storage accounting per tier.

use std::collections::BTreeSet;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use weft_api_types::{
    ClusterStorage, ClusterTable, ClusterWriter, ColdToHot, ColdWriterPassed, ColdWriterProgress,
    DefaultShare, FilterSizing, LogTierStorage, LogsStorage, OpenShard, RuleCounters,
    RuleMatchAnswer, SamplingExplanation, SamplingRulesAnswer, SamplingStatus, SamplingStorage,
    ShardState, SpanCount, StorageAnswer, TierSpans, TierStorage,
};
use weft_model::Span;
use weft_sampling::{shard_window_of, ShardWindow};
use weft_storage::{LogStoreStats, SpanReader, StoreStats, TraceQuery};

use crate::params::{now_unix_nanos, parse_trace_id, ApiError, Params};
use crate::query_api::blocking;
use weft_processors::cold_writer::ColdProgress;
use weft_processors::sampling::{SamplingHub, SetRulesError};

#[derive(Clone)]
pub struct SamplingApiState {
    pub hub: Arc<SamplingHub>,
    pub hot: Arc<dyn SpanReader>,
    pub cold: Arc<dyn SpanReader>,
    pub progress: Arc<ColdProgress>,
    pub hot_retention: Duration,
    pub cold_retention: Duration,
    pub logs: Arc<weft_query::tiers::LogTiers>,
}

pub fn router(state: SamplingApiState) -> Router {
    Router::new()
        .route("/api/v1/sampling", get(status))
        .route("/api/v1/sampling/rules", get(rules).put(set_rules))
        .route("/api/v1/sampling/explain/{trace_id}", get(explain))
        .route("/api/v1/storage", get(storage))
        .with_state(state)
}

/// The same routes answering 501 with `message`, on a node without sampling state; but
/// `/api/v1/storage` on a node over a cluster's store (a query node) reports that store.
pub fn disabled_router(message: &'static str, hot: Arc<dyn SpanReader>) -> Router {
    let answer = move || async move { ApiError::unimplemented(message) };
    Router::new()
        .route("/api/v1/sampling", get(answer))
        .route("/api/v1/sampling/rules", get(answer).put(answer))
        .route("/api/v1/sampling/explain/{trace_id}", get(answer))
        .route(
            "/api/v1/storage",
            get(move |raw: RawQuery| cluster_only_storage(raw, Arc::clone(&hot), message)),
        )
}

/// The store a cluster shares, as the API answers it; `None` for a store of one process.
async fn cluster_storage(hot: Arc<dyn SpanReader>) -> Result<Option<ClusterStorage>, ApiError> {
    let stats = blocking(move || Ok(hot.cluster_stats()?)).await?;
    Ok(stats.map(|stats| ClusterStorage {
        tables: stats
            .tables
            .into_iter()
            .map(|table| ClusterTable {
                shard: table.shard,
                table: table.table,
                partitions: table.partitions,
                parts: table.parts,
                rows: table.rows,
                bytes_on_disk: table.bytes_on_disk,
            })
            .collect(),
        writers: stats
            .writers
            .into_iter()
            .map(|writer| ClusterWriter {
                topic: writer.topic,
                partition: writer.partition,
                position: writer.position,
                written_unix_nano: writer.written_unix_nanos.to_string(),
            })
            .collect(),
    }))
}

/// `/api/v1/storage` on a node without local tiers, sampler or cold writer: the cluster's store,
/// the rest empty (nothing local, no cold pass, no shard closed here); 501 when there is no
/// cluster store either.
async fn cluster_only_storage(
    RawQuery(raw): RawQuery,
    hot: Arc<dyn SpanReader>,
    message: &'static str,
) -> Result<Json<StorageAnswer>, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    let Some(cluster) = cluster_storage(hot).await? else {
        return Err(ApiError::unimplemented(message));
    };
    Ok(Json(StorageAnswer::cluster_only(cluster)))
}

async fn rules(
    State(state): State<SamplingApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<SamplingRulesAnswer>, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    Ok(Json(rules_answer(&state)))
}

fn rules_answer(state: &SamplingApiState) -> SamplingRulesAnswer {
    let (rules, source) = state.hub.rules();
    SamplingRulesAnswer {
        rules: serde_json::to_value(rules).expect("rules serialize"),
        source: source.as_str().to_owned(),
    }
}

async fn set_rules(
    State(state): State<SamplingApiState>,
    body: Bytes,
) -> Result<Json<SamplingRulesAnswer>, ApiError> {
    let rules: weft_sampling::SamplingConfig = serde_json::from_slice(&body)
        .map_err(|error| ApiError::invalid(format!("invalid sampling rules: {error}")))?;
    let hub = Arc::clone(&state.hub);
    blocking(move || {
        hub.set_rules(rules).map_err(|error| match error {
            SetRulesError::Invalid(error) => ApiError::invalid(error.to_string()),
            SetRulesError::Io(message) => ApiError {
                code: weft_model::ErrorCode::Internal,
                message,
            },
        })
    })
    .await?;
    Ok(Json(rules_answer(&state)))
}

async fn status(
    State(state): State<SamplingApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<SamplingStatus>, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    let hub = &state.hub;
    let settings = hub.settings;
    let (rules, source) = hub.rules();
    let open_shards: Vec<OpenShard> = hub.with_sampler(|sampler| {
        sampler
            .open_shards()
            .map(|shard| OpenShard {
                start: shard.window().start_unix_seconds,
                end: shard.window().end_unix_seconds(),
                keys: shard.inserted_keys(),
                fill_ratio: shard.fill_ratio(),
                estimated_false_positive_rate: shard.measured_false_positive_rate(),
                bytes: shard.bytes() as u64,
            })
            .collect()
    });
    let closed_shards = hub.closed_shards().map_err(|error| ApiError {
        code: weft_model::ErrorCode::Internal,
        message: format!("{error:#}"),
    })?;
    Ok(Json(SamplingStatus {
        rules: serde_json::to_value(rules).expect("rules serialize"),
        rules_source: source.as_str().to_owned(),
        shard_width_seconds: u64::from(settings.shard_width_seconds),
        cold_delay_seconds: settings.cold_delay.as_secs(),
        filter: FilterSizing {
            expected_traces: settings.sizing.expected_keys,
            false_positive_rate: settings.sizing.false_positive_rate,
        },
        counters: hub
            .counters()
            .into_iter()
            .map(|(rule, counters)| RuleCounters {
                rule,
                matched_spans: counters.matched_spans,
                kept_traces: counters.kept_traces,
                limited_traces: counters.limited_traces,
            })
            .collect(),
        open_shards,
        closed_shards: closed_shards.len() as u64,
        closed_shard_bytes: closed_shards.iter().map(|(_, bytes)| bytes).sum(),
        closed_through: hub.closed_through(),
        head_unix_seconds: hub.head_unix_nanos() / 1_000_000_000,
    }))
}

/// A tier's accounting; `None` for a store not on local disk (it has no segments to count).
fn tier_storage(stats: Option<&StoreStats>, retention: Duration) -> Option<TierStorage> {
    let stats = stats?;
    Some(TierStorage {
        retention_seconds: retention.as_secs(),
        partitions: stats.partitions,
        segments: stats.segments,
        spans: stats.segment_rows + stats.memtable_spans,
        segment_spans: stats.segment_rows,
        memtable_spans: stats.memtable_spans,
        bytes: stats.segment_bytes,
        partitions_dropped: stats.partitions_dropped,
    })
}

fn ratio(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator != 0).then(|| numerator as f64 / denominator as f64)
}

fn cold_to_hot(hot: Option<&StoreStats>, cold: Option<&StoreStats>) -> ColdToHot {
    let (Some(hot), Some(cold)) = (hot, cold) else {
        return ColdToHot {
            bytes: None,
            spans: None,
        };
    };
    ColdToHot {
        bytes: ratio(cold.segment_bytes, hot.segment_bytes),
        spans: ratio(
            cold.segment_rows + cold.memtable_spans,
            hot.segment_rows + hot.memtable_spans,
        ),
    }
}

async fn storage(
    State(state): State<SamplingApiState>,
    RawQuery(raw): RawQuery,
) -> Result<Json<StorageAnswer>, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    let hot = state.hot.local_stats();
    let cold = state.cold.local_stats();
    let progress = &state.progress;
    let passed_through = progress.passed_through.load(Ordering::Acquire);
    let head = state.hub.head_unix_nanos() / 1_000_000_000;
    Ok(Json(StorageAnswer {
        hot: tier_storage(hot.as_ref(), state.hot_retention),
        cold: tier_storage(cold.as_ref(), state.cold_retention),
        cold_to_hot: cold_to_hot(hot.as_ref(), cold.as_ref()),
        cold_writer: ColdWriterProgress {
            passed_through: (passed_through > 0).then_some(passed_through),
            lag_seconds: (passed_through > 0).then(|| head.saturating_sub(passed_through)),
            windows: progress.windows.load(Ordering::Relaxed),
            parts: progress.parts.load(Ordering::Relaxed),
            scanned_spans: progress.scanned_spans.load(Ordering::Relaxed),
            copied_spans: progress.copied_spans.load(Ordering::Relaxed),
            copied_log_records: progress.copied_log_records.load(Ordering::Relaxed),
            errors: progress.errors.load(Ordering::Relaxed),
        },
        logs: LogsStorage {
            hot: state.logs.hot.local_stats().map(log_tier_storage),
            cold: state.logs.cold.local_stats().map(log_tier_storage),
        },
        sampling: SamplingStorage {
            closed_through: state.hub.closed_through(),
            closed_shards: state
                .hub
                .closed_shards()
                .map_or(0, |shards| shards.len() as u64),
        },
        cluster: cluster_storage(Arc::clone(&state.hot)).await?,
    }))
}

/// A log store's accounting: committed records and files, what waits in memory.
fn log_tier_storage(stats: LogStoreStats) -> LogTierStorage {
    LogTierStorage {
        records: stats.records,
        files: stats.files as u64,
        bytes: stats.bytes,
        memtable_records: stats.memtable_records as u64,
        oldest_unix_nano: stats.oldest_time_unix_nanos.map(|nanos| nanos.to_string()),
        newest_unix_nano: stats.newest_time_unix_nanos.map(|nanos| nanos.to_string()),
    }
}

/// A shard window's state for one trace.
struct WindowState {
    window: ShardWindow,
    /// `open`, `closed` (a shard file) or `missing` (closed, nothing kept in it).
    state: &'static str,
    contains: bool,
}

fn window_states(
    state: &SamplingApiState,
    trace_id: &weft_model::TraceId,
    spans: &[Span],
) -> anyhow::Result<Vec<WindowState>> {
    let width = state.hub.settings.shard_width_seconds;
    let mut windows: BTreeSet<ShardWindow> = spans
        .iter()
        .map(|span| shard_window_of(trace_id, span.start_time_unix_nanos, width).0)
        .collect();
    if windows.is_empty() {
        // No spans: the ID's own time, when Weft issued it.
        let (window, from_id) = shard_window_of(trace_id, now_unix_nanos(), width);
        if from_id {
            windows.insert(window);
        }
    }
    let closed_through = state.hub.closed_through();
    windows
        .into_iter()
        .map(|window| {
            if window.end_unix_seconds() <= closed_through {
                Ok(match state.hub.closed_shard(window)? {
                    Some(shard) => WindowState {
                        window,
                        state: "closed",
                        contains: shard.contains(trace_id),
                    },
                    None => WindowState {
                        window,
                        state: "missing",
                        contains: false,
                    },
                })
            } else {
                let contains = state.hub.with_sampler(|sampler| {
                    sampler
                        .shard(window)
                        .is_some_and(|shard| shard.contains(trace_id))
                });
                Ok(WindowState {
                    window,
                    state: "open",
                    contains,
                })
            }
        })
        .collect()
}

fn share_text(share: f64) -> String {
    let percent = share * 100.0;
    let text = format!("{percent:.4}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    format!("{text} %")
}

async fn explain(
    State(state): State<SamplingApiState>,
    Path(trace_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<SamplingExplanation>, ApiError> {
    Params::parse(raw.as_deref(), &[])?;
    let trace_id = parse_trace_id(&trace_id)?;
    blocking(move || {
        let query = TraceQuery::new(trace_id);
        let hot_spans = state.hot.trace(&query)?;
        let cold_spans = state.cold.trace(&query)?;
        if hot_spans.is_empty() && cold_spans.is_empty() {
            return Err(ApiError::not_found(format!(
                "trace {} is in neither the hot nor the cold tier",
                trace_id.to_hex()
            )));
        }
        let spans = if hot_spans.len() >= cold_spans.len() {
            &hot_spans
        } else {
            &cold_spans
        };
        let windows = window_states(&state, &trace_id, spans).map_err(|error| ApiError {
            code: weft_model::ErrorCode::Internal,
            message: format!("{error:#}"),
        })?;
        let explanation = state.hub.with_sampler(|sampler| sampler.explain(spans));
        let (decision, summary) = decision_of(&state, &windows, &explanation);
        let passed_through = state.progress.passed_through.load(Ordering::Acquire);
        Ok(Json(SamplingExplanation {
            trace_id: trace_id.to_hex(),
            decision: decision.to_owned(),
            summary,
            rules: explanation
                .matches
                .iter()
                .map(|found| {
                    let span = &spans[found.span_index];
                    RuleMatchAnswer {
                        rule: found.rule.clone(),
                        span_id: span.span_id.to_hex(),
                        service: span.service_name.to_string(),
                        operation: span.name.to_string(),
                        rate_limited: found.rate_limited,
                    }
                })
                .collect(),
            default_share: DefaultShare {
                share: explanation.default_share,
                in_share: explanation.in_default_share,
            },
            shards: windows
                .iter()
                .map(|window| ShardState {
                    start: window.window.start_unix_seconds,
                    end: window.window.end_unix_seconds(),
                    state: window.state.to_owned(),
                    contains_trace: window.contains,
                })
                .collect(),
            tiers: TierSpans {
                hot: SpanCount {
                    spans: hot_spans.len() as u64,
                },
                cold: SpanCount {
                    spans: cold_spans.len() as u64,
                },
            },
            cold_writer: ColdWriterPassed {
                passed_through: (passed_through > 0).then_some(passed_through),
            },
        }))
    })
    .await
}

/// The decision (`kept`, `pending`, `not_kept`) and a sentence saying why.
fn decision_of(
    state: &SamplingApiState,
    windows: &[WindowState],
    explanation: &weft_sampling::Explanation,
) -> (&'static str, String) {
    let kept = windows.iter().any(|window| window.contains);
    let open = windows.iter().any(|window| window.state == "open");
    let mut rule_names: Vec<&str> = explanation
        .matches
        .iter()
        .map(|found| found.rule.as_str())
        .collect();
    rule_names.dedup();
    let rule_list = rule_names.join(", ");
    let share = share_text(explanation.default_share);
    if kept {
        let why = if !explanation.matches.is_empty() {
            format!(
                "rule{} {rule_list} {} on {} span{}",
                if rule_names.len() > 1 { "s" } else { "" },
                if rule_names.len() > 1 {
                    "hold"
                } else {
                    "holds"
                },
                explanation.matches.len(),
                if explanation.matches.len() > 1 {
                    "s"
                } else {
                    ""
                }
            )
        } else if explanation.in_default_share {
            format!("it is in the {share} random share")
        } else {
            "no rule holds on the spans stored now (a span since dropped marked it, or a Bloom filter false positive)".to_owned()
        };
        ("kept", format!("Kept for the cold tier: {why}."))
    } else if open {
        let closes = windows
            .iter()
            .map(|window| window.window.end_unix_seconds())
            .max()
            .unwrap_or(0)
            + state.hub.settings.cold_delay.as_secs();
        let so_far = if rule_list.is_empty() {
            "no rule holds so far".to_owned()
        } else {
            format!("rules holding so far: {rule_list}")
        };
        (
            "pending",
            format!(
                "Not decided yet: its shard closes at Unix time {closes} (--cold-delay after its window); {so_far}."
            ),
        )
    } else if !explanation.matches.is_empty() {
        let limited = explanation.matches.iter().all(|found| found.rate_limited);
        let why = if limited {
            format!("rule {rule_list} holds, but its rate limit refused the trace")
        } else {
            format!(
                "rule {rule_list} holds now, but not when its window closed (a span later than --cold-delay, or rules changed since)"
            )
        };
        ("not_kept", format!("Not kept: {why}."))
    } else {
        (
            "not_kept",
            format!("Not kept: no rule holds and the trace is not in the {share} random share."),
        )
    }
}
