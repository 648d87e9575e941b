//! The span store end to end: queryable before any flush, crash-safe flush and compaction,
//! retention, over a running `weft serve`.

use std::collections::{HashMap, HashSet};

use crate::clients::{generated_batches, grpc_client, span_key_list, span_keys};
use crate::sandbox::Weft;

/// Every acknowledged span is stored exactly once (spans sent but not acknowledged may or may
/// not be there, but never twice).
async fn assert_stored_exactly_once(weft: &Weft, acknowledged: &HashSet<(String, String)>) {
    let mut by_trace: HashMap<&str, usize> = HashMap::new();
    for (trace_id, _) in acknowledged {
        *by_trace.entry(trace_id.as_str()).or_default() += 1;
    }
    for (trace_id, count) in by_trace {
        let trace = weft.wait_for_trace(trace_id, count).await;
        let keys = span_key_list(&trace);
        let unique: HashSet<_> = keys.iter().cloned().collect();
        assert_eq!(
            unique.len(),
            keys.len(),
            "trace {trace_id} has a span twice"
        );
        for key in acknowledged.iter().filter(|(id, _)| id == trace_id) {
            assert!(unique.contains(key), "acknowledged span {key:?} is missing");
        }
    }
}

/// Sends batches until the server dies (a crash point) or they run out; returns what was
/// acknowledged.
async fn send_until_exit(weft: &Weft, seed: u64, batches: usize) -> HashSet<(String, String)> {
    let mut client = grpc_client(&weft.grpc_endpoint()).await;
    let mut acknowledged = HashSet::new();
    for batch in generated_batches(seed, batches, 4) {
        let keys = span_keys(&batch);
        match client.export(batch).await {
            Ok(_) => acknowledged.extend(keys),
            Err(_) => break,
        }
    }
    acknowledged
}

#[tokio::test]
async fn spans_are_found_by_id_and_by_search_before_any_flush() {
    let dir = tempfile::tempdir().unwrap();
    let weft = Weft::start(dir.path(), &["--store-flush-interval", "1h"]);
    let mut client = grpc_client(&weft.grpc_endpoint()).await;
    let batch = generated_batches(70, 1, 3).remove(0);
    let keys = span_keys(&batch);
    client.export(batch).await.unwrap();
    let trace_id = keys.iter().next().unwrap().0.clone();
    let expected = keys.iter().filter(|(id, _)| *id == trace_id).count();
    let trace = weft.wait_for_trace(&trace_id, expected).await;
    assert_eq!(span_key_list(&trace).len(), expected);
    let (status, found) = weft
        .get_json(&format!("/api/v1/search?traceIdPrefix={}", &trace_id[..12]))
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(found["traces"][0]["traceId"], trace_id.as_str());
    let (_, jaeger) = weft.get_json(&format!("/api/traces/{trace_id}")).await;
    assert_eq!(
        jaeger["data"][0]["spans"].as_array().unwrap().len(),
        expected
    );
    let (_, health) = weft.get_json("/health").await;
    assert_eq!(
        health["store"]["flushes"], 0,
        "answered from the memtable: {health}"
    );
    assert_eq!(health["store"]["segments"], 0);
}

async fn crash_at(step: &str, extra: &[&str], batches: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut flags = vec!["--store-crash-point", step, "--store-flush-spans", "300"];
    flags.extend_from_slice(extra);
    let mut weft = Weft::start(dir.path(), &flags);
    let acknowledged = send_until_exit(&weft, 80, batches).await;
    let status = weft.wait_for_exit();
    assert!(!status.success(), "the crash point aborts the process");
    assert!(
        weft.log().contains("crash point reached"),
        "{step} was reached; log:\n{}",
        weft.log()
    );
    assert!(!acknowledged.is_empty());
    // Reopen without the crash point: the store opens cleanly and has everything once.
    let dir_path = dir.path().to_owned();
    let args: Vec<String> = weft
        .args
        .iter()
        .scan(false, |skip, arg| {
            let keep = !*skip && arg != "--store-crash-point";
            *skip = arg == "--store-crash-point";
            Some(keep.then(|| arg.clone()))
        })
        .flatten()
        .collect();
    let weft = Weft::start_with_args(&dir_path, args);
    assert_stored_exactly_once(&weft, &acknowledged).await;
    let (_, health) = weft.get_json("/health").await;
    assert_eq!(health["store"]["maintenanceErrors"], 0, "{health}");
}

#[tokio::test]
async fn kill_at_flush_before_the_manifest_loses_and_duplicates_nothing() {
    crash_at("flush-before-manifest", &[], 200).await;
}

#[tokio::test]
async fn kill_at_flush_after_the_manifest_loses_and_duplicates_nothing() {
    crash_at("flush-after-manifest", &[], 200).await;
}

#[tokio::test]
async fn kill_at_compaction_before_the_manifest_loses_and_duplicates_nothing() {
    crash_at("compaction-before-manifest", &[], 400).await;
}

#[tokio::test]
async fn kill_at_compaction_after_the_manifest_loses_and_duplicates_nothing() {
    crash_at("compaction-after-manifest", &[], 400).await;
}

#[tokio::test]
async fn retention_drops_partitions_past_the_age_and_keeps_younger_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mut weft = Weft::start(dir.path(), &[]);
    let mut client = grpc_client(&weft.grpc_endpoint()).await;
    let mut generator = weft_gen::TraceGenerator::new(90);
    let now = crate::clients::now_nanos();
    let old = generator.next_batch(5, now - 3 * 3_600_000_000_000).request;
    let young = generator.next_batch(5, now).request;
    let (old_keys, young_keys) = (span_keys(&old), span_keys(&young));
    client.export(old).await.unwrap();
    client.export(young).await.unwrap();
    drop(client);
    // A graceful stop flushes everything into segments.
    assert!(weft.terminate().success());
    let (_, before) = {
        weft.restart(&[]);
        weft.get_json("/health").await
    };
    assert_eq!(before["store"]["partitionsDropped"], 0);
    assert!(weft.terminate().success());

    // The cold writer needs the hot tier to keep a window past the cold delay.
    weft.restart(&["--retention", "1h", "--cold-delay", "10m"]);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let (_, health) = weft.get_json("/health").await;
        if health["store"]["partitionsDropped"].as_u64() >= Some(1) {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "{health}");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    for (trace_id, _) in &old_keys {
        assert!(
            weft.trace(trace_id).await.is_none(),
            "old trace {trace_id} is gone"
        );
    }
    assert_stored_exactly_once(&weft, &young_keys).await;
    let (_, health) = weft.get_json("/health").await;
    assert_eq!(
        health["store"]["segmentSpans"].as_u64(),
        Some(young_keys.len() as u64),
        "{health}"
    );
}
