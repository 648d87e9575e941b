use weft_codec::ConversionOptions;
use weft_test_fixtures::fixture;

#[test]
fn waterfall_rendering_matches_the_golden_file() {
    let spans = weft_codec::spans_from_otlp(fixture(), &ConversionOptions::default()).spans;
    let rendered = crate::cli::render_waterfall(&spans, 30, false);
    expect_test::expect_file!["golden/waterfall.txt"].assert_eq(&rendered);
}

/// `weft search` reads the typed answer: one line per trace with its root, and the partial
/// marker when the server ran out of scan budget.
#[test]
fn search_results_print_one_line_per_trace_and_say_when_partial() {
    use weft_api_types::{FoundTrace, SearchAnswer, TraceSummary};
    let answer = SearchAnswer {
        traces: vec![FoundTrace {
            summary: TraceSummary {
                trace_id: "692037a00102030405060708090a0b0c".into(),
                root_service_name: "orders".into(),
                root_span_name: "GET /orders/{id}".into(),
                root_span_found: true,
                start_time_unix_nano: "1795255200000000000".into(),
                duration_nanos: 250_000_000,
                span_count: 3,
                error_count: 1,
                services: Vec::new(),
            },
            tier: "hot".into(),
        }],
        partial: true,
        scanned_spans: 3,
        tiers: vec!["hot".into()],
    };
    let printed = crate::cli::render_search(&answer);
    let lines: Vec<&str> = printed.lines().collect();
    assert_eq!(lines.len(), 4, "{printed}");
    assert!(
        lines[1].starts_with("2026-11-21T10:00:00.000Z  692037a00102030405060708090a0b0c"),
        "{printed}"
    );
    assert!(
        lines[1].ends_with("250.0ms      3       1  orders: GET /orders/{id}"),
        "{printed}"
    );
    assert_eq!(lines[2], "1 traces");
    assert!(lines[3].starts_with("partial:"));
}

/// `weft status` against a query node: the cluster's tables and writer checkpoints, and no
/// local tiers or sampler report (the node has neither).
#[test]
fn status_of_a_query_node_prints_the_cluster_store_and_no_sampling() {
    use weft_api_types::{ClusterStorage, ClusterTable, ClusterWriter, StorageAnswer};
    let storage = StorageAnswer::cluster_only(ClusterStorage {
        tables: vec![ClusterTable {
            shard: "http://127.0.0.1:8123".into(),
            table: "spans".into(),
            partitions: 2,
            parts: 5,
            rows: 120_000,
            bytes_on_disk: 3 * 1024 * 1024,
        }],
        writers: vec![ClusterWriter {
            topic: "weft-spans".into(),
            partition: 3,
            position: 1_204,
            written_unix_nano: "0".into(),
        }],
    });
    let text = crate::cli::render_status(&storage, None);
    let table_line = text
        .lines()
        .find(|line| line.starts_with("http://127.0.0.1:8123"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(
        table_line.contains("spans")
            && table_line.contains("120000")
            && table_line.contains("3.0 MiB"),
        "{text}"
    );
    let writer_line = text
        .lines()
        .find(|line| line.starts_with("weft-spans/3"))
        .unwrap_or_else(|| panic!("{text}"));
    assert!(writer_line.contains("1204"), "{text}");
    assert!(
        !text.contains("sampling:") && !text.contains("cold/hot"),
        "{text}"
    );
}
