//! Acknowledged data survives kill -9 and is replayed into the pipeline exactly once.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use crate::clients::{generated_batches, grpc_client, span_keys};
use crate::sandbox::Weft;

fn keys_of(weft: &Weft) -> (usize, HashSet<(String, String)>) {
    let captured = weft.captured();
    let keys = captured
        .iter()
        .map(|c| (c.trace_id.clone(), c.span_id.clone()))
        .collect();
    (captured.len(), keys)
}

#[tokio::test]
async fn kill_9_after_acknowledgement_replays_every_span_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    // The sink holds everything in memory (like an unflushed memtable): only the WAL has it.
    let mut weft = Weft::start(dir.path(), &["--capture-flush-interval", "1h"]);
    let mut client = grpc_client(&weft.grpc_endpoint()).await;
    let mut acknowledged = HashSet::new();
    for batch in generated_batches(51, 25, 4) {
        let keys = span_keys(&batch);
        client.export(batch).await.unwrap();
        acknowledged.extend(keys);
    }
    weft.kill_9();
    assert!(
        weft.captured().is_empty(),
        "nothing was flushed before the crash"
    );

    weft.restart(&["--capture-flush-interval", "50ms"]);
    weft.wait_for_captured(acknowledged.len()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (count, keys) = keys_of(&weft);
    assert_eq!(count, acknowledged.len(), "each span exactly once");
    assert_eq!(keys, acknowledged);
    assert_eq!(
        weft.metric("weft_pipeline_replayed_records_total").await,
        25.0
    );
}

#[tokio::test]
async fn kill_9_under_load_loses_no_acknowledged_span_and_duplicates_none() {
    let dir = tempfile::tempdir().unwrap();
    let mut weft = Weft::start(
        dir.path(),
        &[
            "--capture-flush-interval",
            "30ms",
            "--wal-segment-size",
            "256KiB",
        ],
    );
    let acknowledged = Arc::new(Mutex::new(HashSet::new()));
    let mut senders = Vec::new();
    for sender in 0..4u64 {
        let endpoint = weft.grpc_endpoint();
        let acknowledged = Arc::clone(&acknowledged);
        senders.push(tokio::spawn(async move {
            let mut client = grpc_client(&endpoint).await;
            for batch in generated_batches(60 + sender, 400, 3) {
                let keys = span_keys(&batch);
                match client.export(batch).await {
                    Ok(_) => acknowledged.lock().unwrap().extend(keys),
                    Err(_) => return, // the server died mid-request: not acknowledged
                }
            }
        }));
    }
    // Let it run, then pull the plug while requests are in flight.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    weft.kill_9();
    for sender in senders {
        let _ = sender.await;
    }
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(!acknowledged.is_empty());

    weft.restart(&[]);
    weft.wait_for_captured(acknowledged.len()).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (count, keys) = keys_of(&weft);
    assert_eq!(count, keys.len(), "no span processed twice");
    let lost: Vec<_> = acknowledged.difference(&keys).take(5).collect();
    assert!(lost.is_empty(), "acknowledged spans lost: {lost:?}");
}
