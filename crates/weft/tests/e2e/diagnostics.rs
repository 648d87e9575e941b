//! Trace diagnostics end to end: `weft gen` injects each pathology at a known rate and logs
//! which traces got which; the server must report exactly those traces for each finding kind
//! (every injected case, nothing else), and count every trace once across a kill -9.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::clients::grpc_client;
use crate::sandbox::{Weft, WEFT};

const DIAGNOSTICS_FLAGS: [&str; 4] = [
    "--trace-inactivity-timeout",
    "1s",
    "--metrics-checkpoint-interval",
    "1s",
];

/// Waits until the assembler has nothing open and every analyzed trace's summary row is
/// committed, then returns the overview.
async fn settled_overview(weft: &Weft, path: &str) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let (status, body) = weft.get_json(path).await;
        assert_eq!(status, 200, "{body}");
        let assembler = &body["assembler"];
        let analyzed = assembler["tracesAnalyzed"].as_u64().unwrap();
        let open = assembler["openTraces"].as_u64().unwrap();
        let rows = body["summaryStore"]["rows"].as_u64().unwrap();
        if open == 0 && analyzed > 0 && rows >= analyzed {
            return body;
        }
        assert!(
            Instant::now() < deadline,
            "diagnostics did not settle: {assembler} {}",
            body["summaryStore"]
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn reported_traces(weft: &Weft, kind: &str) -> BTreeSet<String> {
    let (status, body) = weft
        .get_json(&format!(
            "/api/v1/diagnostics/traces?kind={kind}&limit=1000&lookback=1h"
        ))
        .await;
    assert_eq!(status, 200, "{body}");
    let traces = body["traces"].as_array().unwrap();
    assert!(traces.len() < 1000, "the limit must not cut the comparison");
    traces
        .iter()
        .map(|row| {
            assert!(
                row["findings"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|name| name == kind),
                "{row}"
            );
            row["traceId"].as_str().unwrap().to_owned()
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_injected_pathology_is_reported_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let weft = Weft::start(dir.path(), &DIAGNOSTICS_FLAGS);
    let log = dir.path().join("scenarios.log");
    let generated = Command::new(WEFT)
        .args([
            "gen",
            "--endpoint",
            &weft.grpc_endpoint(),
            // Moderate, so the other end-to-end tests running beside it keep their CPU.
            "--rate",
            "8000",
            "--spans",
            "30000",
            "--concurrency",
            "2",
            "--seed",
            "17",
            "--clean",
            "--broken-trace-rate",
            "0.04",
            "--bottleneck-rate",
            "0.04",
            "--repeated-calls-rate",
            "0.04",
            "--timeout-misconfiguration-rate",
            "0.04",
            "--cycle-rate",
            "0.04",
            "--slow-database-rate",
            "0.03",
            "--scenario-log",
            &log.to_string_lossy(),
        ])
        .output()
        .unwrap();
    assert!(
        generated.status.success(),
        "{}",
        String::from_utf8_lossy(&generated.stderr)
    );

    // What was injected, by the finding it must cause (a slow query is a bottleneck).
    let mut injected: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for line in std::fs::read_to_string(&log).unwrap().lines() {
        let (trace_id, scenario) = line.split_once(' ').unwrap();
        let kind = if scenario == "slow_database" {
            "bottleneck"
        } else {
            scenario
        };
        injected
            .entry(kind.to_owned())
            .or_default()
            .insert(trace_id.to_owned());
    }
    let slow_queries = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .filter(|line| line.ends_with(" slow_database"))
        .count() as u64;

    let overview = settled_overview(&weft, "/api/v1/diagnostics?lookback=1h&limit=1000").await;
    let analyzed = overview["assembler"]["tracesAnalyzed"].as_u64().unwrap();
    assert!(analyzed > 1_000, "{analyzed} traces");

    for kind in [
        "broken_trace",
        "bottleneck",
        "repeated_calls",
        "timeout_misconfiguration",
        "cycle",
    ] {
        let expected = injected.get(kind).cloned().unwrap_or_default();
        assert!(
            expected.len() > 10,
            "{kind}: only {} injected",
            expected.len()
        );
        let reported = reported_traces(&weft, kind).await;
        let missed: Vec<_> = expected.difference(&reported).take(3).collect();
        let extra: Vec<_> = reported.difference(&expected).take(3).collect();
        assert!(
            missed.is_empty() && extra.is_empty(),
            "{kind}: {} injected, {} reported; missed e.g. {missed:?}, reported but not injected e.g. {extra:?}",
            expected.len(),
            reported.len()
        );
    }

    // The aggregated views agree with the per-trace rows.
    let interruptions = &overview["interruptions"];
    assert_eq!(interruptions["traces"].as_u64().unwrap(), analyzed);
    assert_eq!(
        interruptions["broken_traces"].as_u64().unwrap(),
        injected["broken_trace"].len() as u64
    );
    let (_, findings) = weft
        .get_json("/api/v1/diagnostics/findings?kind=repeated_calls&lookback=1h&limit=1000")
        .await;
    let rows = findings["findings"].as_array().unwrap();
    let traces_with_repeats: u64 = rows.iter().map(|row| row["traces"].as_u64().unwrap()).sum();
    assert_eq!(traces_with_repeats, injected["repeated_calls"].len() as u64);
    assert!(
        rows.iter().any(|row| row["service"] == "inventory-service"
            && row["detail"].as_str().unwrap().contains(
                "SELECT quantity, warehouse_id FROM stock WHERE sku = ? AND warehouse_id IN (?+)"
            )),
        "{rows:#?}"
    );
    let (_, database) = weft
        .get_json("/api/v1/statistics/database?lookback=1h&limit=1000")
        .await;
    let slow: u64 = database["statements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row["slow_calls"].as_u64().unwrap())
        .sum();
    assert_eq!(slow, slow_queries, "one slow call per slow-query trace");
    let (_, cycles) = weft
        .get_json("/api/v1/diagnostics/cycles?lookback=1h")
        .await;
    let components: Vec<String> = cycles["cycles"]
        .as_array()
        .unwrap()
        .iter()
        .map(|cycle| cycle["services"].to_string())
        .collect();
    assert!(
        components.contains(&r#"["api-gateway","frontend","user-service"]"#.to_owned())
            || components.contains(&r#"["api-gateway","user-service"]"#.to_owned()),
        "{components:?}"
    );
    assert!(
        components.contains(&r#"["inventory-service","order-service"]"#.to_owned()),
        "{components:?}"
    );

    // One trace's diagnosis, computed from its stored spans, names the same pattern.
    let example = injected["repeated_calls"].iter().next().unwrap();
    let (status, diagnosis) = weft
        .get_json(&format!("/api/v1/traces/{example}/diagnosis"))
        .await;
    assert_eq!(status, 200, "{diagnosis}");
    assert!(
        diagnosis["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|finding| finding["kind"] == "repeated_calls"),
        "{diagnosis}"
    );
    let (status, _) = weft
        .get_json("/api/v1/traces/0123456789abcdef0123456789abcdef/diagnosis")
        .await;
    assert_eq!(status, 404);
    let (status, body) = weft
        .get_json("/api/v1/diagnostics/findings?kind=slowness")
        .await;
    assert_eq!(status, 400);
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown finding kind"),
        "{body}"
    );

    // The CLI names the pattern and the SQL.
    let printed = Command::new(WEFT)
        .args([
            "diagnose",
            "inventory-service",
            "--server",
            &weft.api_url(""),
            "--limit",
            "50",
        ])
        .output()
        .unwrap();
    assert!(printed.status.success());
    let text = String::from_utf8_lossy(&printed.stdout);
    assert!(text.contains("repeated calls"), "{text}");
    assert!(text.contains("FROM stock WHERE sku = ?"), "{text}");
    assert!(text.contains("diagnosis of inventory-service"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_with_traces_open_counts_every_trace_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    // A long timeout keeps the traces open when the process dies, even on a CI machine that
    // stalls for seconds between the last export and the kill.
    let mut weft = Weft::start(
        dir.path(),
        &[
            "--trace-inactivity-timeout",
            "8s",
            "--metrics-checkpoint-interval",
            "1s",
        ],
    );
    let scenarios = weft_gen::Scenarios {
        broken_trace: 0.2,
        ..weft_gen::Scenarios::clean()
    };
    let mut generator = weft_gen::TraceGenerator::with_scenarios(23, scenarios);
    let mut client = grpc_client(&weft.grpc_endpoint()).await;
    let mut traces = 0u64;
    let mut broken = BTreeSet::new();
    // Two rounds: the first is analyzed and committed, the second is open at the kill.
    for round in 0..2 {
        for _ in 0..10 {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64;
            let batch = generator.next_batch(20, now);
            traces += batch.traces as u64;
            broken.extend(batch.injected.iter().map(|(trace_id, _)| trace_id.to_hex()));
            client.export(batch.request).await.unwrap();
        }
        if round == 0 {
            settled_overview(&weft, "/api/v1/diagnostics?lookback=1h").await;
            // One more commit after the settle, so the state on disk holds round one.
            tokio::time::sleep(Duration::from_millis(1500)).await;
        }
    }
    let (_, before_kill) = weft.get_json("/api/v1/diagnostics?lookback=1h").await;
    assert!(
        before_kill["assembler"]["openTraces"].as_u64().unwrap() > 0,
        "the second round must be open at the kill: {}",
        before_kill["assembler"]
    );
    weft.kill_9();
    weft.restart(&[]);
    let overview = settled_overview(&weft, "/api/v1/diagnostics?lookback=1h").await;
    let interruptions = &overview["interruptions"];
    assert_eq!(
        interruptions["traces"].as_u64().unwrap(),
        traces,
        "{interruptions}"
    );
    assert_eq!(
        interruptions["broken_traces"].as_u64().unwrap(),
        broken.len() as u64
    );
    // The rows of traces analyzed after the restart land with the next commit.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let reported = reported_traces(&weft, "broken_trace").await;
        if reported == broken {
            break;
        }
        assert!(
            Instant::now() < deadline && reported.is_subset(&broken),
            "{} reported, {} injected",
            reported.len(),
            broken.len()
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}
