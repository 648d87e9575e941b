//! Starts real `weft serve` processes on loopback ports in a temporary directory, and the real
//! OpenTelemetry SDK clients installed by `scripts/install-test-deps.sh`.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub const WEFT: &str = env!("CARGO_BIN_EXE_weft");

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// One span as the capture sink wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CapturedSpan {
    pub position: u64,
    pub trace_id: String,
    pub span_id: String,
    pub service: String,
    pub name: String,
}

pub struct Weft {
    child: Option<Child>,
    pub dir: PathBuf,
    pub args: Vec<String>,
    pub otlp_grpc: SocketAddr,
    pub otlp_http: SocketAddr,
    pub zipkin: SocketAddr,
    pub api: SocketAddr,
}

fn address_after(line: &str, key: &str) -> SocketAddr {
    line.split_whitespace()
        .find_map(|part| part.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key} in {line:?}"))
        .parse()
        .unwrap()
}

/// A listener a role does not have (a processor has no receivers) reads as port 0.
fn address_after_if_any(line: &str, key: &str) -> SocketAddr {
    if line.split_whitespace().any(|part| part.starts_with(key)) {
        address_after(line, key)
    } else {
        SocketAddr::from(([127, 0, 0, 1], 0))
    }
}

impl Weft {
    /// Starts `weft serve` with its data and capture file in `dir`, every listener on a free
    /// loopback port, plus `extra` flags.
    pub fn start(dir: &Path, extra: &[&str]) -> Weft {
        let mut args: Vec<String> = [
            "serve",
            "--data-dir",
            &dir.join("data").to_string_lossy(),
            "--capture-file",
            &dir.join("capture.tsv").to_string_lossy(),
            "--otlp-grpc-listen",
            "127.0.0.1:0",
            "--otlp-http-listen",
            "127.0.0.1:0",
            "--zipkin-listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
        ]
        .iter()
        .map(|arg| arg.to_string())
        .collect();
        args.extend(extra.iter().map(|arg| arg.to_string()));
        Self::start_with_args(dir, args)
    }

    pub fn start_with_args(dir: &Path, args: Vec<String>) -> Weft {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(dir.join("weft.log"))
            .unwrap();
        let mut child = Command::new(WEFT)
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(log)
            .env("RUST_LOG", "info")
            .spawn()
            .expect("spawning weft");
        let stdout = child.stdout.take().unwrap();
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("weft listening") {
                    let _ = sender.send(line);
                }
            }
        });
        let line = match receiver.recv_timeout(Duration::from_secs(60)) {
            Ok(line) => line,
            Err(_) => {
                let _ = child.kill();
                panic!(
                    "weft did not start; its log:\n{}",
                    std::fs::read_to_string(dir.join("weft.log")).unwrap_or_default()
                );
            }
        };
        Weft {
            child: Some(child),
            dir: dir.to_owned(),
            args,
            otlp_grpc: address_after_if_any(&line, "otlp_grpc="),
            otlp_http: address_after_if_any(&line, "otlp_http="),
            zipkin: address_after_if_any(&line, "zipkin="),
            api: address_after(&line, "http="),
        }
    }

    pub fn grpc_endpoint(&self) -> String {
        format!("http://{}", self.otlp_grpc)
    }

    pub fn otlp_http_url(&self) -> String {
        format!("http://{}/v1/traces", self.otlp_http)
    }

    pub fn zipkin_url(&self) -> String {
        format!("http://{}/api/v2/spans", self.zipkin)
    }

    /// SIGKILL: no chance to flush anything.
    pub fn kill_9(&mut self) {
        let mut child = self.child.take().expect("running");
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM, then wait for a graceful exit.
    pub fn terminate(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let status = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(Instant::now() < deadline, "weft did not exit after SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|child| child.try_wait().unwrap().is_none())
    }

    /// Starts a new process on the same data directory, with the same flags, except that each
    /// `--flag value` pair in `overrides` replaces the flag's earlier value.
    pub fn restart(&mut self, overrides: &[&str]) {
        assert!(self.child.is_none(), "stop it first");
        let mut args = self.args.clone();
        for pair in overrides.chunks(2) {
            if let Some(index) = args.iter().position(|arg| arg == pair[0]) {
                args.drain(index..index + 2);
            }
            args.extend(pair.iter().map(|arg| arg.to_string()));
        }
        *self = Weft::start_with_args(&self.dir.clone(), args);
    }

    /// Starts a new process on the same data directory and flags, without `flag` and its value.
    pub fn restart_without(&mut self, flag: &str) {
        assert!(self.child.is_none(), "stop it first");
        let mut args = self.args.clone();
        while let Some(index) = args.iter().position(|arg| arg == flag) {
            args.drain(index..index + 2);
        }
        *self = Weft::start_with_args(&self.dir.clone(), args);
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("weft.log")).unwrap_or_default()
    }

    pub async fn metrics(&self) -> HashMap<String, f64> {
        let text = reqwest::get(format!("http://{}/metrics", self.api))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .filter(|line| !line.starts_with('#'))
            .filter_map(|line| {
                let (name, value) = line.rsplit_once(' ')?;
                Some((name.to_owned(), value.parse().ok()?))
            })
            .collect()
    }

    /// A metric by its full name and labels as exposed, 0 if absent.
    pub async fn metric(&self, name: &str) -> f64 {
        self.metrics().await.get(name).copied().unwrap_or(0.0)
    }

    /// The capture file's complete lines: the server may be halfway through writing the last.
    pub fn captured(&self) -> Vec<CapturedSpan> {
        let text = std::fs::read_to_string(self.dir.join("capture.tsv")).unwrap_or_default();
        let complete = &text[..text.rfind('\n').map_or(0, |end| end + 1)];
        complete
            .lines()
            .filter(|line| !line.starts_with('#'))
            .map(|line| {
                let fields: Vec<&str> = line.split('\t').collect();
                CapturedSpan {
                    position: fields[0].parse().unwrap(),
                    trace_id: fields[1].to_owned(),
                    span_id: fields[2].to_owned(),
                    service: fields[3].to_owned(),
                    name: fields[4].to_owned(),
                }
            })
            .collect()
    }

    /// Waits until the capture file holds at least `count` spans.
    pub async fn wait_for_captured(&self, count: usize) -> Vec<CapturedSpan> {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let captured = self.captured();
            if captured.len() >= count {
                return captured;
            }
            assert!(
                Instant::now() < deadline,
                "only {} of {count} spans captured; log:\n{}",
                captured.len(),
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for Weft {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// A span an SDK client reported as exported.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SentSpan {
    pub trace_id: String,
    pub span_id: String,
    pub service: String,
}

fn parse_sent(stdout: &[u8]) -> Vec<SentSpan> {
    String::from_utf8_lossy(stdout)
        .lines()
        .map(|line| {
            let value: serde_json::Value = serde_json::from_str(line).unwrap();
            SentSpan {
                trace_id: value["trace_id"].as_str().unwrap().to_owned(),
                span_id: value["span_id"].as_str().unwrap().to_owned(),
                service: value["service"].as_str().unwrap().to_owned(),
            }
        })
        .collect()
}

fn run_client(mut command: Command, what: &str) -> Vec<SentSpan> {
    let output = command
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .output()
        .unwrap_or_else(|error| {
            panic!("{what} could not run ({error}); run scripts/install-test-deps.sh first")
        });
    assert!(
        output.status.success(),
        "{what} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    parse_sent(&output.stdout)
}

pub fn python() -> PathBuf {
    let venv = std::env::var_os("WEFT_TEST_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap()).join(".cache/weft-test-venv")
        });
    venv.join("bin/python")
}

/// Sends spans with the real Python OpenTelemetry SDK (`protocol` is `grpc` or `http`).
pub fn python_sdk_send(
    protocol: &str,
    endpoint: &str,
    service: &str,
    traces: usize,
    spans_per_trace: usize,
    gzip: bool,
) -> Vec<SentSpan> {
    let mut command = Command::new(python());
    command
        .arg(repo_root().join("tests/sdk/python/send_spans.py"))
        .args([
            "--protocol",
            protocol,
            "--endpoint",
            endpoint,
            "--service",
            service,
        ])
        .args(["--traces", &traces.to_string()])
        .args(["--spans-per-trace", &spans_per_trace.to_string()])
        .args(["--compression", if gzip { "gzip" } else { "none" }]);
    run_client(command, "the python sdk client")
}

/// Sends spans with the real Node OpenTelemetry SDK.
pub fn node_sdk_send(
    protocol: &str,
    endpoint: &str,
    service: &str,
    traces: usize,
    spans_per_trace: usize,
) -> Vec<SentSpan> {
    let mut command = Command::new("node");
    command
        .arg(repo_root().join("tests/sdk/node/send_spans.mjs"))
        .args([
            "--protocol",
            protocol,
            "--endpoint",
            endpoint,
            "--service",
            service,
        ])
        .args(["--traces", &traces.to_string()])
        .args(["--spans-per-trace", &spans_per_trace.to_string()]);
    run_client(command, "the node sdk client")
}

impl Weft {
    /// Whether the process is still there (false once killed or exited), without asserting.
    pub fn is_running_quiet(&self) -> bool {
        self.child.is_some()
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }
}

impl Weft {
    /// Waits for the process to exit by itself (a crash point aborting it).
    pub fn wait_for_exit(&mut self) -> ExitStatus {
        let mut child = self.child.take().expect("running");
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "weft did not exit; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn api_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.api)
    }

    /// GET a JSON document from the HTTP API: (status, body).
    pub async fn get_json(&self, path: &str) -> (u16, serde_json::Value) {
        let response = reqwest::get(self.api_url(path)).await.unwrap();
        let status = response.status().as_u16();
        let body = response.json().await.unwrap_or(serde_json::Value::Null);
        (status, body)
    }

    /// The trace as the Weft API returns it (OTLP), `None` on 404.
    pub async fn trace(&self, trace_id: &str) -> Option<weft_codec::ExportTraceServiceRequest> {
        let response = reqwest::get(self.api_url(&format!("/api/v1/traces/{trace_id}")))
            .await
            .unwrap();
        if response.status() == reqwest::StatusCode::NOT_FOUND {
            return None;
        }
        assert!(response.status().is_success(), "{}", response.status());
        let body = response.bytes().await.unwrap();
        Some(weft_codec::decode_otlp_json(&body).unwrap())
    }

    /// Polls until `trace_id` has at least `span_count` spans.
    pub async fn wait_for_trace(
        &self,
        trace_id: &str,
        span_count: usize,
    ) -> weft_codec::ExportTraceServiceRequest {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let found = self.trace(trace_id).await;
            if let Some(trace) = &found {
                if count_spans(trace) >= span_count {
                    return found.expect("just matched");
                }
            }
            if Instant::now() >= deadline {
                let (_, storage) = self.get_json("/api/v1/storage").await;
                let metrics = self.metrics().await;
                let total = |prefix: &str| -> f64 {
                    metrics
                        .iter()
                        .filter(|(name, _)| name.starts_with(prefix))
                        .map(|(_, value)| value)
                        .sum()
                };
                panic!(
                    "trace {trace_id} did not reach {span_count} spans (has {:?}: {:?}); accepted \
                     spans {}, pipeline spans {}; storage {storage}; log:\n{}",
                    found.as_ref().map(count_spans),
                    found.as_ref().map(|trace| {
                        trace
                            .resource_spans
                            .iter()
                            .flat_map(|resource| &resource.scope_spans)
                            .flat_map(|scope| &scope.spans)
                            .map(|span| span.name.clone())
                            .collect::<Vec<_>>()
                    }),
                    total("weft_receiver_accepted_spans_total"),
                    total("weft_pipeline_spans_total"),
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

pub fn count_spans(request: &weft_codec::ExportTraceServiceRequest) -> usize {
    request
        .resource_spans
        .iter()
        .flat_map(|resource| &resource.scope_spans)
        .map(|scope| scope.spans.len())
        .sum()
}

/// Sends multi-service traces (a downstream service under every CLIENT span) with a real SDK
/// (`sdk` is `python` or `node`) and returns what was exported plus the exact OTLP request the
/// SDK sent, decoded from its `--dump-otlp` file.
pub struct MultiServiceRun<'a> {
    pub sdk: &'a str,
    pub protocol: &'a str,
    pub endpoint: &'a str,
    pub service: &'a str,
    pub downstream: &'a str,
    pub traces: usize,
    pub spans_per_trace: usize,
    pub dump_dir: &'a Path,
}

pub fn sdk_send_multi_service(
    run: MultiServiceRun<'_>,
) -> (Vec<SentSpan>, weft_codec::ExportTraceServiceRequest) {
    let MultiServiceRun {
        sdk,
        protocol,
        endpoint,
        service,
        downstream,
        traces,
        spans_per_trace,
        dump_dir,
    } = run;
    let dump = dump_dir.join(format!("{sdk}-{protocol}-{service}.otlp"));
    let (mut command, script) = match sdk {
        "python" => (Command::new(python()), "tests/sdk/python/send_spans.py"),
        "node" => (Command::new("node"), "tests/sdk/node/send_spans.mjs"),
        other => panic!("unknown sdk {other}"),
    };
    command
        .arg(repo_root().join(script))
        .args(["--protocol", protocol, "--endpoint", endpoint])
        .args(["--service", service, "--downstream-service", downstream])
        .args(["--traces", &traces.to_string()])
        .args(["--spans-per-trace", &spans_per_trace.to_string()])
        .arg("--dump-otlp")
        .arg(&dump);
    let sent = run_client(command, &format!("the {sdk} sdk client"));
    let bytes = std::fs::read(&dump).unwrap();
    let request = weft_codec::decode_otlp_protobuf(&bytes).unwrap();
    (sent, request)
}
