//! Start-up, configuration, graceful shutdown and WAL housekeeping.

use std::collections::HashSet;
use std::process::Command;

use crate::clients::{generated_batches, grpc_client, span_keys};
use crate::sandbox::{Weft, WEFT};

#[tokio::test]
async fn sigterm_drains_and_flushes_everything_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let mut weft = Weft::start(dir.path(), &["--capture-flush-interval", "1h"]);
    let mut client = grpc_client(&weft.grpc_endpoint()).await;
    let mut acknowledged = HashSet::new();
    for batch in generated_batches(71, 10, 4) {
        acknowledged.extend(span_keys(&batch));
        client.export(batch).await.unwrap();
    }
    let status = weft.terminate();
    assert!(status.success(), "{status:?}\n{}", weft.log());
    let captured: HashSet<_> = weft
        .captured()
        .into_iter()
        .map(|c| (c.trace_id, c.span_id))
        .collect();
    assert_eq!(
        captured, acknowledged,
        "graceful shutdown flushes the pipeline"
    );
    assert!(weft.log().contains("stopped"));
}

#[tokio::test]
async fn wal_segments_are_deleted_once_the_pipeline_made_them_durable() {
    let dir = tempfile::tempdir().unwrap();
    let weft = Weft::start(
        dir.path(),
        &[
            "--wal-segment-size",
            "64KiB",
            "--capture-flush-interval",
            "20ms",
            // The WAL is trimmed only past what the span store has flushed.
            "--store-flush-interval",
            "200ms",
            // … and past the first span of every trace the diagnostics still hold open.
            "--trace-inactivity-timeout",
            "1s",
            "--metrics-checkpoint-interval",
            "1s",
        ],
    );
    let mut client = grpc_client(&weft.grpc_endpoint()).await;
    let mut total = 0;
    for batch in generated_batches(72, 40, 5) {
        total += span_keys(&batch).len();
        client.export(batch).await.unwrap();
    }
    weft.wait_for_captured(total).await;
    // Once everything is durable the segment being written is closed and trimmed too (a new,
    // empty one takes its place), so the log ends as one empty segment, listed and on disk.
    let segment_files = || {
        std::fs::read_dir(dir.path().join("data/wal"))
            .unwrap()
            .count()
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while weft.metric("weft_wal_segments").await > 1.0
        || weft.metric("weft_wal_size_bytes").await > 8.0
        || segment_files() != 1
    {
        assert!(
            std::time::Instant::now() < deadline,
            "wal never trimmed: {} segment files, {} bytes listed",
            segment_files(),
            weft.metric("weft_wal_size_bytes").await
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(weft.metric("weft_wal_trimmed_segments_total").await >= 10.0);
    assert!(weft.metric("weft_store_flushes").await >= 1.0);
}

#[test]
fn serve_help_documents_every_listen_flag_and_its_environment_variable() {
    let output = Command::new(WEFT)
        .args(["serve", "--help"])
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    for (flag, env) in [
        ("--otlp-grpc-listen", "WEFT_OTLP_GRPC_LISTEN"),
        ("--otlp-http-listen", "WEFT_OTLP_HTTP_LISTEN"),
        ("--zipkin-listen", "WEFT_ZIPKIN_LISTEN"),
        ("--http-listen", "WEFT_HTTP_LISTEN"),
        ("--data-dir", "WEFT_DATA_DIR"),
        ("--config", "WEFT_CONFIG"),
        ("--wal-fsync", "WEFT_WAL_FSYNC"),
        ("--max-request-size", "WEFT_MAX_REQUEST_SIZE"),
    ] {
        assert!(help.contains(flag), "{flag} missing from help:\n{help}");
        assert!(help.contains(env), "{env} missing from help:\n{help}");
    }
}

#[test]
fn config_file_and_environment_variables_configure_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("weft.toml");
    std::fs::write(
        &config,
        format!(
            "data_dir = {:?}\n[receivers]\notlp_grpc_listen = \"127.0.0.1:0\"\notlp_http_listen = \"127.0.0.1:0\"\nzipkin_listen = \"127.0.0.1:0\"\n[api]\nhttp_listen = \"127.0.0.1:0\"\n",
            dir.path().join("from-file")
        ),
    )
    .unwrap();
    // The environment overrides the file: Zipkin moves to another loopback address.
    let mut child = Command::new(WEFT)
        .args(["serve", "--config", &config.to_string_lossy()])
        .env("WEFT_ZIPKIN_LISTEN", "127.0.0.2:0")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    std::io::BufRead::read_line(
        &mut std::io::BufReader::new(child.stdout.take().unwrap()),
        &mut line,
    )
    .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    assert!(line.contains("zipkin=127.0.0.2:"), "{line}");
    assert!(line.contains("otlp_grpc=127.0.0.1:"), "{line}");
    assert!(dir.path().join("from-file/wal").is_dir());
}

#[test]
fn bad_configuration_is_refused_with_a_message_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let output = Command::new(WEFT)
        .args([
            "serve",
            "--data-dir",
            &dir.path().to_string_lossy(),
            "--wal-fsync",
            "sometimes",
        ])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown fsync policy \"sometimes\""),
        "{stderr}"
    );
}

#[tokio::test]
async fn demo_mode_generates_traffic_that_reaches_the_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let mut weft = Weft::start(
        dir.path(),
        &[
            "--demo",
            "--demo-rate",
            "500",
            "--capture-flush-interval",
            "50ms",
        ],
    );
    // Every receiver's counters exist from the start, at zero until something happens.
    let metrics = weft.metrics().await;
    for receiver in ["otlp_grpc", "otlp_http", "zipkin"] {
        for family in ["rejected_spans", "dropped_spans"] {
            let name = format!("weft_receiver_{family}_total{{receiver=\"{receiver}\"}}");
            assert_eq!(metrics.get(&name), Some(&0.0), "{name}");
        }
    }
    // One visit in ten is a checkout (the only path through order-service): a thousand spans
    // (~130 traces) hold one but for a one-in-a-million draw.
    let captured = weft.wait_for_captured(1000).await;
    let services: HashSet<&str> = captured.iter().map(|span| span.service.as_str()).collect();
    assert!(
        services.contains("frontend") && services.contains("order-service"),
        "{services:?}"
    );
    assert!(
        weft.metric(r#"weft_receiver_accepted_spans_total{receiver="otlp_grpc"}"#)
            .await
            >= 200.0
    );
    assert!(weft.terminate().success(), "the demo stops with the server");
}
