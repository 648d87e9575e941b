#[test]
fn the_sampling_checkpoint_round_trips_its_shards() {
    use weft_sampling::{FilterSizing, ShardFilter, ShardWindow};
    let sizing = FilterSizing {
        expected_keys: 1_000,
        false_positive_rate: 0.01,
    };
    let mut shard = ShardFilter::new(ShardWindow::containing(1_790_000_000, 600), sizing).unwrap();
    let trace_id = weft_model::TraceId::from_bytes([7; 16]);
    shard.insert(&trace_id);
    let restored = crate::sampling::checkpoint_round_trip_for_tests(vec![shard]).unwrap();
    assert_eq!(restored.len(), 1);
    assert!(restored[0].contains(&trace_id));
    assert_eq!(restored[0].window().start_unix_seconds, 1_789_999_800);
}

#[test]
fn cold_checkpoints_round_trip_through_the_commit_mark_and_order_as_their_marks() {
    use crate::cold_writer::{ColdCheckpoint, MAX_PARTS};
    let checkpoint = |window_start_unix_seconds, part, last| ColdCheckpoint {
        window_start_unix_seconds,
        part,
        last,
    };
    let round_trip =
        |checkpoint: ColdCheckpoint| ColdCheckpoint::from_commit_mark(checkpoint.to_commit_mark());
    // The highest part a window can be split into fits its bits and never spills into the
    // window (MAX_PARTS once doubled as the bit mask, which held only by coincidence).
    let last_part = MAX_PARTS - 1;
    for kept in [
        checkpoint(1_790_000_000, 0, true),
        checkpoint(1_790_000_000, 2_046, false),
        checkpoint(4, 17, false),
        checkpoint(1_790_000_000, last_part, true),
    ] {
        assert_eq!(round_trip(kept), Some(kept));
    }
    assert_eq!(
        ColdCheckpoint::from_commit_mark(0),
        None,
        "a store never written"
    );
    let ordered = [
        checkpoint(1_790_000_000, 0, false),
        checkpoint(1_790_000_000, 1, false),
        checkpoint(1_790_000_000, last_part, true),
        checkpoint(1_790_000_060, 0, false),
    ];
    assert!(ordered.windows(2).all(|pair| pair[0] < pair[1]));
    let marks = ordered.map(ColdCheckpoint::to_commit_mark);
    assert!(marks.windows(2).all(|pair| pair[0] < pair[1]), "{marks:?}");
}

/// A commit's state (open traces, replay point) and statistics deltas (two commits' worth)
/// survive encoding: restored from them, a diagnoser answers as the original did.
#[test]
fn the_diagnostics_state_and_statistics_deltas_survive_encoding() {
    use weft_diagnose::{Diagnoser, DiagnoserConfig, StatisticsFilter, TimeRange};
    const SECOND: u64 = 1_000_000_000;
    let at = 1_790_000_000_000_000_000;
    let mut generator = weft_gen::TraceGenerator::with_scenarios(
        9,
        weft_gen::Scenarios {
            repeated_calls: 1.0,
            ..weft_gen::Scenarios::clean()
        },
    );
    let spans_of = |batch: weft_gen::GeneratedBatch| {
        weft_codec::spans_from_otlp(batch.request, &weft_codec::ConversionOptions::default()).spans
    };
    let config = DiagnoserConfig::default();
    let mut diagnoser = Diagnoser::new(config.clone());
    // Two commits of completed traces, then traces left open at the checkpoint.
    diagnoser.offer_batch(&spans_of(generator.next_batch(10, at)), 1, at);
    diagnoser.tick(at + 60_000_000_000);
    let mut deltas = vec![diagnoser.take_statistics_delta()];
    diagnoser.offer_batch(&spans_of(generator.next_batch(10, at)), 2, at + SECOND);
    diagnoser.tick(at + 120_000_000_000);
    deltas.push(diagnoser.take_statistics_delta());
    diagnoser.offer_batch(
        &spans_of(generator.next_batch(10, at)),
        3,
        at + 121 * SECOND,
    );
    let checkpoint = diagnoser.checkpoint();
    assert!(!checkpoint.open_trace_ids.is_empty());
    let decoded = crate::diagnostics::state_round_trip_for_tests(&checkpoint).unwrap();
    assert_eq!(decoded.position, checkpoint.position);
    assert_eq!(decoded.replay_from, checkpoint.replay_from);
    assert_eq!(decoded.open_trace_ids, checkpoint.open_trace_ids);
    let statistics =
        crate::diagnostics::statistics_round_trip_for_tests(&config.statistics, &deltas).unwrap();
    let restored = Diagnoser::restore(config, decoded, statistics);
    let everything = (TimeRange::everything(), StatisticsFilter::default());
    let findings = |diagnoser: &Diagnoser| {
        diagnoser
            .statistics_now()
            .findings(everything.0, &everything.1)
    };
    assert!(!findings(&diagnoser).is_empty());
    assert_eq!(findings(&restored), findings(&diagnoser));
    assert_eq!(
        restored
            .statistics_now()
            .database(everything.0, &everything.1),
        diagnoser
            .statistics_now()
            .database(everything.0, &everything.1)
    );
    assert_eq!(
        restored.statistics_now().counters(),
        diagnoser.statistics_now().counters()
    );
}

/// The diagnostics API computes its reports from a copy of the diagnoser, off the pipeline's
/// lock: requests between two changes share one copy, and a report is computed while the
/// pipeline holds the lock.
#[test]
fn diagnostics_reads_share_a_copy_and_compute_without_the_pipelines_lock() {
    use std::sync::Arc;
    use std::time::Duration;

    use crate::diagnostics::DiagnosticsSettings;

    let directory = tempfile::tempdir().unwrap();
    let hub = open_diagnostics_hub(
        directory.path(),
        DiagnosticsSettings {
            config: weft_diagnose::DiagnoserConfig::default(),
            checkpoint_interval: Duration::from_secs(10),
        },
        &mut prometheus_client::registry::Registry::default(),
    )
    .unwrap();
    let view = hub.view();
    assert!(Arc::ptr_eq(&view, &hub.view()), "requests share one copy");
    let pipeline = hub.lock_diagnoser_for_tests();
    let (answered, answer) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let report = view.statistics.findings(
            weft_diagnose::TimeRange {
                start_unix_nanos: 0,
                end_unix_nanos: u64::MAX,
            },
            &weft_diagnose::StatisticsFilter::default(),
        );
        let _ = answered.send(report.len());
    });
    let findings = answer.recv_timeout(Duration::from_secs(30));
    drop(pipeline);
    assert_eq!(findings, Ok(0), "the report waited for the pipeline's lock");
}

/// The processors' time logic, driven by the pipeline's clock alone: batches carry the time
/// they were read, ticks say the time and whether the pipeline has caught up. Each test moves
/// a clock across the edge where its processor must act, and checks it acts only there.
mod processor_clocks {
    use std::sync::Arc;
    use std::time::Duration;

    use weft_pipeline::{LogBatch, Processor, SpanBatch, Tick};

    use weft_test_fixtures::{fixture, log_fixture};

    /// The fixture's time (2026-11-21T10:00:00Z), the start of a 10-minute window.
    const BASE: u64 = 1_795_255_200_000_000_000;
    const SECOND: u64 = 1_000_000_000;

    fn fixture_batch(read_at_unix_nanos: u64) -> SpanBatch {
        SpanBatch {
            position: 1,
            spans: Arc::new(
                weft_codec::spans_from_otlp(fixture(), &weft_codec::ConversionOptions::default())
                    .spans,
            ),
            read_at_unix_nanos,
        }
    }

    /// The default rules over 10-minute windows closing 30 minutes after their end.
    fn sampling_hub_in(directory: &std::path::Path) -> Arc<crate::sampling::SamplingHub> {
        crate::sampling::SamplingHub::open(
            Arc::new(
                weft_store::FileShardStore::open(directory.join("sampling").join("shards"))
                    .unwrap(),
            ),
            Arc::new(weft_store::FileCheckpointStore::open(directory.join("sampling")).unwrap()),
            weft_sampling::SamplingConfig::default(),
            crate::sampling::SamplingSettings {
                shard_width_seconds: 600,
                sizing: weft_sampling::FilterSizing {
                    expected_keys: 1_000,
                    false_positive_rate: 0.01,
                },
                cold_delay: Duration::from_secs(1_800),
                checkpoint_interval: Duration::from_secs(10),
                max_clock_skew: Duration::from_secs(3_600),
            },
            &mut prometheus_client::registry::Registry::default(),
        )
        .unwrap()
    }

    fn log_store_in(directory: &std::path::Path) -> Arc<weft_store::LogStore> {
        Arc::new(
            weft_store::LogStore::open(weft_store::LogStoreConfig::new(directory.to_owned()))
                .unwrap(),
        )
    }

    fn tick(now_unix_nanos: u64, caught_up: bool) -> Tick {
        Tick {
            now_unix_nanos,
            caught_up,
        }
    }

    #[test]
    fn a_shard_window_closes_cold_delay_after_its_end_and_is_published_only_when_caught_up() {
        use crate::sampling::SamplingProcessor;

        let directory = tempfile::tempdir().unwrap();
        let hub = sampling_hub_in(directory.path());
        let mut processor = SamplingProcessor::new(Arc::clone(&hub));
        // The fixture's root span failed: its trace is marked in the window [BASE, BASE+600s).
        processor.process(&fixture_batch(BASE + SECOND)).unwrap();
        let window_end = BASE / SECOND + 600;
        let shard_files = || {
            std::fs::read_dir(directory.path().join("sampling/shards"))
                .unwrap()
                .count()
        };
        // Not caught up: the head is the newest span, whatever the clock says.
        processor
            .tick(&tick(BASE + 10 * 3_600 * SECOND, false))
            .unwrap();
        assert_eq!((shard_files(), hub.closed_through()), (0, 0));
        // Caught up, one second before the window's end plus the cold delay: still open.
        let closes_at = (window_end + 1_800) * SECOND;
        processor.tick(&tick(closes_at - SECOND, true)).unwrap();
        assert_eq!(shard_files(), 0);
        assert!(hub.closed_through() < window_end);
        // At it: the shard is written and the window published as closed.
        processor.tick(&tick(closes_at, true)).unwrap();
        assert_eq!(shard_files(), 1);
        assert!(hub.closed_through() >= window_end);
    }

    #[test]
    fn a_metric_bucket_is_committed_once_its_grace_has_passed_and_a_commit_falls_due() {
        use crate::metrics_hub::{MetricsProcessor, MetricsSettings};

        let directory = tempfile::tempdir().unwrap();
        let (metric_store, recovered) =
            weft_store::metrics::MetricStore::open(weft_store::metrics::MetricStoreConfig {
                retention: [Duration::from_secs(100 * 365 * 86_400); 3],
                ..weft_store::metrics::MetricStoreConfig::new(directory.path().join("metrics"))
            })
            .unwrap();
        let metric_store = Arc::new(metric_store);
        let hub = crate::metrics_hub::MetricsHub::open(
            Arc::clone(&metric_store) as _,
            recovered.state,
            MetricsSettings {
                span_metrics: weft_metrics::SpanMetricsConfig::default(),
                topology: weft_metrics::topology::TopologyConfig {
                    clock_from_spans: false,
                    ..weft_metrics::topology::TopologyConfig::default()
                },
                close_grace: Duration::from_secs(10),
                checkpoint_interval: Duration::from_secs(10),
            },
            &mut prometheus_client::registry::Registry::default(),
        )
        .unwrap();
        let mut processor = MetricsProcessor::new(Arc::clone(&hub));
        processor.process(&fixture_batch(BASE)).unwrap();
        let rows = || metric_store.stats().rows;
        processor.tick(&tick(BASE, true)).unwrap();
        // A commit falls due (10 s later) but the bucket [BASE, BASE+30s) is within its grace.
        processor.tick(&tick(BASE + 39 * SECOND, true)).unwrap();
        assert_eq!(rows(), 0, "the open bucket was committed");
        // Grace passed, but the next commit is not due yet: closed, not in the files.
        processor.tick(&tick(BASE + 41 * SECOND, true)).unwrap();
        assert_eq!(rows(), 0, "committed before the interval");
        processor.tick(&tick(BASE + 49 * SECOND, true)).unwrap();
        assert!(rows() > 0, "the closed bucket was not committed");
    }

    #[test]
    fn a_trace_is_analyzed_once_it_has_been_quiet_for_the_inactivity_timeout() {
        use crate::diagnostics::{DiagnosticsProcessor, DiagnosticsSettings};

        let directory = tempfile::tempdir().unwrap();
        let mut config = weft_diagnose::DiagnoserConfig::default();
        config.assembler.inactivity_timeout = Duration::from_secs(30);
        let hub = super::open_diagnostics_hub(
            directory.path(),
            DiagnosticsSettings {
                config,
                checkpoint_interval: Duration::from_secs(3_600),
            },
            &mut prometheus_client::registry::Registry::default(),
        )
        .unwrap();
        let mut processor = DiagnosticsProcessor::new(Arc::clone(&hub));
        processor.process(&fixture_batch(BASE)).unwrap();
        processor.tick(&tick(BASE + 29 * SECOND, true)).unwrap();
        let assembler = |hub: &crate::diagnostics::DiagnosticsHub| {
            let view = hub.view();
            let assembler = view.assembler.as_ref().unwrap();
            (assembler.open_traces, assembler.counters.traces_analyzed)
        };
        assert_eq!(assembler(&hub), (1, 0));
        processor.tick(&tick(BASE + 30 * SECOND, true)).unwrap();
        assert_eq!(assembler(&hub), (0, 1));
    }

    /// A query process without the pipeline reads the statistics the processor committed: once
    /// a commit is made, its reports are the live diagnoser's; before, it has none.
    #[test]
    fn committed_statistics_answer_as_the_live_diagnoser_once_committed() {
        use crate::diagnostics::{CommittedDiagnostics, DiagnosticsProcessor, DiagnosticsSettings};
        use weft_diagnose::{DiagnosticsSource, StatisticsFilter, TimeRange};

        let directory = tempfile::tempdir().unwrap();
        let mut config = weft_diagnose::DiagnoserConfig::default();
        config.assembler.inactivity_timeout = Duration::from_secs(30);
        let statistics_config = config.statistics.clone();
        let hub = super::open_diagnostics_hub(
            directory.path(),
            DiagnosticsSettings {
                config,
                checkpoint_interval: Duration::from_secs(60),
            },
            &mut prometheus_client::registry::Registry::default(),
        )
        .unwrap();
        let committed =
            CommittedDiagnostics::new(hub.summaries(), statistics_config, Duration::ZERO);
        let everything = (
            TimeRange {
                start_unix_nanos: 0,
                end_unix_nanos: u64::MAX,
            },
            StatisticsFilter::default(),
        );
        let operations = |source: &dyn DiagnosticsSource| {
            let snapshot = source.snapshot().unwrap();
            (
                snapshot.statistics.operations(everything.0, &everything.1),
                snapshot.statistics.findings(everything.0, &everything.1),
                snapshot.statistics.database(everything.0, &everything.1),
            )
        };
        let mut processor = DiagnosticsProcessor::new(Arc::clone(&hub));
        processor.tick(&tick(BASE, true)).unwrap();
        processor.process(&fixture_batch(BASE)).unwrap();
        processor.tick(&tick(BASE + 30 * SECOND, true)).unwrap();
        let live = operations(hub.as_ref());
        assert!(
            !live.0.slowest.is_empty(),
            "the live diagnoser analyzed the trace"
        );
        assert!(
            operations(&committed).0.slowest.is_empty(),
            "nothing is committed before the checkpoint interval"
        );
        processor.tick(&tick(BASE + 61 * SECOND, true)).unwrap();
        assert_eq!(operations(&committed), live);
        assert!(committed.snapshot().unwrap().assembler.is_none());
        assert!(hub.snapshot().unwrap().assembler.is_some());
    }

    #[test]
    fn log_records_are_committed_once_the_flush_interval_has_passed() {
        use crate::logs::LogStoreWriter;

        let directory = tempfile::tempdir().unwrap();
        let logs = log_store_in(&directory.path().join("logs"));
        let mut writer =
            LogStoreWriter::new(Arc::clone(&logs) as _, Duration::from_secs(30), 1_000_000);
        processor_takes_logs(&mut writer, BASE);
        writer.tick(&tick(BASE, true)).unwrap();
        writer.tick(&tick(BASE + 29 * SECOND, true)).unwrap();
        assert_eq!(logs.memtable_records(), 3);
        assert_eq!(writer.durable_position(), 0);
        writer.tick(&tick(BASE + 30 * SECOND, true)).unwrap();
        assert_eq!(logs.memtable_records(), 0);
        assert_eq!(writer.durable_position(), 1);
    }

    fn processor_takes_logs(writer: &mut crate::logs::LogStoreWriter, read_at_unix_nanos: u64) {
        writer
            .process_logs(&LogBatch {
                position: 1,
                records: Arc::new(weft_codec::logs_from_otlp(log_fixture()).records),
                read_at_unix_nanos,
            })
            .unwrap();
    }

    #[test]
    fn a_kept_trace_is_copied_cold_once_its_window_and_the_next_are_closed() {
        use crate::cold_writer::{ColdWriter, ColdWriterSettings, ColdWriterStores};
        use crate::sampling::SamplingProcessor;
        use weft_store::{EmbeddedStore, SpanReader, SpanWriter, StoreConfig, TraceQuery};

        let directory = tempfile::tempdir().unwrap();
        let years = Duration::from_secs(100 * 365 * 86_400);
        let hot = Arc::new(
            EmbeddedStore::open(StoreConfig {
                retention: years,
                ..StoreConfig::new(directory.path().join("store"))
            })
            .unwrap(),
        );
        let cold = Arc::new(
            EmbeddedStore::open(StoreConfig {
                retention: years,
                flush_interval: Duration::MAX,
                flush_max_spans: usize::MAX,
                ..StoreConfig::new(directory.path().join("cold"))
            })
            .unwrap(),
        );
        let hub = sampling_hub_in(directory.path());
        let batch = fixture_batch(BASE + SECOND);
        hot.write(batch.position, Arc::clone(&batch.spans)).unwrap();
        let mut sampler = SamplingProcessor::new(Arc::clone(&hub));
        // The fixture's failed root keeps its trace.
        sampler.process(&batch).unwrap();
        let (mut writer, _) = ColdWriter::new(
            ColdWriterStores {
                hot: Arc::clone(&hot) as _,
                cold: Arc::clone(&cold) as _,
                hot_logs: log_store_in(&directory.path().join("logs")),
                cold_logs: log_store_in(&directory.path().join("cold-logs")),
            },
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
        let trace_id = batch.spans[0].trace_id;
        let cold_spans = || cold.trace(&TraceQuery::new(trace_id)).unwrap().len();
        let pass = |writer: &mut ColdWriter| while writer.step().unwrap() {};
        // The window [BASE, BASE+600s) closes cold-delay after its end; the pass waits for the
        // next window too (its spans may belong to traces of this one).
        let window_closes_at = BASE + (600 + 1_800) * SECOND;
        sampler.tick(&tick(window_closes_at, true)).unwrap();
        pass(&mut writer);
        assert_eq!(cold_spans(), 0, "copied before the next window closed");
        sampler
            .tick(&tick(window_closes_at + 600 * SECOND, true))
            .unwrap();
        pass(&mut writer);
        assert_eq!(cold_spans(), batch.spans.len(), "the kept trace, whole");
    }
}

/// A diagnostics hub over a fresh summary store under `directory`.
fn open_diagnostics_hub(
    directory: &std::path::Path,
    settings: crate::diagnostics::DiagnosticsSettings,
    registry: &mut prometheus_client::registry::Registry,
) -> anyhow::Result<std::sync::Arc<crate::diagnostics::DiagnosticsHub>> {
    let (store, recovered) = weft_store::summaries::SummaryStore::open(
        weft_store::summaries::SummaryStoreConfig::new(directory.join("diagnostics")),
    )?;
    crate::diagnostics::DiagnosticsHub::open(
        std::sync::Arc::new(store),
        recovered.state,
        settings,
        registry,
    )
}
