//! Overload sheds with 429 / RESOURCE_EXHAUSTED and retry hints; memory stays bounded; nothing
//! acknowledged is lost.

use std::collections::HashSet;

use prost::Message;

use crate::clients::{generated_batches, grpc_client, span_keys};
use crate::sandbox::Weft;

#[tokio::test]
async fn full_wal_sheds_with_retry_hints_and_recovers_without_loss() {
    let dir = tempfile::tempdir().unwrap();
    // The capture sink never flushes on its own, so the WAL cannot be trimmed and fills up.
    let mut weft = Weft::start(
        dir.path(),
        &[
            "--wal-max-size",
            "512KiB",
            "--wal-segment-size",
            "64KiB",
            "--capture-flush-interval",
            "1h",
            // The diagnostics hold the WAL from the first span of each open trace; a short
            // inactivity timeout lets it drain within the test's wait after the restart.
            "--trace-inactivity-timeout",
            "1s",
            "--metrics-checkpoint-interval",
            "1s",
        ],
    );
    let http = reqwest::Client::new();
    let mut acknowledged = HashSet::new();
    let mut shed_response = None;
    for batch in generated_batches(31, 200, 5) {
        let keys = span_keys(&batch);
        let response = http
            .post(weft.otlp_http_url())
            .header("content-type", "application/x-protobuf")
            .body(batch.encode_to_vec())
            .send()
            .await
            .unwrap();
        if response.status() == 200 {
            acknowledged.extend(keys);
        } else {
            shed_response = Some(response);
            break;
        }
    }
    let response = shed_response.expect("a 512 KiB wal fills up");
    assert_eq!(response.status(), 429);
    assert_eq!(response.headers()["retry-after"], "1");
    let status: tonic_types::pb::Status =
        tonic_types::pb::Status::decode(response.bytes().await.unwrap()).unwrap();
    assert_eq!(status.code, 8, "RESOURCE_EXHAUSTED");
    assert!(status.message.contains("wal is full"), "{}", status.message);

    // gRPC says the same, with RetryInfo so OTLP clients back off and retry.
    let mut client = grpc_client(&weft.grpc_endpoint()).await;
    let status = client
        .export(generated_batches(32, 1, 5).remove(0))
        .await
        .unwrap_err();
    assert_eq!(status.code(), tonic::Code::ResourceExhausted);
    use tonic_types::StatusExt;
    assert!(status
        .get_details_retry_info()
        .and_then(|info| info.retry_delay)
        .is_some());
    assert!(weft.metric("weft_wal_rejected_appends_total").await >= 2.0);
    assert!(weft.is_running());

    // Once the pipeline has made its backlog durable, the WAL is trimmed and ingest resumes.
    assert!(weft.terminate().success());
    weft.restart(&["--capture-flush-interval", "50ms"]);
    weft.wait_for_captured(acknowledged.len()).await;
    let mut client = grpc_client(&weft.grpc_endpoint()).await;
    let mut accepted_after_recovery = false;
    for _ in 0..100 {
        let batch = generated_batches(33, 1, 5).remove(0);
        if client.export(batch.clone()).await.is_ok() {
            acknowledged.extend(span_keys(&batch));
            accepted_after_recovery = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(
        accepted_after_recovery,
        "ingest resumed once the wal drained"
    );
    let captured = weft.wait_for_captured(acknowledged.len()).await;
    let keys: HashSet<_> = captured
        .iter()
        .map(|c| (c.trace_id.clone(), c.span_id.clone()))
        .collect();
    assert_eq!(captured.len(), keys.len(), "no duplicates");
    assert_eq!(keys, acknowledged);
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|rest| rest.trim().trim_end_matches(" kB").trim().parse().ok())
        .unwrap()
}

#[tokio::test]
async fn flood_of_concurrent_requests_is_shed_and_memory_stays_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let mut weft = Weft::start(
        dir.path(),
        &[
            "--max-concurrent-requests",
            "2",
            "--capture-flush-interval",
            "50ms",
        ],
    );
    // 64 concurrent clients, each sending 4 large batches (about 1.5 MB each) at once.
    let batches = generated_batches(41, 8, 300);
    let mut tasks = Vec::new();
    for client_index in 0..64 {
        let endpoint = weft.grpc_endpoint();
        let batches = batches.clone();
        tasks.push(tokio::spawn(async move {
            let mut client = grpc_client(&endpoint).await;
            let mut outcomes = Vec::new();
            for round in 0..4 {
                let batch = batches[(client_index + round) % batches.len()].clone();
                let keys = span_keys(&batch);
                outcomes.push(match client.export(batch).await {
                    Ok(_) => Ok(keys),
                    Err(status) => Err(status.code()),
                });
            }
            outcomes
        }));
    }
    let mut accepted_requests = 0;
    let mut accepted_spans = 0;
    let mut shed = 0;
    let mut acknowledged = HashSet::new();
    for task in tasks {
        for outcome in task.await.unwrap() {
            match outcome {
                Ok(keys) => {
                    accepted_requests += 1;
                    accepted_spans += keys.len();
                    acknowledged.extend(keys);
                }
                Err(tonic::Code::ResourceExhausted) => shed += 1,
                Err(other) => panic!("unexpected status {other:?}"),
            }
        }
    }
    assert!(shed > 0, "two slots cannot take 64 concurrent clients");
    assert!(accepted_requests > 0);
    assert!(
        weft.metric(r#"weft_receiver_requests_total{receiver="otlp_grpc",outcome="shed"}"#)
            .await
            >= shed as f64
    );
    // The same batches were sent by several clients: each accepted copy is processed, once.
    let captured = weft.wait_for_captured(accepted_spans).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(weft.captured().len(), accepted_spans);
    let captured_keys: HashSet<_> = captured
        .iter()
        .map(|c| (c.trace_id.clone(), c.span_id.clone()))
        .collect();
    assert!(acknowledged.is_subset(&captured_keys));
    let pid = weft.pid();
    let peak = peak_rss_kib(pid);
    assert!(peak < 1024 * 1024, "peak rss {peak} KiB under a flood");
    assert!(weft.is_running());
}

#[tokio::test]
async fn stalled_upload_times_out_and_frees_its_admission_slot() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let dir = tempfile::tempdir().unwrap();
    let weft = Weft::start(
        dir.path(),
        &[
            "--max-concurrent-requests",
            "1",
            // Long enough that a busy machine (the whole suite in parallel, builds beside it)
            // still sees the slot taken before the stalled request times out.
            "--receive-timeout",
            "10s",
            "--capture-flush-interval",
            "50ms",
        ],
    );
    let batch = generated_batches(81, 1, 2).remove(0);
    let send = || async {
        reqwest::Client::new()
            .post(weft.otlp_http_url())
            .header("content-type", "application/x-protobuf")
            .body(batch.encode_to_vec())
            .send()
            .await
            .unwrap()
            .status()
    };
    // A client that announces 1000 bytes, sends 10 and stalls, holding the only slot. If it
    // arrives while one of our own sends holds the slot, it is refused at once (and answered):
    // then it is sent again, until a send of ours is the one refused.
    let stall = || async {
        let mut stalled = tokio::net::TcpStream::connect(weft.otlp_http)
            .await
            .unwrap();
        stalled
            .write_all(
                b"POST /v1/traces HTTP/1.1\r\nHost: weft\r\nContent-Type: application/x-protobuf\r\n\
                  Content-Length: 1000\r\n\r\n0123456789",
            )
            .await
            .unwrap();
        stalled
    };
    let answered = |stalled: &tokio::net::TcpStream| {
        let mut byte = [0u8; 1];
        // Readable now means the server answered (a refusal) instead of waiting for the body.
        stalled.try_read(&mut byte).is_ok()
    };
    let mut stalled = stall().await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(9);
    let mut saw_shed = false;
    while !saw_shed && std::time::Instant::now() < deadline {
        saw_shed = send().await == 429;
        if !saw_shed && answered(&stalled) {
            stalled = stall().await;
        }
    }
    assert!(saw_shed, "the stalled upload holds the only admission slot");
    // The stalled client is told 408 once the receive timeout passes …
    let mut response = Vec::new();
    tokio::time::timeout(std::time::Duration::from_secs(30), async {
        let mut buffer = [0u8; 1024];
        loop {
            let read = stalled.read(&mut buffer).await.unwrap();
            response.extend_from_slice(&buffer[..read]);
            if read == 0 || response.windows(4).any(|window| window == b"\r\n\r\n") {
                break;
            }
        }
    })
    .await
    .expect("the server answers a stalled upload");
    let head = String::from_utf8_lossy(&response);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
    // … and the slot is free again.
    assert_eq!(send().await, 200);
    weft.wait_for_captured(span_keys(&batch).len()).await;
}
