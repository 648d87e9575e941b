use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use prost::Message;
use weft_codec::otlp_proto::collector::logs::v1::{
    ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use weft_codec::otlp_proto::collector::trace::v1::ExportTraceServiceResponse;

use weft_model::now_unix_nanos;

use crate::{RawExportClient, TraceGenerator};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protocol {
    Grpc,
    Http,
}

#[derive(Debug, Clone)]
pub struct GenOptions {
    /// `http://host:4317` for gRPC, `http://host:4318` for HTTP (`/v1/traces` is appended).
    pub endpoint: String,
    pub protocol: Protocol,
    /// Target spans per second; `None` sends as fast as the server acknowledges.
    pub spans_per_second: Option<f64>,
    /// Stop after this long …
    pub duration: Option<Duration>,
    /// … or after this many spans, whichever comes first.
    pub max_spans: Option<u64>,
    /// Concurrent requests in flight.
    pub concurrency: usize,
    pub traces_per_request: usize,
    pub gzip: bool,
    pub seed: u64,
    /// Build this many requests before sending and replay them (with fresh timestamps not
    /// applied), so that a benchmark measures the server, not the generator.
    pub pregenerated_requests: Option<usize>,
    /// The pathologies to inject, and their rates.
    pub scenarios: crate::Scenarios,
    /// Appends `<trace ID hex> <scenario>` per injected scenario to this file, so a test
    /// knows what diagnostics must report.
    pub scenario_log: Option<std::path::PathBuf>,
    /// Also send the log records the services write ([`crate::logs_for_request`]) after each
    /// accepted batch of traces (not with pregenerated requests).
    pub logs: bool,
}

impl Default for GenOptions {
    fn default() -> Self {
        GenOptions {
            endpoint: "http://127.0.0.1:4317".to_owned(),
            protocol: Protocol::Grpc,
            spans_per_second: Some(1_000.0),
            duration: None,
            max_spans: None,
            concurrency: 4,
            traces_per_request: 20,
            gzip: false,
            seed: 1,
            pregenerated_requests: None,
            scenarios: crate::Scenarios::default(),
            scenario_log: None,
            logs: true,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("invalid endpoint {endpoint:?}: {reason}")]
    InvalidEndpoint { endpoint: String, reason: String },
    #[error("cannot open the scenario log {path}: {reason}")]
    ScenarioLog { path: String, reason: String },
}

/// Totals of a run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GenReport {
    pub sent_spans: u64,
    pub accepted_spans: u64,
    pub rejected_spans: u64,
    pub failed_requests: u64,
    pub throttled_requests: u64,
    pub accepted_log_records: u64,
    pub elapsed: Duration,
}

impl GenReport {
    pub fn spans_per_second(&self) -> f64 {
        self.accepted_spans as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

#[derive(Default)]
struct Counters {
    sent_spans: AtomicU64,
    accepted_spans: AtomicU64,
    rejected_spans: AtomicU64,
    failed_requests: AtomicU64,
    throttled_requests: AtomicU64,
    accepted_log_records: AtomicU64,
}

enum Client {
    Grpc(RawExportClient),
    Http {
        client: reqwest::Client,
        /// The traces URL; logs go to its `/v1/logs` sibling.
        url: String,
        logs_url: String,
        gzip: bool,
    },
}

enum SendOutcome {
    Accepted { rejected: u64 },
    Throttled,
    Failed(String),
}

impl Client {
    async fn send(&mut self, body: bytes::Bytes) -> SendOutcome {
        match self {
            Client::Grpc(client) => match client.export(body).await {
                Ok(response) => SendOutcome::Accepted {
                    rejected: rejected_of(&response),
                },
                Err(status) if status.code() == tonic::Code::ResourceExhausted => {
                    SendOutcome::Throttled
                }
                Err(status) => SendOutcome::Failed(status.to_string()),
            },
            Client::Http {
                client, url, gzip, ..
            } => match post_protobuf(client, url, *gzip, &body).await {
                Ok(bytes) => SendOutcome::Accepted {
                    rejected: rejected_of(
                        &ExportTraceServiceResponse::decode(bytes).unwrap_or_default(),
                    ),
                },
                Err(outcome) => outcome,
            },
        }
    }

    /// Sends a logs request; answers the records the server rejected.
    async fn send_logs(&mut self, body: bytes::Bytes) -> SendOutcome {
        match self {
            Client::Grpc(client) => match client.export_logs(body).await {
                Ok(response) => SendOutcome::Accepted {
                    rejected: rejected_logs_of(&response),
                },
                Err(status) if status.code() == tonic::Code::ResourceExhausted => {
                    SendOutcome::Throttled
                }
                Err(status) => SendOutcome::Failed(status.to_string()),
            },
            Client::Http {
                client,
                logs_url,
                gzip,
                ..
            } => match post_protobuf(client, logs_url, *gzip, &body).await {
                Ok(bytes) => SendOutcome::Accepted {
                    rejected: rejected_logs_of(
                        &ExportLogsServiceResponse::decode(bytes).unwrap_or_default(),
                    ),
                },
                Err(outcome) => outcome,
            },
        }
    }
}

/// Sends the records the services of an accepted batch wrote, counting the outcome (a failed
/// or throttled logs request is not retried: the traces are what the run paces by).
async fn send_logs(client: &mut Client, logs: &ExportLogsServiceRequest, counters: &Counters) {
    let records = weft_codec::log_record_count(logs);
    match client
        .send_logs(bytes::Bytes::from(logs.encode_to_vec()))
        .await
    {
        SendOutcome::Accepted { rejected } => {
            counters
                .accepted_log_records
                .fetch_add(records - rejected.min(records), Ordering::Relaxed);
        }
        SendOutcome::Throttled => {
            counters.throttled_requests.fetch_add(1, Ordering::Relaxed);
        }
        SendOutcome::Failed(reason) => {
            let failures = counters.failed_requests.fetch_add(1, Ordering::Relaxed);
            if failures < 5 {
                tracing::warn!(%reason, "log export failed");
            }
        }
    }
}

/// POSTs an OTLP/protobuf body; the response body on success.
async fn post_protobuf(
    client: &reqwest::Client,
    url: &str,
    gzip: bool,
    body: &[u8],
) -> Result<bytes::Bytes, SendOutcome> {
    let mut request = client
        .post(url)
        .header("content-type", "application/x-protobuf");
    let body = if gzip {
        request = request.header("content-encoding", "gzip");
        gzip_bytes(body)
    } else {
        body.to_vec()
    };
    match request.body(body).send().await {
        Ok(response) if response.status().is_success() => {
            Ok(response.bytes().await.unwrap_or_default())
        }
        Ok(response)
            if response.status() == reqwest::StatusCode::TOO_MANY_REQUESTS
                || response.status() == reqwest::StatusCode::SERVICE_UNAVAILABLE =>
        {
            Err(SendOutcome::Throttled)
        }
        Ok(response) => Err(SendOutcome::Failed(format!("http {}", response.status()))),
        Err(error) => Err(SendOutcome::Failed(error.to_string())),
    }
}

fn rejected_logs_of(response: &ExportLogsServiceResponse) -> u64 {
    response
        .partial_success
        .as_ref()
        .map_or(0, |partial| partial.rejected_log_records.max(0) as u64)
}

fn rejected_of(response: &ExportTraceServiceResponse) -> u64 {
    response
        .partial_success
        .as_ref()
        .map_or(0, |partial| partial.rejected_spans.max(0) as u64)
}

fn gzip_bytes(body: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder
        .write_all(body)
        .and_then(|()| encoder.finish())
        .expect("gzip into memory cannot fail")
}

async fn connect(options: &GenOptions) -> Result<Client, GenError> {
    let invalid = |reason: String| GenError::InvalidEndpoint {
        endpoint: options.endpoint.clone(),
        reason,
    };
    match options.protocol {
        Protocol::Grpc => {
            let channel = tonic::transport::Endpoint::from_shared(options.endpoint.clone())
                .map_err(|error| invalid(error.to_string()))?
                .tcp_nodelay(true)
                .connect_lazy();
            Ok(Client::Grpc(RawExportClient::new(channel, options.gzip)))
        }
        Protocol::Http => {
            let base = options.endpoint.trim_end_matches('/');
            let base = base.strip_suffix("/v1/traces").unwrap_or(base);
            let url = format!("{base}/v1/traces");
            let logs_url = format!("{base}/v1/logs");
            let client = reqwest::Client::builder()
                .no_proxy()
                .build()
                .map_err(|error| invalid(error.to_string()))?;
            Ok(Client::Http {
                client,
                url,
                logs_url,
                gzip: options.gzip,
            })
        }
    }
}

/// Sends traces until the duration or span budget is used up, or `stop` is set. Calls
/// `progress` about once a second with the totals so far.
pub async fn run(
    options: GenOptions,
    stop: Arc<AtomicBool>,
    progress: impl Fn(&GenReport) + Send + Sync + 'static,
) -> Result<GenReport, GenError> {
    let counters = Arc::new(Counters::default());
    let started = Instant::now();
    let pregenerated: Option<Arc<Vec<(bytes::Bytes, usize)>>> =
        options.pregenerated_requests.map(|count| {
            let mut generator = TraceGenerator::with_scenarios(options.seed, options.scenarios);
            Arc::new(
                (0..count.max(1))
                    .map(|_| {
                        let batch =
                            generator.next_batch(options.traces_per_request, now_unix_nanos());
                        (
                            bytes::Bytes::from(batch.request.encode_to_vec()),
                            batch.spans,
                        )
                    })
                    .collect(),
            )
        });
    let started = if pregenerated.is_some() {
        Instant::now()
    } else {
        started
    };
    let scenario_log = match &options.scenario_log {
        Some(path) => Some(Arc::new(std::sync::Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|error| GenError::ScenarioLog {
                    path: path.display().to_string(),
                    reason: error.to_string(),
                })?,
        ))),
        None => None,
    };
    let mut workers = Vec::new();
    for worker in 0..options.concurrency.max(1) {
        let scenario_log = scenario_log.clone();
        let mut client = connect(&options).await?;
        let options = options.clone();
        let counters = Arc::clone(&counters);
        let stop = Arc::clone(&stop);
        let pregenerated = pregenerated.clone();
        workers.push(tokio::spawn(async move {
            let mut generator = TraceGenerator::with_scenarios(
                options.seed.wrapping_add(worker as u64 * 7919),
                options.scenarios,
            );
            let per_worker_rate = options
                .spans_per_second
                .map(|rate| rate / options.concurrency.max(1) as f64);
            let mut index = worker;
            let mut worker_spans = 0u64;
            let worker_started = Instant::now();
            loop {
                if stop.load(Ordering::Relaxed)
                    || options
                        .duration
                        .is_some_and(|limit| started.elapsed() >= limit)
                    || options
                        .max_spans
                        .is_some_and(|limit| counters.sent_spans.load(Ordering::Relaxed) >= limit)
                {
                    return;
                }
                let (body, spans, logs) = match &pregenerated {
                    Some(requests) => {
                        let (body, spans) = requests[index % requests.len()].clone();
                        index += options.concurrency.max(1);
                        (body, spans, None)
                    }
                    None => {
                        let batch =
                            generator.next_batch(options.traces_per_request, now_unix_nanos());
                        if let Some(log) = &scenario_log {
                            log_scenarios(log, &batch.injected);
                        }
                        let logs = options
                            .logs
                            .then(|| crate::logs_for_request(&batch.request));
                        (
                            bytes::Bytes::from(batch.request.encode_to_vec()),
                            batch.spans,
                            logs,
                        )
                    }
                };
                counters
                    .sent_spans
                    .fetch_add(spans as u64, Ordering::Relaxed);
                match client.send(body).await {
                    SendOutcome::Accepted { rejected } => {
                        counters.accepted_spans.fetch_add(
                            spans as u64 - rejected.min(spans as u64),
                            Ordering::Relaxed,
                        );
                        counters
                            .rejected_spans
                            .fetch_add(rejected, Ordering::Relaxed);
                        if let Some(logs) = logs {
                            send_logs(&mut client, &logs, &counters).await;
                        }
                    }
                    SendOutcome::Throttled => {
                        counters.throttled_requests.fetch_add(1, Ordering::Relaxed);
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    SendOutcome::Failed(reason) => {
                        let failures = counters.failed_requests.fetch_add(1, Ordering::Relaxed);
                        if failures < 5 {
                            tracing::warn!(%reason, "export failed");
                        }
                        tokio::time::sleep(Duration::from_millis(500)).await;
                    }
                }
                worker_spans += spans as u64;
                if let Some(rate) = per_worker_rate {
                    // Pace against the schedule, not the last send, so slow sends are caught up.
                    let due = Duration::from_secs_f64(worker_spans as f64 / rate.max(1e-6));
                    if let Some(wait) = due.checked_sub(worker_started.elapsed()) {
                        tokio::time::sleep(wait).await;
                    }
                }
            }
        }));
    }
    let snapshot = {
        let counters = Arc::clone(&counters);
        move || GenReport {
            sent_spans: counters.sent_spans.load(Ordering::Relaxed),
            accepted_spans: counters.accepted_spans.load(Ordering::Relaxed),
            rejected_spans: counters.rejected_spans.load(Ordering::Relaxed),
            failed_requests: counters.failed_requests.load(Ordering::Relaxed),
            throttled_requests: counters.throttled_requests.load(Ordering::Relaxed),
            accepted_log_records: counters.accepted_log_records.load(Ordering::Relaxed),
            elapsed: started.elapsed(),
        }
    };
    let mut all_done = Box::pin(futures_join(workers));
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.tick().await;
    loop {
        tokio::select! {
            () = &mut all_done => break,
            _ = ticker.tick() => progress(&snapshot()),
        }
    }
    Ok(snapshot())
}

/// Writes the injected scenarios before the request is sent, so a test that reads the log
/// after the generator stops knows every trace the server may have.
fn log_scenarios(
    log: &std::sync::Mutex<std::fs::File>,
    injected: &[(weft_model::TraceId, crate::Scenario)],
) {
    use std::io::Write as _;
    if injected.is_empty() {
        return;
    }
    let mut lines = String::new();
    for (trace_id, scenario) in injected {
        lines.push_str(&format!("{trace_id} {}\n", scenario.as_str()));
    }
    let mut file = log
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Err(error) = file.write_all(lines.as_bytes()) {
        tracing::warn!(%error, "writing the scenario log failed");
    }
}

async fn futures_join(workers: Vec<tokio::task::JoinHandle<()>>) {
    for worker in workers {
        let _ = worker.await;
    }
}
