//! `weft bench store`: the span store's hot paths in one process, on `weft gen`'s realistic
//! spans: write (memtable + flush), compaction, bytes per span, trace-by-ID and search latency.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use prost::Message;
use rand::{Rng, SeedableRng};
use weft_codec::ConversionOptions;
use weft_model::{Span, TraceId};
use weft_store::{
    EmbeddedStore, SearchQuery, SpanReader, SpanWriter, StatusFilter, StoreConfig, TraceQuery,
};

#[derive(Debug, Clone, clap::Subcommand)]
pub enum BenchCommand {
    /// Fill a fresh store, compact it, then time trace-by-ID lookups and searches.
    Store(StoreBenchArgs),
    /// Feed the stream-metrics processor (span metrics, topology, exemplars, exposition) and
    /// time metric, topology and Jaeger-metric queries over 24 h and 7 d.
    Metrics(MetricsBenchArgs),
    /// Fill a hot store with generator traffic through the sampler, then time the cold
    /// writer's passes (spans scanned and copied per second) and report the cold/hot ratio.
    Cold(ColdBenchArgs),
}

#[derive(Debug, Clone, clap::Args)]
pub struct ColdBenchArgs {
    /// A directory that does not exist yet (or is empty); hot and cold stores are built there.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Spans to write into the hot tier.
    #[arg(long, default_value_t = 2_000_000)]
    pub spans: u64,
    /// The time window the spans are spread over (ending two hours ago, so every shard is
    /// closed when the passes run).
    #[arg(long, default_value = "1h", value_parser = weft_model::parse_duration)]
    pub window: Duration,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Debug, Clone, clap::Args)]
pub struct MetricsBenchArgs {
    /// A directory that does not exist yet (or is empty); the metric store is built there.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Spans to feed.
    #[arg(long, default_value_t = 5_000_000)]
    pub spans: u64,
    /// The time window the spans are spread over, ending now.
    #[arg(long, default_value = "7d", value_parser = weft_model::parse_duration)]
    pub window: Duration,
    /// Times each query is repeated.
    #[arg(long, default_value_t = 20)]
    pub repeats: usize,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Debug, Clone, clap::Args)]
pub struct StoreBenchArgs {
    /// A directory that does not exist yet (or is empty); the store is built there and kept.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// Spans to write.
    #[arg(long, default_value_t = 10_000_000)]
    pub spans: u64,
    /// The time window the spans are spread over, ending now.
    #[arg(long, default_value = "1h", value_parser = weft_model::parse_duration)]
    pub window: Duration,
    /// Replace the time-embedded trace IDs with random ones (the foreign-ID lookup path).
    #[arg(long)]
    pub random_trace_ids: bool,
    /// Trace-by-ID lookups to time.
    #[arg(long, default_value_t = 2_000)]
    pub lookups: usize,
    /// Times each search query is repeated.
    #[arg(long, default_value_t = 20)]
    pub search_repeats: usize,
    /// Only time queries against an existing store (skip writing).
    #[arg(long)]
    pub query_only: bool,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

pub fn run_bench(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Store(args) => bench_store(args),
        BenchCommand::Metrics(args) => bench_metrics(args),
        BenchCommand::Cold(args) => bench_cold(args),
    }
}

fn process_cpu_seconds() -> f64 {
    // utime + stime of this process, from /proc (Linux); 0 elsewhere.
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|stat| {
            let fields: Vec<&str> = stat[stat.rfind(')')? + 2..].split(' ').collect();
            let ticks: f64 =
                fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
            Some(ticks / 100.0)
        })
        .unwrap_or(0.0)
}

/// CPU seconds of this process's threads named `name` (Linux; 0 elsewhere).
fn thread_cpu_seconds(name: &str) -> f64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0.0;
    };
    tasks
        .flatten()
        .filter_map(|task| std::fs::read_to_string(task.path().join("stat")).ok())
        .filter_map(|stat| {
            let open = stat.find('(')?;
            let close = stat.rfind(')')?;
            if &stat[open + 1..close] != name {
                return None;
            }
            let fields: Vec<&str> = stat[close + 2..].split(' ').collect();
            Some(
                (fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?)
                    / 100.0,
            )
        })
        .sum()
}

fn percentile(sorted: &[Duration], fraction: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let index = ((sorted.len() as f64 - 1.0) * fraction).round() as usize;
    sorted[index]
}

fn report(name: &str, mut timings: Vec<Duration>) {
    timings.sort();
    println!(
        "{name:<44} n={:<5} p50={:>8.2}ms p99={:>8.2}ms max={:>8.2}ms",
        timings.len(),
        percentile(&timings, 0.5).as_secs_f64() * 1e3,
        percentile(&timings, 0.99).as_secs_f64() * 1e3,
        timings.last().copied().unwrap_or_default().as_secs_f64() * 1e3,
    );
}

/// A deterministic random-looking ID for a trace (consistent across its spans).
fn scramble(trace_id: TraceId) -> TraceId {
    let mut state = u128::from_be_bytes(*trace_id.as_bytes());
    state = state
        .wrapping_mul(0x2545_f491_4f6c_dd1d_9e37_79b9_7f4a_7c15)
        .rotate_left(61);
    state ^= state >> 67;
    TraceId::from_bytes(
        state
            .wrapping_mul(0x9e37_79b9_7f4a_7c15_2545_f491_4f6c_dd1d)
            .to_be_bytes(),
    )
}

fn bench_store(args: StoreBenchArgs) -> anyhow::Result<()> {
    let conversion = ConversionOptions {
        business_key_names: vec!["order.id".into(), "user.id".into()],
    };
    if !args.query_only
        && args.data_dir.exists()
        && std::fs::read_dir(&args.data_dir)?.next().is_some()
    {
        anyhow::bail!("{} is not empty", args.data_dir.display());
    }
    let store = Arc::new(
        EmbeddedStore::open(StoreConfig {
            conversion: conversion.clone(),
            flush_interval: Duration::from_secs(3600),
            ..StoreConfig::new(&args.data_dir)
        })
        .context("opening the store")?,
    );
    let end = weft_model::now_unix_nanos();
    let start = end - args.window.as_nanos() as u64;
    let mut rng = rand::rngs::SmallRng::seed_from_u64(args.seed);
    let mut sampled_ids: Vec<TraceId> = Vec::new();
    let mut order_ids: Vec<String> = Vec::new();

    if !args.query_only {
        println!(
            "writing {} spans over {} ending now, {} trace ids",
            args.spans,
            humantime::format_duration(args.window),
            if args.random_trace_ids {
                "random"
            } else {
                "time-embedded"
            }
        );
        let mut generator = weft_gen::TraceGenerator::new(args.seed);
        let traces_per_batch = 20;
        let mut written = 0u64;
        let mut protobuf_bytes = 0u64;
        let mut traces_seen = 0u64;
        let mut position = 0u64;
        let mut generate_time = Duration::ZERO;
        let cpu_before = process_cpu_seconds();
        let began = Instant::now();
        while written < args.spans {
            let generated_at = Instant::now();
            let now =
                start + (written as u128 * args.window.as_nanos() / args.spans as u128) as u64;
            let batch = generator.next_batch(traces_per_batch, now);
            protobuf_bytes += batch.request.encoded_len() as u64;
            let mut spans: Vec<Span> =
                weft_codec::spans_from_otlp(batch.request, &conversion).spans;
            if args.random_trace_ids {
                for span in &mut spans {
                    span.trace_id = scramble(span.trace_id);
                }
            }
            generate_time += generated_at.elapsed();
            // Reservoir samples of trace IDs and order IDs for the query phase.
            for span in spans.iter().filter(|span| span.parent_span_id.is_none()) {
                traces_seen += 1;
                if sampled_ids.len() < args.lookups {
                    sampled_ids.push(span.trace_id);
                } else if rng.random_range(0..traces_seen) < args.lookups as u64 {
                    let slot = rng.random_range(0..args.lookups);
                    sampled_ids[slot] = span.trace_id;
                }
                // From the middle of the window, so the whole trace lies within it.
                if written >= args.spans / 2 && order_ids.len() < 50 {
                    if let Some(key) = span.business_keys.iter().find(|key| key.name == "order.id")
                    {
                        order_ids.push(key.value.clone());
                    }
                }
            }
            written += spans.len() as u64;
            position += 1;
            store.write(position, Arc::new(spans))?;
        }
        store.flush()?;
        let wrote_in = began.elapsed();
        let write_cpu = process_cpu_seconds() - cpu_before;
        let store_time = wrote_in.saturating_sub(generate_time);
        println!(
            "written and flushed: {written} spans in {:.1}s wall ({:.1}s generating, excluded) -> {:.0} spans/s into the store; {:.0} spans per cpu-second incl. generation",
            wrote_in.as_secs_f64(),
            generate_time.as_secs_f64(),
            written as f64 / store_time.as_secs_f64(),
            written as f64 / write_cpu.max(1e-9),
        );
        let flush_cpu = thread_cpu_seconds("weft-store");
        let compaction_cpu = thread_cpu_seconds("weft-compaction");
        println!(
            "store threads: flush {flush_cpu:.1} cpu-s ({:.2} µs/span), background compaction {compaction_cpu:.1} cpu-s ({:.2} µs/span)",
            flush_cpu * 1e6 / written as f64,
            compaction_cpu * 1e6 / written as f64,
        );
        let stats = store.stats();
        println!(
            "before final compaction: {} segments, {} bytes, {:.1} B/span",
            stats.segments,
            stats.segment_bytes,
            stats.segment_bytes as f64 / stats.segment_rows.max(1) as f64
        );
        let compacted_at = Instant::now();
        let merges = store.compact_now()?;
        let stats = store.stats();
        println!(
            "compaction: {merges} merges in {:.1}s; {} partitions, {} segments, {} spans",
            compacted_at.elapsed().as_secs_f64(),
            stats.partitions,
            stats.segments,
            stats.segment_rows
        );
        println!(
            "bytes on disk per span: {:.1} B (Parquet, zstd) vs {:.1} B OTLP protobuf",
            stats.segment_bytes as f64 / stats.segment_rows.max(1) as f64,
            protobuf_bytes as f64 / written as f64
        );
    } else {
        // Sample IDs from the store itself through searches over the window.
        let found = store.search(&SearchQuery::in_range(start, end, 1_000))?;
        sampled_ids = found.traces.iter().map(|trace| trace.trace_id).collect();
    }

    let mut timings = Vec::new();
    let mut spans_found = 0usize;
    for trace_id in &sampled_ids {
        let began = Instant::now();
        let spans = store.trace(&TraceQuery::new(*trace_id))?;
        timings.push(began.elapsed());
        anyhow::ensure!(!spans.is_empty(), "trace {} not found", trace_id.to_hex());
        spans_found += spans.len();
    }
    println!(
        "trace by id: {} traces, {:.1} spans each",
        sampled_ids.len(),
        spans_found as f64 / sampled_ids.len().max(1) as f64
    );
    report("trace by id (present)", timings);
    let mut timings = Vec::new();
    for _ in 0..args.lookups.min(500) {
        let mut bytes = [0u8; 16];
        rng.fill(&mut bytes);
        let began = Instant::now();
        let spans = store.trace(&TraceQuery::new(TraceId::from_bytes(bytes)))?;
        timings.push(began.elapsed());
        anyhow::ensure!(spans.is_empty());
    }
    report("trace by id (absent, random id)", timings);

    let window = |limit| SearchQuery::in_range(start, end, limit);
    let mut queries: Vec<(&str, SearchQuery)> = vec![
        ("search: everything, limit 20", window(20)),
        (
            "search: service",
            SearchQuery {
                service: Some("payment-service".into()),
                ..window(20)
            },
        ),
        (
            "search: service + operation",
            SearchQuery {
                service: Some("inventory-service".into()),
                operation: Some("SELECT inventory.stock".into()),
                ..window(20)
            },
        ),
        (
            "search: errors",
            SearchQuery {
                status: Some(StatusFilter::Error),
                ..window(20)
            },
        ),
        (
            "search: attribute http.response.status_code=502",
            SearchQuery {
                attributes: vec![("http.response.status_code".into(), "502".into())],
                ..window(20)
            },
        ),
        (
            "search: min duration 900ms",
            SearchQuery {
                min_duration_nanos: Some(900_000_000),
                ..window(20)
            },
        ),
        (
            "search: root service + operation",
            SearchQuery {
                root_service: Some("frontend".into()),
                root_operation: Some("POST /checkout".into()),
                ..window(20)
            },
        ),
        (
            "search: rare attribute (no match), 1h scan",
            SearchQuery {
                attributes: vec![("http.route".into(), "/no/such/route".into())],
                ..window(20)
            },
        ),
    ];
    if let Some(order_id) = order_ids.first() {
        queries.push((
            "search: business key (order.id)",
            SearchQuery {
                business_key: Some(order_id.clone()),
                ..window(20)
            },
        ));
    }
    for (name, query) in &queries {
        let mut timings = Vec::new();
        let mut found = 0;
        let mut scanned = 0;
        for _ in 0..args.search_repeats {
            let began = Instant::now();
            let result = store.search(query)?;
            timings.push(began.elapsed());
            found = result.traces.len();
            scanned = result.scanned_spans;
        }
        report(name, timings);
        println!("{:<44} found {found} traces, scanned {scanned} spans", "");
    }
    store.close()?;
    Ok(())
}

fn bench_metrics(args: MetricsBenchArgs) -> anyhow::Result<()> {
    use tower::ServiceExt;
    use weft_pipeline::{Processor, SpanBatch, Tick};
    use weft_store::metrics::{MetricStore, MetricStoreConfig};

    use weft_processors::metrics_hub::{MetricsHub, MetricsProcessor, MetricsSettings};

    if args.data_dir.exists() && std::fs::read_dir(&args.data_dir)?.next().is_some() {
        anyhow::bail!("{} is not empty", args.data_dir.display());
    }
    let retention = [args.window + Duration::from_secs(86_400); 3];
    let (store, recovered) = MetricStore::open(MetricStoreConfig {
        retention,
        ..MetricStoreConfig::new(&args.data_dir)
    })
    .context("opening the metric store")?;
    let store = Arc::new(store);
    let hub = MetricsHub::open(
        Arc::clone(&store) as _,
        recovered.state,
        MetricsSettings {
            span_metrics: weft_metrics::SpanMetricsConfig::default(),
            topology: weft_metrics::topology::TopologyConfig {
                clock_from_spans: false,
                ..weft_metrics::topology::TopologyConfig::default()
            },
            close_grace: Duration::from_secs(10),
            checkpoint_interval: Duration::from_secs(1),
        },
        &mut prometheus_client::registry::Registry::default(),
    )?;
    let mut processor = MetricsProcessor::new(Arc::clone(&hub));
    let conversion = ConversionOptions::default();
    let end = weft_model::now_unix_nanos();
    let start = end - args.window.as_nanos() as u64;
    println!(
        "feeding {} spans over {} ending now to the metrics processor",
        args.spans,
        humantime::format_duration(args.window)
    );
    let mut generator = weft_gen::TraceGenerator::new(args.seed);
    let (mut fed, mut position) = (0u64, 0u64);
    let (mut record_cpu, mut tick_cpu) = (0.0f64, 0.0f64);
    let began = Instant::now();
    while fed < args.spans {
        // Generation and conversion are not timed: the pipeline does them for every processor.
        let now = start + (end - start) / args.spans.max(1) * fed;
        let request = generator.next_batch(20, now).request;
        let spans = weft_codec::spans_from_otlp(request, &conversion).spans;
        position += 1;
        fed += spans.len() as u64;
        let batch = SpanBatch {
            position,
            spans: Arc::new(spans),
            read_at_unix_nanos: now,
        };
        let before = process_cpu_seconds();
        processor.process(&batch)?;
        record_cpu += process_cpu_seconds() - before;
        if position % 200 == 0 {
            let before = process_cpu_seconds();
            processor.tick(&Tick {
                now_unix_nanos: now,
                caught_up: false,
            })?;
            tick_cpu += process_cpu_seconds() - before;
        }
    }
    let before = process_cpu_seconds();
    processor.flush(&Tick {
        now_unix_nanos: weft_model::now_unix_nanos(),
        caught_up: true,
    })?;
    tick_cpu += process_cpu_seconds() - before;
    println!(
        "fed {fed} spans in {:.1}s wall; per span: record {:.2} µs cpu (span metrics + topology + exposition), close+commit {:.2} µs cpu",
        began.elapsed().as_secs_f64(),
        record_cpu * 1e6 / fed as f64,
        tick_cpu * 1e6 / fed as f64,
    );
    let stats = store.stats();
    println!(
        "metric store before compaction: {} files, {} rows, {:.1} MiB",
        stats.files,
        stats.rows,
        stats.bytes as f64 / 1_048_576.0
    );
    let before = process_cpu_seconds();
    store.maintain_now();
    let stats = store.stats();
    println!(
        "after compaction ({:.1}s cpu): {} files, {} rows, {:.1} MiB ({:.0} bytes/row)",
        process_cpu_seconds() - before,
        stats.files,
        stats.rows,
        stats.bytes as f64 / 1_048_576.0,
        stats.bytes as f64 / stats.rows.max(1) as f64
    );

    let router = weft_api::metrics_api::router().with_state(Arc::new(
        weft_api::metrics_api::MetricsApiState {
            rows: Arc::clone(&hub) as _,
            span_exposition: None,
        },
    ));
    let runtime = tokio::runtime::Handle::current();
    let end_ms = end / 1_000_000;
    let queries = [
        ("series, 1 service, 24h (auto)", "/api/v1/metrics/series?service=order-service&lookback=24h".to_owned()),
        ("series, 1 service, 7d (auto)", "/api/v1/metrics/series?service=order-service&lookback=168h".to_owned()),
        ("series by operation, 24h", "/api/v1/metrics/series?service=order-service&lookback=24h&groupBy=operation".to_owned()),
        ("series by operation, 7d", "/api/v1/metrics/series?service=order-service&lookback=168h&groupBy=operation".to_owned()),
        ("top operations by p99, 24h", "/api/v1/metrics/operations?service=order-service&lookback=24h&sortBy=p99".to_owned()),
        ("top operations by p99, 7d", "/api/v1/metrics/operations?service=order-service&lookback=168h&sortBy=p99".to_owned()),
        ("exemplars, 1 service, 1h", "/api/v1/metrics/exemplars?service=order-service&lookback=1h".to_owned()),
        ("topology, 24h", "/api/v1/topology?lookback=24h".to_owned()),
        ("topology, 7d", "/api/v1/topology?lookback=168h".to_owned()),
        ("jaeger calls by operation, 24h, step 1m", format!("/api/metrics/calls?service=order-service&groupByOperation=true&endTs={end_ms}&lookback=86400000&step=60000&ratePer=600000")),
        ("jaeger dependencies, 7d", format!("/api/dependencies?endTs={end_ms}&lookback=604800000")),
    ];
    for (name, uri) in queries {
        let mut timings = Vec::with_capacity(args.repeats);
        for _ in 0..args.repeats {
            let request = axum::http::Request::get(uri.as_str())
                .body(axum::body::Body::empty())
                .context("building a request")?;
            let began = Instant::now();
            let response = runtime.block_on(router.clone().oneshot(request))?;
            let status = response.status();
            runtime.block_on(async {
                use http_body_util::BodyExt;
                response.into_body().collect().await.map(|_| ())
            })?;
            timings.push(began.elapsed());
            anyhow::ensure!(status.is_success(), "{uri} answered {status}");
        }
        report(name, timings);
    }
    store.close();
    Ok(())
}

fn bench_cold(args: ColdBenchArgs) -> anyhow::Result<()> {
    use weft_pipeline::{Processor, SpanBatch, Tick};
    use weft_processors::cold_writer::{ColdWriter, ColdWriterSettings};
    use weft_processors::sampling::{SamplingHub, SamplingProcessor, SamplingSettings};

    if args.data_dir.exists() && std::fs::read_dir(&args.data_dir)?.next().is_some() {
        anyhow::bail!("{} is not empty", args.data_dir.display());
    }
    let conversion = ConversionOptions {
        business_key_names: vec!["order.id".into(), "user.id".into(), "bizOrderId".into()],
    };
    let hot = Arc::new(
        EmbeddedStore::open(StoreConfig {
            conversion: conversion.clone(),
            flush_interval: Duration::from_secs(3600),
            ..StoreConfig::new(args.data_dir.join("hot"))
        })
        .context("opening the hot store")?,
    );
    let cold = Arc::new(
        EmbeddedStore::open(StoreConfig {
            conversion: conversion.clone(),
            flush_interval: Duration::MAX,
            flush_max_spans: usize::MAX,
            ..StoreConfig::new(args.data_dir.join("cold"))
        })
        .context("opening the cold store")?,
    );
    let settings = SamplingSettings {
        shard_width_seconds: 600,
        sizing: weft_sampling::FilterSizing {
            expected_keys: 1_000_000,
            false_positive_rate: 0.01,
        },
        cold_delay: Duration::from_secs(1800),
        checkpoint_interval: Duration::from_secs(10),
        max_clock_skew: Duration::from_secs(3_600),
    };
    let hub = SamplingHub::open(
        Arc::new(weft_store::FileShardStore::open(
            args.data_dir.join("sampling").join("shards"),
        )?),
        Arc::new(weft_store::FileCheckpointStore::open(
            args.data_dir.join("sampling"),
        )?),
        weft_sampling::SamplingConfig::default(),
        settings,
        &mut prometheus_client::registry::Registry::default(),
    )?;
    let mut sampler = SamplingProcessor::new(Arc::clone(&hub));
    let end = weft_model::now_unix_nanos() - 2 * 3_600 * 1_000_000_000;
    let start = end - args.window.as_nanos() as u64;
    let mut generator = weft_gen::TraceGenerator::new(args.seed);
    let mut written = 0u64;
    let mut position = 0u64;
    println!(
        "writing {} spans over {} through the sampler",
        args.spans,
        humantime::format_duration(args.window)
    );
    while written < args.spans {
        let now = start + (written as u128 * args.window.as_nanos() / args.spans as u128) as u64;
        let batch = generator.next_batch(20, now);
        let spans = Arc::new(weft_codec::spans_from_otlp(batch.request, &conversion).spans);
        written += spans.len() as u64;
        position += 1;
        hot.write(position, Arc::clone(&spans))?;
        sampler.process(&SpanBatch {
            position,
            spans,
            read_at_unix_nanos: weft_model::now_unix_nanos(),
        })?;
    }
    hot.flush()?;
    hot.compact_now()?;
    // Caught up: the wall clock closes every window.
    sampler.tick(&Tick {
        now_unix_nanos: weft_model::now_unix_nanos(),
        caught_up: true,
    })?;
    // No logs in this benchmark: the copy of spans is what it measures.
    let log_store = |name: &str| {
        weft_store::LogStore::open(weft_store::LogStoreConfig::new(args.data_dir.join(name)))
            .map(Arc::new)
    };
    let stores = weft_processors::cold_writer::ColdWriterStores {
        hot: Arc::clone(&hot) as _,
        cold: Arc::clone(&cold) as _,
        hot_logs: log_store("logs")?,
        cold_logs: log_store("cold-logs")?,
    };
    let (writer, progress) = ColdWriter::new(
        stores,
        Arc::clone(&hub),
        ColdWriterSettings {
            traces_per_part: 5_000,
            windows_back: 3,
            idle_interval: Duration::from_secs(1),
            crash_point: None,
        },
        weft_observe::ComponentMetrics::default(),
        Arc::new(std::sync::atomic::AtomicBool::new(false)),
    );
    let mut writer = writer;
    let began = Instant::now();
    let process_cpu_before = process_cpu_seconds();
    while writer.step()? {}
    let elapsed = began.elapsed();
    let cpu = process_cpu_seconds() - process_cpu_before;
    let scanned = progress
        .scanned_spans
        .load(std::sync::atomic::Ordering::Relaxed);
    let copied = progress
        .copied_spans
        .load(std::sync::atomic::Ordering::Relaxed);
    let hot_stats = hot.stats();
    let cold_stats = cold.stats();
    println!(
        "cold writer: {} windows, {} parts, {scanned} spans scanned, {copied} copied in {:.2} s ({:.0} scanned spans/s, {:.0} copied spans/s; {:.2} CPU s)",
        progress.windows.load(std::sync::atomic::Ordering::Relaxed),
        progress.parts.load(std::sync::atomic::Ordering::Relaxed),
        elapsed.as_secs_f64(),
        scanned as f64 / elapsed.as_secs_f64(),
        copied as f64 / elapsed.as_secs_f64(),
        cpu,
    );
    println!(
        "hot: {} spans, {} bytes; cold: {} spans, {} bytes; cold/hot: {:.1} % of the spans, {:.1} % of the bytes",
        hot_stats.segment_rows,
        hot_stats.segment_bytes,
        cold_stats.segment_rows,
        cold_stats.segment_bytes,
        100.0 * cold_stats.segment_rows as f64 / hot_stats.segment_rows.max(1) as f64,
        100.0 * cold_stats.segment_bytes as f64 / hot_stats.segment_bytes.max(1) as f64,
    );
    for (rule, counters) in hub.counters() {
        println!(
            "  rule {rule:<20} matched spans {:>9}  kept traces {:>8}",
            counters.matched_spans, counters.kept_traces
        );
    }
    cold.close()?;
    hot.close()?;
    Ok(())
}
