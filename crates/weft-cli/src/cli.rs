//! `weft trace` and `weft search`: the terminal against a running server's API.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;

use anyhow::Context;
use weft_codec::ConversionOptions;
use weft_model::{Span, SpanId, StatusCode};

const DEFAULT_SERVER: &str = "http://localhost:16686";

#[derive(Debug, Clone, clap::Args)]
pub struct TraceArgs {
    /// The trace ID (hex).
    pub trace_id: String,
    /// The Weft server's HTTP API.
    #[arg(long, env = "WEFT_SERVER", default_value = DEFAULT_SERVER)]
    pub server: String,
    /// Width of the bar column, in characters.
    #[arg(long, default_value_t = 40)]
    pub bar_width: usize,
    /// Colours: auto (when stdout is a terminal and NO_COLOR is unset), always or never.
    #[arg(long, default_value = "auto", value_parser = ["auto", "always", "never"])]
    pub color: String,
    /// Which tier to read: hot, cold or all. [default: by the time in the trace ID]
    #[arg(long, value_parser = ["hot", "cold", "all"])]
    pub tier: Option<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct StatusArgs {
    /// The Weft server's HTTP API.
    #[arg(long, env = "WEFT_SERVER", default_value = DEFAULT_SERVER)]
    pub server: String,
}

#[derive(Debug, Clone, clap::Args)]
pub struct SearchArgs {
    #[arg(long)]
    pub service: Option<String>,
    #[arg(long)]
    pub operation: Option<String>,
    /// server, client, internal, producer or consumer.
    #[arg(long)]
    pub span_kind: Option<String>,
    /// `key=value`, on the same span as the other span conditions; repeat to AND.
    #[arg(long = "attr", value_name = "KEY=VALUE")]
    pub attributes: Vec<String>,
    /// A business key value (order ID, user ID …).
    #[arg(long)]
    pub business_key: Option<String>,
    /// Only spans with status ERROR.
    #[arg(long)]
    pub error: bool,
    /// Go-style duration, e.g. 250ms.
    #[arg(long)]
    pub min_duration: Option<String>,
    #[arg(long)]
    pub max_duration: Option<String>,
    /// How far back from now to look, e.g. 15m, 6h.
    #[arg(long, default_value = "1h")]
    pub lookback: String,
    #[arg(long)]
    pub trace_id_prefix: Option<String>,
    #[arg(long)]
    pub root_service: Option<String>,
    #[arg(long)]
    pub root_operation: Option<String>,
    #[arg(long, default_value_t = 20)]
    pub limit: usize,
    /// Which tier to search: hot, cold or all. [default: hot within its retention, cold
    /// beyond]
    #[arg(long, value_parser = ["hot", "cold", "all"])]
    pub tier: Option<String>,
    /// The Weft server's HTTP API.
    #[arg(long, env = "WEFT_SERVER", default_value = DEFAULT_SERVER)]
    pub server: String,
}

fn use_color(choice: &str) -> bool {
    match choice {
        "always" => true,
        "never" => false,
        _ => {
            std::env::var_os("NO_COLOR").is_none()
                && std::io::IsTerminal::is_terminal(&std::io::stdout())
        }
    }
}

async fn get(url: &str, query: &[(&str, String)]) -> anyhow::Result<reqwest::Response> {
    let response = reqwest::Client::new()
        .get(url)
        .query(query)
        .send()
        .await
        .with_context(|| format!("requesting {url}"))?;
    if response.status().is_success() {
        return Ok(response);
    }
    let status = response.status();
    let body: serde_json::Value = response.json().await.unwrap_or_default();
    let message = body["error"]["message"]
        .as_str()
        .unwrap_or("no error message")
        .to_owned();
    anyhow::bail!("{status}: {message}")
}

pub async fn run_trace(args: TraceArgs) -> anyhow::Result<()> {
    let url = format!(
        "{}/api/v1/traces/{}",
        args.server.trim_end_matches('/'),
        args.trace_id
    );
    let query: Vec<(&str, String)> = args
        .tier
        .iter()
        .map(|tier| ("tier", tier.clone()))
        .collect();
    let response = get(&url, &query).await?;
    if let Some(tier) = response.headers().get("weft-tier") {
        eprintln!("from the {} tier", tier.to_str().unwrap_or("?"));
    }
    let body = response.bytes().await?;
    let request = weft_codec::decode_otlp_json(&body).context("decoding the trace")?;
    let mut spans = weft_codec::spans_from_otlp(request, &ConversionOptions::default()).spans;
    spans.sort_by_key(|span| (span.start_time_unix_nanos, span.span_id));
    print!(
        "{}",
        render_waterfall(&spans, args.bar_width, use_color(&args.color))
    );
    Ok(())
}

pub async fn run_search(args: SearchArgs) -> anyhow::Result<()> {
    let mut query: Vec<(&str, String)> = vec![
        ("lookback", args.lookback.clone()),
        ("limit", args.limit.to_string()),
    ];
    let optional = [
        ("service", &args.service),
        ("operation", &args.operation),
        ("spanKind", &args.span_kind),
        ("businessKey", &args.business_key),
        ("minDuration", &args.min_duration),
        ("maxDuration", &args.max_duration),
        ("traceIdPrefix", &args.trace_id_prefix),
        ("rootService", &args.root_service),
        ("rootOperation", &args.root_operation),
        ("tier", &args.tier),
    ];
    for (key, value) in optional {
        if let Some(value) = value {
            query.push((key, value.clone()));
        }
    }
    for attribute in &args.attributes {
        query.push(("attribute", attribute.clone()));
    }
    if args.error {
        query.push(("status", "error".into()));
    }
    let url = format!("{}/api/v1/search", args.server.trim_end_matches('/'));
    let answer: weft_api_types::SearchAnswer = get(&url, &query)
        .await?
        .json()
        .await
        .context("decoding the search answer")?;
    print!("{}", render_search(&answer));
    Ok(())
}

fn format_duration(nanos: u64) -> String {
    match nanos {
        0..=999 => format!("{nanos}ns"),
        1_000..=999_999 => format!("{:.1}µs", nanos as f64 / 1e3),
        1_000_000..=999_999_999 => format!("{:.1}ms", nanos as f64 / 1e6),
        _ => format!("{:.2}s", nanos as f64 / 1e9),
    }
}

fn format_time(unix_nanos: u64) -> String {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_nanos(unix_nanos);
    humantime::format_rfc3339_millis(time).to_string()
}

/// The search answer as a table.
pub fn render_search(answer: &weft_api_types::SearchAnswer) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:<24}  {:<32}  {:>9}  {:>5}  {:>6}  ROOT",
        "START", "TRACE ID", "DURATION", "SPANS", "ERRORS"
    );
    for found in &answer.traces {
        let trace = &found.summary;
        let _ = writeln!(
            out,
            "{:<24}  {:<32}  {:>9}  {:>5}  {:>6}  {}: {}",
            format_time(trace.start_time_unix_nano.parse().unwrap_or(0)),
            trace.trace_id,
            format_duration(trace.duration_nanos),
            trace.span_count,
            trace.error_count,
            trace.root_service_name,
            trace.root_span_name,
        );
    }
    let _ = writeln!(out, "{} traces", answer.traces.len());
    if answer.partial {
        let _ = writeln!(
            out,
            "partial: the search hit its scan budget; narrow the time range or add conditions"
        );
    }
    out
}

/// The trace as an indented tree with bars on a shared time axis; errors marked `!` (and red
/// with colour on). Spans whose parent is missing are shown as roots, marked.
pub fn render_waterfall(spans: &[Span], bar_width: usize, color: bool) -> String {
    let mut out = String::new();
    let Some(first) = spans.first() else {
        return "empty trace\n".into();
    };
    let start = spans
        .iter()
        .map(|s| s.start_time_unix_nanos)
        .min()
        .unwrap_or(0);
    let end = spans
        .iter()
        .map(|s| s.end_time_unix_nanos.max(s.start_time_unix_nanos))
        .max()
        .unwrap_or(start);
    let total = (end - start).max(1);
    let ids: HashSet<SpanId> = spans.iter().map(|s| s.span_id).collect();
    let mut children: HashMap<SpanId, Vec<usize>> = HashMap::new();
    let mut roots = Vec::new();
    for (index, span) in spans.iter().enumerate() {
        match span.parent_span_id {
            Some(parent) if ids.contains(&parent) && parent != span.span_id => {
                children.entry(parent).or_default().push(index)
            }
            _ => roots.push(index),
        }
    }
    let services: HashSet<&str> = spans.iter().map(|s| s.service_name.as_str()).collect();
    let errors = spans
        .iter()
        .filter(|s| s.status.code == StatusCode::Error)
        .count();
    let _ = writeln!(
        out,
        "trace {} · {} spans · {} services · {} errors · {}",
        first.trace_id.to_hex(),
        spans.len(),
        services.len(),
        errors,
        format_duration(total)
    );
    // Depth-first, children by start time; an explicit stack so deep traces cannot overflow.
    let mut rows: Vec<(usize, usize)> = Vec::new();
    let mut stack: Vec<(usize, usize)> = roots.iter().rev().map(|&index| (index, 0)).collect();
    let mut visited = vec![false; spans.len()];
    while let Some((index, depth)) = stack.pop() {
        if std::mem::replace(&mut visited[index], true) {
            continue;
        }
        rows.push((index, depth));
        if let Some(kids) = children.get(&spans[index].span_id) {
            for &kid in kids.iter().rev() {
                stack.push((kid, depth + 1));
            }
        }
    }
    let labels: Vec<String> = rows
        .iter()
        .map(|&(index, depth)| {
            let span = &spans[index];
            let orphan = span
                .parent_span_id
                .is_some_and(|parent| !ids.contains(&parent));
            format!(
                "{}{}{}: {}{}",
                if span.status.code == StatusCode::Error {
                    "! "
                } else {
                    "  "
                },
                "  ".repeat(depth),
                span.service_name,
                span.name,
                if orphan { " (parent missing)" } else { "" }
            )
        })
        .collect();
    let label_width = labels
        .iter()
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
        .min(80);
    for ((index, _), label) in rows.iter().zip(&labels) {
        let span = &spans[*index];
        let duration = span
            .end_time_unix_nanos
            .saturating_sub(span.start_time_unix_nanos);
        let offset = span.start_time_unix_nanos - start;
        let bar_start = (offset as u128 * bar_width as u128 / total as u128) as usize;
        let bar_length = ((duration as u128 * bar_width as u128).div_ceil(total as u128) as usize)
            .max(1)
            .min(bar_width.saturating_sub(bar_start).max(1));
        let bar = format!(
            "{}{}{}",
            " ".repeat(bar_start.min(bar_width)),
            "█".repeat(bar_length),
            " ".repeat(bar_width.saturating_sub(bar_start + bar_length))
        );
        let label: String = label.chars().take(label_width).collect();
        let line = format!(
            "{label:<label_width$}  {:>9}  |{bar}|",
            format_duration(duration)
        );
        if color && span.status.code == StatusCode::Error {
            let _ = writeln!(out, "\u{1b}[31m{line}\u{1b}[0m");
        } else {
            let _ = writeln!(out, "{line}");
        }
    }
    out
}

fn bytes_text(bytes: u64) -> String {
    let units = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < units.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", units[unit])
    }
}

/// The `weft status` report: storage per tier, the cold/hot ratio, the cold writer and the
/// sampling rules' counters; for a query node of the distributed shape (no sampling there),
/// the shared store's tables and every bus partition's writer checkpoint instead.
pub fn render_status(
    storage: &weft_api_types::StorageAnswer,
    sampling: Option<&weft_api_types::SamplingStatus>,
) -> String {
    let mut out = String::new();
    if let Some(cluster) = &storage.cluster {
        render_cluster(cluster, &mut out);
    }
    let Some(sampling) = sampling else {
        return out;
    };
    let _ = writeln!(
        out,
        "{:<6} {:>12} {:>14} {:>11} {:>10}",
        "tier", "bytes", "spans", "partitions", "retention"
    );
    for (tier, stats) in [("hot", &storage.hot), ("cold", &storage.cold)] {
        let Some(stats) = stats else {
            let _ = writeln!(out, "{tier:<6} not on local disk");
            continue;
        };
        let _ = writeln!(
            out,
            "{:<6} {:>12} {:>14} {:>11} {:>10}",
            tier,
            bytes_text(stats.bytes),
            stats.spans,
            stats.partitions,
            humantime::format_duration(std::time::Duration::from_secs(stats.retention_seconds))
                .to_string(),
        );
    }
    let ratio = |value: Option<f64>| {
        value.map_or("n/a".to_owned(), |ratio| format!("{:.1} %", ratio * 100.0))
    };
    let _ = writeln!(
        out,
        "cold/hot: {} of the bytes, {} of the spans",
        ratio(storage.cold_to_hot.bytes),
        ratio(storage.cold_to_hot.spans)
    );
    let writer = &storage.cold_writer;
    let _ = writeln!(
        out,
        "cold writer: passed through {}, {} behind the head; {} windows, {} spans copied of {} scanned, {} errors",
        writer
            .passed_through
            .map_or("nothing yet".to_owned(), |seconds| format!("unix {seconds}")),
        writer
            .lag_seconds
            .map_or("n/a".to_owned(), |seconds| format!("{seconds}s")),
        writer.windows,
        writer.copied_spans,
        writer.scanned_spans,
        writer.errors,
    );
    let _ = writeln!(
        out,
        "sampling: {}s shards closed {}s after their window; rules from the {}; {} open shards, {} closed",
        sampling.shard_width_seconds,
        sampling.cold_delay_seconds,
        sampling.rules_source,
        sampling.open_shards.len(),
        sampling.closed_shards,
    );
    let _ = writeln!(
        out,
        "{:<22} {:>14} {:>12} {:>14}",
        "rule", "matched spans", "kept traces", "rate limited"
    );
    for counters in &sampling.counters {
        let _ = writeln!(
            out,
            "{:<22} {:>14} {:>12} {:>14}",
            counters.rule, counters.matched_spans, counters.kept_traces, counters.limited_traces,
        );
    }
    out
}

fn render_cluster(cluster: &weft_api_types::ClusterStorage, out: &mut String) {
    let _ = writeln!(
        out,
        "{:<28} {:<16} {:>12} {:>14} {:>11} {:>6}",
        "clickhouse shard", "table", "bytes", "rows", "partitions", "parts"
    );
    for table in &cluster.tables {
        let _ = writeln!(
            out,
            "{:<28} {:<16} {:>12} {:>14} {:>11} {:>6}",
            table.shard,
            table.table,
            bytes_text(table.bytes_on_disk),
            table.rows,
            table.partitions,
            table.parts
        );
    }
    let _ = writeln!(
        out,
        "{:<28} {:>10} {:>14}",
        "writer (topic/partition)", "position", "written"
    );
    let now_nanos = weft_model::now_unix_nanos();
    for writer in &cluster.writers {
        let written = writer.written_unix_nano.parse::<u64>().ok();
        let age = written.map_or("n/a".to_owned(), |written| {
            format!("{}s ago", now_nanos.saturating_sub(written) / 1_000_000_000)
        });
        let _ = writeln!(
            out,
            "{:<28} {:>10} {:>14}",
            format!("{}/{}", writer.topic, writer.partition),
            writer.position,
            age
        );
    }
}

pub async fn run_status(args: StatusArgs) -> anyhow::Result<()> {
    let server = args.server.trim_end_matches('/');
    let storage: weft_api_types::StorageAnswer = get(&format!("{server}/api/v1/storage"), &[])
        .await?
        .json()
        .await
        .context("decoding the storage answer")?;
    // A query node of the distributed shape runs no sampler: its storage answer says so by
    // carrying the cluster, and the sampling report is left out.
    let sampling: Option<weft_api_types::SamplingStatus> = if storage.cluster.is_some() {
        None
    } else {
        Some(
            get(&format!("{server}/api/v1/sampling"), &[])
                .await?
                .json()
                .await
                .context("decoding the sampling answer")?,
        )
    };
    print!("{}", render_status(&storage, sampling.as_ref()));
    Ok(())
}

#[derive(Debug, Clone, clap::Args)]
pub struct DiagnoseArgs {
    /// The service whose findings and statistics to print (all services when absent).
    pub service: Option<String>,
    /// How far back from now to look, e.g. 15m, 6h.
    #[arg(long, default_value = "1h")]
    pub lookback: String,
    /// Rows per section.
    #[arg(long, default_value_t = 10)]
    pub limit: usize,
    /// The Weft server's HTTP API.
    #[arg(long, env = "WEFT_SERVER", default_value = DEFAULT_SERVER)]
    pub server: String,
}

fn first_example(trace_ids: &[String]) -> &str {
    trace_ids.first().map_or("-", String::as_str)
}

/// The `weft diagnose` report: findings named by pattern, the interruption rate, cycles, and
/// database, Redis and operation statistics.
pub fn render_diagnosis(overview: &weft_api_types::DiagnosticsOverview) -> String {
    let mut out = String::new();
    let service = overview.service.as_deref().unwrap_or("all services");
    let _ = writeln!(out, "diagnosis of {service}");
    match &overview.assembler {
        Some(assembler) => {
            let _ = writeln!(
                out,
                "  {} traces analyzed, {} open ({} spans); {} late spans, {} traces evicted early, {} cut at max age",
                assembler.traces_analyzed,
                assembler.open_traces,
                assembler.open_spans,
                assembler.late_spans,
                assembler.evicted_traces,
                assembler.cut_traces,
            );
        }
        None => {
            let _ = writeln!(out, "  statistics as committed (no assembler on this node)");
        }
    }
    render_findings(&mut out, overview);
    render_database(&mut out, &overview.database);
    render_redis(&mut out, &overview.redis);
    render_operations(&mut out, &overview.operations);
    out
}

fn render_findings(out: &mut String, overview: &weft_api_types::DiagnosticsOverview) {
    let _ = writeln!(out, "\nfindings ({})", overview.findings.len());
    if overview.findings.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for finding in &overview.findings {
        let _ = writeln!(
            out,
            "  {:<24} {} {:?}: {} trace(s), e.g. {}",
            finding.title,
            finding.service,
            finding.operation,
            finding.traces,
            first_example(&finding.example_trace_ids),
        );
        let _ = writeln!(out, "      {}", finding.last_message);
    }
    let interruptions = &overview.interruptions;
    let _ = writeln!(
        out,
        "\ntrace interruption rate: {:.1} % ({} of {} traces broken, {} truncated by Weft's limits)",
        interruptions.interruption_rate * 100.0,
        interruptions.broken_traces,
        interruptions.traces,
        interruptions.truncated_traces,
    );
    for row in interruptions
        .services
        .iter()
        .filter(|row| row.broken_traces > 0)
    {
        let _ = writeln!(
            out,
            "  {:<28} {:>5.1} % of {} traces, e.g. {}",
            row.service,
            row.interruption_rate * 100.0,
            row.traces,
            first_example(&row.example_trace_ids),
        );
    }
    for cycle in &overview.cycles {
        let _ = writeln!(
            out,
            "call cycle in the service graph: {}",
            cycle.services.join(" ⇄ ")
        );
    }
}

fn render_database(out: &mut String, database: &weft_api_types::DatabaseReport) {
    if database.statements.is_empty() {
        return;
    }
    let _ = writeln!(
        out,
        "\ndatabase statements (slow ≥ {})",
        format_duration(database.slow_threshold_nanos)
    );
    let _ = writeln!(
        out,
        "  {:>7} {:>6} {:>6} {:>9} {:>9}  statement",
        "calls", "errors", "slow", "p99", "max"
    );
    for row in &database.statements {
        let _ = writeln!(
            out,
            "  {:>7} {:>6} {:>6} {:>9} {:>9}  [{} {}] {}",
            row.calls,
            row.errors,
            row.slow_calls,
            format_duration(row.latency.p99_nanos),
            format_duration(row.latency.max_nanos),
            row.system,
            row.database,
            row.fingerprint,
        );
    }
}

fn render_redis(out: &mut String, redis: &weft_api_types::RedisReport) {
    if redis.commands.is_empty() {
        return;
    }
    let _ = writeln!(out, "\nredis commands");
    let _ = writeln!(
        out,
        "  {:>7} {:>6} {:>6} {:>8} {:>9}  command",
        "calls", "errors", "slow", "hit rate", "p99"
    );
    for row in &redis.commands {
        let _ = writeln!(
            out,
            "  {:>7} {:>6} {:>6} {:>8} {:>9}  {} {}",
            row.calls,
            row.errors,
            row.slow_calls,
            row.hit_rate
                .map_or("-".to_owned(), |rate| format!("{:.0} %", rate * 100.0)),
            format_duration(row.latency.p99_nanos),
            row.command,
            row.key_pattern,
        );
    }
    let hot: Vec<String> = redis
        .hot_keys
        .iter()
        .take(5)
        .map(|row| format!("{} ({})", row.key, row.calls))
        .collect();
    if !hot.is_empty() {
        let _ = writeln!(out, "  hot keys: {}", hot.join(", "));
    }
}

fn render_operations(out: &mut String, operations: &weft_api_types::OperationsReport) {
    if !operations.slowest.is_empty() {
        let _ = writeln!(out, "\nslowest operations");
        for row in &operations.slowest {
            let _ = writeln!(
                out,
                "  {:>9} max {:>9} p99  {} {:?}, e.g. {}",
                format_duration(row.latency.max_nanos),
                format_duration(row.latency.p99_nanos),
                row.service,
                row.operation,
                row.slowest
                    .first()
                    .map_or("-", |example| example.trace_id.as_str()),
            );
        }
    }
    if !operations.failures.is_empty() {
        let _ = writeln!(out, "\nfailures");
        for row in &operations.failures {
            let _ = writeln!(
                out,
                "  {:>6}× {} {:?}: {}, e.g. {}",
                row.count,
                row.service,
                row.operation,
                row.status_message,
                first_example(&row.example_trace_ids),
            );
        }
    }
    if !operations.exceptions.is_empty() {
        let _ = writeln!(out, "\nrecent exceptions");
        for row in operations.exceptions.iter().take(5) {
            let _ = writeln!(
                out,
                "  {} {} {}: {} {}, trace {}",
                format_time(row.time_unix_nanos),
                row.service,
                row.operation,
                row.exception_type,
                row.message,
                row.trace_id,
            );
        }
    }
}

pub async fn run_diagnose(args: DiagnoseArgs) -> anyhow::Result<()> {
    let server = args.server.trim_end_matches('/');
    let mut query = vec![
        ("lookback", args.lookback.clone()),
        ("limit", args.limit.to_string()),
    ];
    if let Some(service) = &args.service {
        query.push(("service", service.clone()));
    }
    let overview: weft_api_types::DiagnosticsOverview =
        get(&format!("{server}/api/v1/diagnostics"), &query)
            .await?
            .json()
            .await
            .context("decoding the diagnostics answer")?;
    print!("{}", render_diagnosis(&overview));
    Ok(())
}
