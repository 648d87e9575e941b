//! Tail sampling and the cold tier, end to end: the generator's traffic through a running
//! server with a short cold delay, late spans, the cold writer's passes, a crash mid-pass.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use opentelemetry_proto::tonic::trace::v1::Span as OtlpSpan;
use prost::Message;
use weft_codec::ExportTraceServiceRequest;

use crate::sandbox::Weft;

const SHARD_SECONDS: u64 = 2;
const DEFAULT_SHARE: f64 = 0.05;

fn sampling_flags(cold_delay: &str) -> Vec<&str> {
    vec![
        "--cold-delay",
        cold_delay,
        "--sampling-shard",
        "2s",
        "--retention",
        "2h",
        "--store-flush-interval",
        "1s",
        "--sampling-default-share",
        "0.05",
        // A filter far larger than the keys kept here: false positives are negligible, so
        // the statistical check below sees the default share alone.
        "--sampling-expected-traces",
        "200000",
        "--sampling-false-positive-rate",
        "0.0001",
    ]
}

fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The test's own reading of the default rules, independent of the sampler's code: an error
/// status anywhere, a database call of 200 ms or more, a root of 1 s or more, an order key.
fn is_interesting(span: &OtlpSpan) -> bool {
    let duration = span
        .end_time_unix_nano
        .saturating_sub(span.start_time_unix_nano);
    let has = |key: &str| span.attributes.iter().any(|attribute| attribute.key == key);
    span.status.as_ref().is_some_and(|status| status.code == 2)
        || (has("db.system") && duration >= 200_000_000)
        || (span.parent_span_id.is_empty() && duration >= 1_000_000_000)
        || has("order.id")
        || has("bizOrderId")
}

#[derive(Default)]
struct SentTrace {
    span_ids: Vec<String>,
    interesting: bool,
    latest_start_nanos: u64,
}

fn record(sent: &mut BTreeMap<String, SentTrace>, request: &ExportTraceServiceRequest) {
    for resource in &request.resource_spans {
        for scope in &resource.scope_spans {
            for span in &scope.spans {
                let trace = sent.entry(hex(&span.trace_id)).or_default();
                trace.span_ids.push(hex(&span.span_id));
                trace.interesting |= is_interesting(span);
                trace.latest_start_nanos = trace.latest_start_nanos.max(span.start_time_unix_nano);
            }
        }
    }
}

/// Splits off the last span (a leaf: the generator appends children after parents) of every
/// third trace, to be sent later.
fn hold_back_late_spans(request: &mut ExportTraceServiceRequest) -> ExportTraceServiceRequest {
    let mut late = request.clone();
    let mut last_of_trace: HashMap<Vec<u8>, (usize, usize, usize)> = HashMap::new();
    for (r, resource) in request.resource_spans.iter().enumerate() {
        for (s, scope) in resource.scope_spans.iter().enumerate() {
            for (index, span) in scope.spans.iter().enumerate() {
                last_of_trace.insert(span.trace_id.clone(), (r, s, index));
            }
        }
    }
    let held: HashSet<(usize, usize, usize)> = last_of_trace
        .into_iter()
        .filter(|(trace_id, _)| trace_id[15].is_multiple_of(3))
        .map(|(_, place)| place)
        .collect();
    for (r, resource) in request.resource_spans.iter_mut().enumerate() {
        for (s, scope) in resource.scope_spans.iter_mut().enumerate() {
            let mut index = 0;
            scope.spans.retain(|_| {
                let keep = !held.contains(&(r, s, index));
                index += 1;
                keep
            });
        }
    }
    for (r, resource) in late.resource_spans.iter_mut().enumerate() {
        for (s, scope) in resource.scope_spans.iter_mut().enumerate() {
            let mut index = 0;
            scope.spans.retain(|_| {
                let keep = held.contains(&(r, s, index));
                index += 1;
                keep
            });
        }
    }
    late
}

async fn post(weft: &Weft, request: &ExportTraceServiceRequest) {
    post_to(weft.otlp_http_url(), request.clone()).await;
}

async fn post_to(url: String, request: ExportTraceServiceRequest) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/x-protobuf")
        .body(request.encode_to_vec())
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
}

/// Waits until the cold writer has passed every window up to `unix_seconds`.
async fn wait_for_cold_writer(weft: &Weft, unix_seconds: u64) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let (status, storage) = weft.get_json("/api/v1/storage").await;
        assert_eq!(status, 200, "{storage}");
        if storage["coldWriter"]["passedThrough"]
            .as_u64()
            .is_some_and(|passed| passed >= unix_seconds)
        {
            return storage;
        }
        assert!(
            Instant::now() < deadline,
            "the cold writer did not pass {unix_seconds}: {storage}; log:\n{}",
            weft.log()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// A trace's span IDs in one tier, sorted (duplicates kept, so they show), and the tier the
/// answer says it came from.
async fn span_ids_in(weft: &Weft, trace_id: &str, tier: &str) -> (Vec<String>, Option<String>) {
    let response = reqwest::get(weft.api_url(&format!("/api/v1/traces/{trace_id}?tier={tier}")))
        .await
        .unwrap();
    if response.status() == reqwest::StatusCode::NOT_FOUND {
        return (Vec::new(), None);
    }
    assert!(response.status().is_success(), "{}", response.status());
    let answered = response
        .headers()
        .get("weft-tier")
        .map(|value| value.to_str().unwrap().to_owned());
    let request = weft_codec::decode_otlp_json(&response.bytes().await.unwrap()).unwrap();
    let mut ids: Vec<String> = request
        .resource_spans
        .iter()
        .flat_map(|resource| &resource.scope_spans)
        .flat_map(|scope| &scope.spans)
        .map(|span| hex(&span.span_id))
        .collect();
    ids.sort();
    (ids, answered)
}

fn window_end_after(nanos: u64) -> u64 {
    let seconds = nanos / 1_000_000_000;
    seconds - seconds % SHARD_SECONDS + SHARD_SECONDS
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn interesting_traces_are_complete_in_cold_with_late_spans_and_the_rest_at_the_default_share()
{
    let dir = tempfile::tempdir().unwrap();
    let weft = Weft::start(dir.path(), &sampling_flags("6s"));
    let mut generator = weft_gen::TraceGenerator::new(61);
    let mut sent: BTreeMap<String, SentTrace> = BTreeMap::new();
    let mut late_sends = Vec::new();
    let mut late_spans = 0;
    for _ in 0..4 {
        let mut request = generator.next_batch(250, now_nanos()).request;
        record(&mut sent, &request);
        let late = hold_back_late_spans(&mut request);
        late_spans += crate::sandbox::count_spans(&late);
        post_to(weft.otlp_http_url(), request).await;
        // Each batch's held-back spans follow it 2.5 s later — up to ~6 s after their root
        // started (the generator's traces end up to 2 s before `now` and last up to ~1.5 s):
        // within the 6 s cold delay, later than everything else of the trace.
        let url = weft.otlp_http_url();
        late_sends.push(tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(2_500)).await;
            post_to(url, late).await;
        }));
        tokio::time::sleep(Duration::from_millis(700)).await;
    }
    for send in late_sends {
        send.await.unwrap();
    }
    assert!(
        late_spans > 100,
        "the test holds back late spans ({late_spans})"
    );
    let newest = sent
        .values()
        .map(|trace| trace.latest_start_nanos)
        .max()
        .unwrap();
    let storage = wait_for_cold_writer(&weft, window_end_after(newest)).await;

    let interesting: Vec<&String> = sent
        .iter()
        .filter(|(_, trace)| trace.interesting)
        .map(|(id, _)| id)
        .collect();
    let boring: Vec<&String> = sent
        .iter()
        .filter(|(_, trace)| !trace.interesting)
        .map(|(id, _)| id)
        .collect();
    assert!(
        interesting.len() > 50 && boring.len() > 500,
        "{} / {}",
        interesting.len(),
        boring.len()
    );
    let mut expected_cold_spans = 0usize;
    for trace_id in &interesting {
        let mut expected = sent[*trace_id].span_ids.clone();
        expected.sort();
        let (found, tier) = span_ids_in(&weft, trace_id, "cold").await;
        assert_eq!(
            found, expected,
            "interesting trace {trace_id} in the cold tier"
        );
        assert_eq!(tier.as_deref(), Some("cold"));
        expected_cold_spans += expected.len();
    }
    let mut kept_boring = 0usize;
    for trace_id in &boring {
        let (found, _) = span_ids_in(&weft, trace_id, "cold").await;
        if found.is_empty() {
            continue;
        }
        let mut expected = sent[*trace_id].span_ids.clone();
        expected.sort();
        assert_eq!(found, expected, "a trace kept by the share is whole too");
        kept_boring += 1;
        expected_cold_spans += expected.len();
    }
    // The default share, statistically: within four standard deviations of n·p.
    let n = boring.len() as f64;
    let mean = n * DEFAULT_SHARE;
    let deviation = (n * DEFAULT_SHARE * (1.0 - DEFAULT_SHARE)).sqrt();
    assert!(
        (kept_boring as f64 - mean).abs() <= 4.0 * deviation + 1.0,
        "{kept_boring} of {n} uninteresting traces kept; expected about {mean:.1} ± {:.1}",
        4.0 * deviation
    );
    // Nothing twice: the cold tier holds exactly the kept traces' spans.
    assert_eq!(
        storage["cold"]["spans"].as_u64().unwrap() as usize,
        expected_cold_spans,
        "{storage}"
    );
    // The hot tier still has everything; the default search reads it and says so.
    let total: usize = sent.values().map(|trace| trace.span_ids.len()).sum();
    assert_eq!(storage["hot"]["spans"].as_u64().unwrap() as usize, total);
    let (status, search) = weft
        .get_json("/api/v1/search?lookback=1h&status=error&limit=5")
        .await;
    assert_eq!(status, 200, "{search}");
    assert_eq!(search["tiers"], serde_json::json!(["hot"]));
    assert_eq!(search["traces"][0]["tier"], "hot");
    let (status, cold_search) = weft
        .get_json("/api/v1/search?lookback=1h&status=error&limit=500&tier=cold")
        .await;
    assert_eq!(status, 200, "{cold_search}");
    let cold_errors: HashSet<&str> = cold_search["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|trace| trace["traceId"].as_str().unwrap())
        .collect();
    let (_, hot_errors) = weft
        .get_json("/api/v1/search?lookback=1h&status=error&limit=500&tier=hot")
        .await;
    let hot_errors: HashSet<&str> = hot_errors["traces"]
        .as_array()
        .unwrap()
        .iter()
        .map(|trace| trace["traceId"].as_str().unwrap())
        .collect();
    assert_eq!(
        cold_errors, hot_errors,
        "every error trace is in the cold tier"
    );

    // The explanation names the rule that kept an error trace, and says why a boring one
    // was not kept.
    let error_trace = cold_errors.iter().next().unwrap();
    let (status, explained) = weft
        .get_json(&format!("/api/v1/sampling/explain/{error_trace}"))
        .await;
    assert_eq!(status, 200, "{explained}");
    assert_eq!(explained["decision"], "kept", "{explained}");
    assert!(explained["rules"]
        .as_array()
        .unwrap()
        .iter()
        .any(|found| found["rule"] == "error"));
    assert_eq!(explained["shards"][0]["state"], "closed");
    let dropped = boring
        .iter()
        .find(|trace_id| !weft_sampling::in_share(&trace_id_of(trace_id), DEFAULT_SHARE))
        .unwrap();
    let (status, explained) = weft
        .get_json(&format!("/api/v1/sampling/explain/{dropped}"))
        .await;
    assert_eq!(status, 200, "{explained}");
    assert_eq!(explained["decision"], "not_kept", "{explained}");
    assert!(
        explained["summary"]
            .as_str()
            .unwrap()
            .contains("not in the 5 % random share"),
        "{explained}"
    );
    let (status, _) = weft
        .get_json("/api/v1/sampling/explain/00000000000000000000000000000abc")
        .await;
    assert_eq!(status, 404);
}

fn trace_id_of(hex_id: &str) -> weft_model::TraceId {
    weft_model::TraceId::from_hex(hex_id).unwrap()
}

/// Everything a tier holds for the sent traces: trace ID → sorted span IDs.
async fn cold_contents(weft: &Weft, trace_ids: &[String]) -> BTreeMap<String, Vec<String>> {
    let mut contents = BTreeMap::new();
    for trace_id in trace_ids {
        let (found, _) = span_ids_in(weft, trace_id, "cold").await;
        if !found.is_empty() {
            contents.insert(trace_id.clone(), found);
        }
    }
    contents
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_during_a_cold_writer_pass_ends_with_the_cold_tier_of_a_run_without_it() {
    let clean_dir = tempfile::tempdir().unwrap();
    let crash_dir = tempfile::tempdir().unwrap();
    // The cold delay must exceed how old a trace can be when it arrives (the generator's
    // traces last up to ~3 s and are sent up to 2 s after they end): a span arriving after its
    // window closed is a late mark, dropped in one server and not the other by a few
    // milliseconds of scheduling, which is not what this test is about.
    let mut flags = sampling_flags("6s");
    // Many parts per window, so the crash lands between two of them.
    flags.extend(["--cold-traces-per-part", "3"]);
    let clean = Weft::start(clean_dir.path(), &flags);
    let mut crash_flags = flags.clone();
    crash_flags.extend(["--cold-crash-point", "between-parts"]);
    let mut crashing = Weft::start(crash_dir.path(), &crash_flags);

    let mut generator = weft_gen::TraceGenerator::new(62);
    let mut sent: BTreeMap<String, SentTrace> = BTreeMap::new();
    for _ in 0..3 {
        let request = generator.next_batch(200, now_nanos()).request;
        record(&mut sent, &request);
        post(&clean, &request).await;
        post(&crashing, &request).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let newest = sent
        .values()
        .map(|trace| trace.latest_start_nanos)
        .max()
        .unwrap();
    let target = window_end_after(newest);

    // The first part committed, then the process aborts (as kill -9 would leave it).
    let status = crashing.wait_for_exit();
    assert!(!status.success(), "the crash point aborts the process");
    // Second crash: inside the cold store's commit of a part, after its segment files are
    // written and before the manifest names them.
    crashing.restart(&["--cold-crash-point", "flush-before-manifest"]);
    let status = crashing.wait_for_exit();
    assert!(!status.success());
    crashing.restart_without("--cold-crash-point");

    let clean_storage = wait_for_cold_writer(&clean, target).await;
    let crashed_storage = wait_for_cold_writer(&crashing, target).await;
    let trace_ids: Vec<String> = sent.keys().cloned().collect();
    let clean_cold = cold_contents(&clean, &trace_ids).await;
    let crashed_cold = cold_contents(&crashing, &trace_ids).await;
    assert!(
        clean_cold.len() > 30,
        "the clean run kept traces ({})",
        clean_cold.len()
    );
    if crashed_cold != clean_cold {
        let missing: Vec<&String> = clean_cold
            .keys()
            .filter(|trace| !crashed_cold.contains_key(*trace))
            .collect();
        for trace_id in &missing {
            let path = format!("/api/v1/sampling/explain/{trace_id}");
            eprintln!(
                "MISSING {trace_id}\nclean: {}\ncrashed: {}",
                clean.get_json(&path).await.1,
                crashing.get_json(&path).await.1
            );
        }
        eprintln!(
            "CRASHED LOG\n{}\nCLEAN LOG\n{}",
            crashing.log(),
            clean.log()
        );
    }
    assert_eq!(
        crashed_cold, clean_cold,
        "the same traces with the same spans"
    );
    assert_eq!(
        crashed_storage["cold"]["spans"], clean_storage["cold"]["spans"],
        "nothing twice: {crashed_storage} vs {clean_storage}"
    );
    assert!(
        crashing.log().contains("crash point between-parts reached"),
        "the first crash happened where it was meant to"
    );
}

async fn put_rules(weft: &Weft, body: &str) -> (u16, serde_json::Value) {
    let response = reqwest::Client::new()
        .put(weft.api_url("/api/v1/sampling/rules"))
        .header("content-type", "application/json")
        .body(body.to_owned())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sampling_rules_come_from_the_config_file_change_at_run_time_and_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("weft.toml");
    std::fs::write(
        &config,
        r#"
        [sampling]
        default_keep_share = 0.002
        [[sampling.rules]]
        name = "errors"
        condition = { type = "error_status" }
        max_traces_per_second = 100
        [[sampling.rules]]
        name = "slow_checkout_db"
        condition = { type = "slow_database_call", min_duration = "150ms" }
        "#,
    )
    .unwrap();
    let mut weft = Weft::start(dir.path(), &["--config", config.to_str().unwrap()]);
    let (status, rules) = weft.get_json("/api/v1/sampling/rules").await;
    assert_eq!(status, 200);
    assert_eq!(rules["source"], "configuration");
    assert_eq!(rules["rules"]["default_keep_share"], 0.002);
    assert_eq!(
        rules["rules"]["rules"][1]["condition"]["min_duration"],
        "150ms"
    );

    let (status, refused) = put_rules(&weft, "{ not json").await;
    assert_eq!(status, 400, "{refused}");
    assert!(refused["error"]["message"]
        .as_str()
        .unwrap()
        .contains("invalid sampling rules"));
    let (status, refused) = put_rules(&weft, r#"{"default_keep_share": 2}"#).await;
    assert_eq!(status, 400, "{refused}");
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("between 0 and 1"),
        "{refused}"
    );
    let (_, unchanged) = weft.get_json("/api/v1/sampling/rules").await;
    assert_eq!(unchanged, rules, "a refused change changes nothing");

    let new_rules = r#"{
        "default_keep_share": 0.01,
        "rules": [{ "name": "declines", "condition": { "type": "keyword", "words": ["declined"] } }]
    }"#;
    let (status, applied) = put_rules(&weft, new_rules).await;
    assert_eq!(status, 200, "{applied}");
    assert_eq!(applied["source"], "api");
    assert_eq!(weft.terminate().code(), Some(0));
    weft.restart(&[]);
    let (_, after) = weft.get_json("/api/v1/sampling/rules").await;
    assert_eq!(
        after, applied,
        "the API's rules win over the file after a restart"
    );
    assert!(weft
        .log()
        .contains("sampling rules set through the API are in force"));

    // `weft status` reads the same server.
    let output = std::process::Command::new(crate::sandbox::WEFT)
        .args(["status", "--server", &weft.api_url("")])
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(text.contains("cold/hot:"), "{text}");
    assert!(text.contains("declines"), "{text}");
    assert!(text.contains("rules from the api"), "{text}");
}
