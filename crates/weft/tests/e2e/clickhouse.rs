//! The ClickHouse store against real servers: Debian's ClickHouse 18.16 (the legacy profile),
//! started on loopback for each test, and a modern ClickHouse in-process (chdb) for the modern
//! profile's statements.

use std::io::Write;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use weft_clickhouse::{ClickHouseConfig, ClickHouseShard, Schema, SchemaProfile};

use crate::sandbox::{python, repo_root};

/// A ClickHouse server of its own: a data directory, loopback ports, killed on drop.
pub(crate) struct ClickHouseServer {
    child: Option<Child>,
    binary: String,
    http_port: u16,
    directory: tempfile::TempDir,
}

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl ClickHouseServer {
    /// Starts a server on free loopback ports. A port found free can be taken by another
    /// process before the server binds it (tests run in parallel), and the server then exits:
    /// it is started again on other ports, up to three times.
    pub(crate) fn start() -> Self {
        let mut failures = Vec::new();
        for _ in 0..3 {
            match Self::try_start() {
                Ok(server) => return server,
                Err(failure) => failures.push(failure),
            }
        }
        panic!("clickhouse did not start:\n{}", failures.join("\n---\n"));
    }

    fn try_start() -> Result<Self, String> {
        let binary = std::env::var("WEFT_CLICKHOUSE_SERVER")
            .unwrap_or_else(|_| "/usr/sbin/clickhouse-server".into());
        let directory = tempfile::tempdir().unwrap();
        let path = directory.path().to_path_buf();
        let path = path.as_path();
        let (http_port, tcp_port) = (free_port(), free_port());
        let config = format!(
            r#"<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><console>1</console></logger>
    <http_port>{http_port}</http_port>
    <tcp_port>{tcp_port}</tcp_port>
    <listen_host>127.0.0.1</listen_host>
    <path>{root}/data/</path>
    <tmp_path>{root}/tmp/</tmp_path>
    <user_files_path>{root}/user_files/</user_files_path>
    <format_schema_path>{root}/format_schemas/</format_schema_path>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mark_cache_size>268435456</mark_cache_size>
</yandex>
"#,
            root = path.display()
        );
        let users = r#"<?xml version="1.0"?>
<yandex>
    <profiles><default></default></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
    <quotas><default></default></quotas>
</yandex>
"#;
        std::fs::write(path.join("config.xml"), config).unwrap();
        std::fs::write(path.join("users.xml"), users).unwrap();
        let mut server = ClickHouseServer {
            child: None,
            binary,
            http_port,
            directory,
        };
        server.spawn()?;
        Ok(server)
    }

    /// Starts the server on its directory and ports and waits until it listens.
    fn spawn(&mut self) -> Result<(), String> {
        let path = self.directory.path();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path.join("server.log"))
            .unwrap();
        let binary = &self.binary;
        let child = Command::new(binary)
            .arg(format!(
                "--config-file={}",
                path.join("config.xml").display()
            ))
            .current_dir(path)
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|error| {
                panic!("starting {binary} (scripts/install-test-deps.sh installs it): {error}")
            });
        self.child = Some(child);
        self.wait_until_ready()
    }

    /// Kills the server (SIGKILL); its data stays for [`Self::restart`].
    pub(crate) fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the killed server again on the same data and ports.
    pub(crate) fn restart(&mut self) {
        assert!(self.child.is_none(), "restart a killed server only");
        if let Err(failure) = self.spawn() {
            panic!("clickhouse did not restart: {failure}");
        }
    }

    /// Waits until the server listens; an error (with its log) if it exited or took a minute.
    fn wait_until_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + Duration::from_secs(60);
        let log_path = self.directory.path().join("server.log");
        let log = || std::fs::read_to_string(&log_path).unwrap_or_default();
        loop {
            let ready = std::net::TcpStream::connect(("127.0.0.1", self.http_port)).is_ok();
            if ready {
                return Ok(());
            }
            let exited = self
                .child
                .as_mut()
                .and_then(|child| child.try_wait().ok().flatten());
            if let Some(status) = exited {
                self.child = None;
                return Err(format!("clickhouse exited ({status}): {}", log()));
            }
            if Instant::now() >= deadline {
                self.kill();
                return Err(format!("clickhouse did not listen within 60 s: {}", log()));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub(crate) fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.http_port)
    }
}

impl Drop for ClickHouseServer {
    fn drop(&mut self) {
        self.kill();
    }
}

fn fixture_spans() -> Vec<weft_model::Span> {
    weft_codec::spans_from_otlp(
        weft_test_fixtures::fixture(),
        &weft_codec::ConversionOptions::default(),
    )
    .spans
}

/// On ClickHouse 18.16 the store chooses the legacy profile, migrates, and returns a trace
/// exactly as it was sent — once, even when a restarted processor inserts its batch again —
/// and a second store on the same database finds the schema in place.
#[tokio::test]
async fn the_clickhouse_store_on_18_16_returns_each_trace_as_sent_and_once_after_a_replay() {
    let server = ClickHouseServer::start();
    let config = ClickHouseConfig::new(server.url(), "weft_test");
    let store = ClickHouseShard::open(&config, &server.url()).await.unwrap();
    assert_eq!(store.server_version().major, 18);
    assert_eq!(store.schema().profile, SchemaProfile::Legacy);

    let spans = fixture_spans();
    let trace_id = spans[0].trace_id;
    store.insert(&spans).await.unwrap();
    // A replay: the same batch again, as after a crash before the offset commit.
    store.insert(&spans).await.unwrap();
    let mut expected = spans.clone();
    expected.sort_by_key(|span| (span.start_time_unix_nanos, span.span_id));
    assert_eq!(store.trace(trace_id, None, None).await.unwrap(), expected);

    let start = spans
        .iter()
        .map(|span| span.start_time_unix_nanos)
        .min()
        .unwrap();
    let in_range = store
        .trace(trace_id, Some(start), Some(start + 60_000_000_000))
        .await
        .unwrap();
    assert_eq!(in_range.len(), spans.len());
    let before = store
        .trace(
            trace_id,
            Some(start - 120_000_000_000),
            Some(start - 60_000_000_000),
        )
        .await
        .unwrap();
    assert!(
        before.is_empty(),
        "a range before the trace holds none of it"
    );
    let unknown = weft_model::TraceId::from_bytes([0xff; 16]);
    assert!(store.trace(unknown, None, None).await.unwrap().is_empty());

    let reopened = ClickHouseShard::open(&config, &server.url()).await.unwrap();
    assert_eq!(
        reopened.trace(trace_id, None, None).await.unwrap(),
        expected
    );
}

/// Every statement of the legacy profile (migrations and every read the store issues, with
/// every search condition) runs on ClickHouse 18.16, the oldest server Weft supports.
#[tokio::test]
async fn every_statement_of_the_legacy_profile_runs_on_clickhouse_18_16() {
    let server = ClickHouseServer::start();
    let schema = Schema::new(
        "weft",
        SchemaProfile::Legacy,
        Duration::from_secs(3 * 86_400),
    )
    .unwrap();
    let client = reqwest::Client::new();
    for (name, statement) in schema.statements_for_checks() {
        let response = client
            .post(server.url())
            .body(statement.clone())
            .send()
            .await
            .unwrap();
        let status = response.status();
        let body = response.text().await.unwrap();
        assert!(
            status.is_success(),
            "{name} failed on 18.16: {body}\n{statement}"
        );
    }
}

/// A server that is not there is a clear, retryable error naming the store.
#[tokio::test]
async fn an_unreachable_clickhouse_is_an_unavailable_store_error() {
    let url = format!("http://127.0.0.1:{}", free_port());
    let config = ClickHouseConfig::new(url.clone(), "weft");
    let error = ClickHouseShard::open(&config, &url).await.err().unwrap();
    assert_eq!(error.error_code(), weft_model::ErrorCode::Unavailable);
    assert!(
        error.to_string().starts_with("clickhouse unavailable: "),
        "{error}"
    );
}

/// Every statement either profile issues (migrations, their record, the reads) runs on a
/// modern ClickHouse (chdb, in-process): the modern profile is what users' servers get, and a
/// forced legacy profile must work there too.
#[test]
fn the_statements_of_both_profiles_run_on_a_modern_clickhouse() {
    for profile in [SchemaProfile::Modern, SchemaProfile::Legacy] {
        let schema = Schema::new("weft", profile, Duration::from_secs(3 * 86_400)).unwrap();
        let statements: Vec<(&str, String)> = schema.statements_for_checks();
        let mut child = Command::new(python())
            .arg(repo_root().join("tests/clickhouse/run_statements.py"))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("running chdb (scripts/install-test-deps.sh installs it)");
        child
            .stdin
            .take()
            .unwrap()
            .write_all(serde_json::to_string(&statements).unwrap().as_bytes())
            .unwrap();
        let output = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "{} profile on chdb: {stdout}{}",
            profile.as_str(),
            String::from_utf8_lossy(&output.stderr)
        );
        assert_eq!(
            stdout
                .lines()
                .filter(|line| line.starts_with("ok "))
                .count(),
            statements.len() + 1,
            "{stdout}"
        );
        assert!(
            stdout.starts_with("ok version \"2"),
            "not a modern clickhouse: {stdout}"
        );
    }
}

/// The store over two shards (two 18.16 servers), through the storage seam: a partition
/// writer puts each trace on the shard its ID hashes to, checkpoints its position, and skips
/// what a reopened writer already has; the reader finds every trace by ID, searches and lists
/// services across both shards, and scans a window once.
#[test]
fn two_clickhouse_shards_behind_the_storage_seam_hold_each_trace_once_on_its_shard() {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    use weft_clickhouse::{
        shard_of, ClickHousePartitionWriter, ClickHouseStore, PartitionWriterSettings,
    };
    use weft_storage::{SearchQuery, SpanReader, SpanWriter, TraceQuery};

    let servers = [ClickHouseServer::start(), ClickHouseServer::start()];
    let mut config = ClickHouseConfig::new(servers[0].url(), "weft_shards");
    config.shard_urls = servers.iter().map(ClickHouseServer::url).collect();
    let store = ClickHouseStore::connect(&config).unwrap();
    let settings = PartitionWriterSettings {
        batch_spans: 1_000_000,
        ..PartitionWriterSettings::default()
    };
    let open_writer = || {
        ClickHousePartitionWriter::open(
            Arc::clone(&store),
            "weft-spans",
            3,
            settings,
            Arc::new(AtomicBool::new(false)),
        )
        .unwrap()
    };
    let writer = open_writer();
    assert_eq!(writer.durable_position(), 0);

    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    let mut generator = weft_gen::TraceGenerator::new(7);
    let mut batches = Vec::new();
    for position in 1..=3u64 {
        let batch = generator.next_batch(10, now);
        let spans = weft_codec::spans_from_otlp(batch.request, &Default::default()).spans;
        writer.write(position, Arc::new(spans.clone())).unwrap();
        batches.push(spans);
    }
    // Buffered, not yet durable: the position moves only with the insert.
    assert_eq!(writer.durable_position(), 0);
    writer.flush().unwrap();
    assert_eq!(writer.durable_position(), 3);

    // A writer reopened on the partition resumes after the checkpoint and ignores a replay.
    let reopened = open_writer();
    assert_eq!(reopened.durable_position(), 3);
    reopened.write(2, Arc::new(batches[1].clone())).unwrap();
    reopened.flush().unwrap();

    let all: Vec<&weft_model::Span> = batches.iter().flatten().collect();
    let traces: std::collections::BTreeMap<weft_model::TraceId, usize> =
        all.iter().fold(Default::default(), |mut traces, span| {
            *traces.entry(span.trace_id).or_default() += 1;
            traces
        });
    let mut on_shard = [0usize; 2];
    for (trace_id, span_count) in &traces {
        let spans = store.trace(&TraceQuery::new(*trace_id)).unwrap();
        assert_eq!(spans.len(), *span_count, "trace {}", trace_id.to_hex());
        on_shard[shard_of(trace_id, 2)] += 1;
        // The other shard holds none of it.
        let other = &store.shards()[1 - shard_of(trace_id, 2)];
        let runtime = tokio::runtime::Runtime::new().unwrap();
        assert!(runtime
            .block_on(other.trace(*trace_id, None, None))
            .unwrap()
            .is_empty());
    }
    assert!(on_shard[0] > 0 && on_shard[1] > 0, "{on_shard:?}");

    let found = store
        .search(&SearchQuery::in_range(
            now - 60_000_000_000,
            now + 3_600_000_000_000,
            1_000,
        ))
        .unwrap();
    assert_eq!(found.traces.len(), traces.len());
    let mut expected_services: Vec<String> =
        all.iter().map(|span| span.service_name.clone()).collect();
    expected_services.sort();
    expected_services.dedup();
    assert_eq!(store.services().unwrap(), expected_services);

    let mut scanned = 0;
    store
        .scan_spans(0, u64::MAX >> 1, &mut |_, _| true, &mut |spans| {
            scanned += spans.len();
            Ok(())
        })
        .unwrap();
    assert_eq!(scanned, all.len(), "every span once");
}

/// Retention on 18.16, which has no TTL: the day partitions of spans and trace times that lie
/// wholly before `now − retention` are dropped, the current day's stay, and a second pass (as
/// another processor's) finds nothing more to drop.
#[test]
fn retention_drops_the_day_partitions_older_than_the_retention_and_keeps_the_rest() {
    use std::sync::atomic::AtomicBool;
    use std::sync::Arc;

    use weft_clickhouse::{ClickHousePartitionWriter, ClickHouseStore};
    use weft_storage::{SpanReader, SpanWriter, TraceQuery};

    const DAY_NANOS: u64 = 86_400_000_000_000;
    let server = ClickHouseServer::start();
    let mut config = ClickHouseConfig::new(server.url(), "weft_retention");
    config.span_retention = Duration::from_secs(86_400);
    let store = ClickHouseStore::connect(&config).unwrap();
    let writer = ClickHousePartitionWriter::open(
        Arc::clone(&store),
        "weft-spans",
        0,
        Default::default(),
        Arc::new(AtomicBool::new(false)),
    )
    .unwrap();
    let now = weft_model::now_unix_nanos();
    let mut generator = weft_gen::TraceGenerator::new(11);
    let mut spans_at = |position: u64, at: u64| {
        let batch = generator.next_batch(5, at);
        let spans = weft_codec::spans_from_otlp(batch.request, &Default::default()).spans;
        writer.write(position, Arc::new(spans.clone())).unwrap();
        spans
    };
    let old = spans_at(1, now - 3 * DAY_NANOS);
    let recent = spans_at(2, now);
    writer.flush().unwrap();
    let old_trace = old[0].trace_id;
    let recent_trace = recent[0].trace_id;
    assert!(!store.trace(&TraceQuery::new(old_trace)).unwrap().is_empty());

    let dropped = store.apply_retention(now).unwrap();
    assert!(
        dropped.iter().any(|name| name.starts_with("spans/"))
            && dropped.iter().any(|name| name.starts_with("trace_times/")),
        "{dropped:?}"
    );
    assert!(store.trace(&TraceQuery::new(old_trace)).unwrap().is_empty());
    let recent_count = recent
        .iter()
        .filter(|span| span.trace_id == recent_trace)
        .count();
    assert_eq!(
        store.trace(&TraceQuery::new(recent_trace)).unwrap().len(),
        recent_count
    );
    assert_eq!(store.apply_retention(now).unwrap(), Vec::<String>::new());
}

/// The log store on 18.16: a partition's log writer commits records with its checkpoint, a
/// reopened writer skips what the checkpoint covers, and records inserted twice (a replay after
/// a crash between the insert and the checkpoint) are read once by trace, scan and search.
#[test]
fn the_clickhouse_log_store_reads_each_record_once_after_a_replay() {
    use std::sync::Arc;

    use weft_clickhouse::{ClickHouseLogWriter, ClickHouseStore};
    use weft_storage::{LogQuery, LogReader, LogWriter};

    let server = ClickHouseServer::start();
    let store =
        ClickHouseStore::connect(&ClickHouseConfig::new(server.url(), "weft_logs")).unwrap();
    let records = Arc::new(weft_codec::logs_from_otlp(weft_test_fixtures::log_fixture()).records);
    let writer = ClickHouseLogWriter::open(Arc::clone(&store), "weft-logs", 1).unwrap();
    assert_eq!(writer.durable_position(), 0);
    assert!(writer.write(7, Arc::clone(&records)).unwrap());
    assert_eq!(writer.pending_records(), records.len());
    writer.flush().unwrap();
    assert_eq!(
        (writer.durable_position(), writer.pending_records()),
        (7, 0)
    );

    let reopened = ClickHouseLogWriter::open(Arc::clone(&store), "weft-logs", 1).unwrap();
    assert_eq!(reopened.durable_position(), 7);
    assert!(
        !reopened.write(7, Arc::clone(&records)).unwrap(),
        "a replay is ignored"
    );
    // The same records inserted again, as a writer that died before its checkpoint would.
    let replaying = ClickHouseLogWriter::open(Arc::clone(&store), "weft-logs-replay", 1).unwrap();
    assert!(replaying.write(1, Arc::clone(&records)).unwrap());
    replaying.flush().unwrap();

    let trace_id = records.iter().find_map(|record| record.trace_id).unwrap();
    let mut of_trace: Vec<_> = records
        .iter()
        .filter(|record| record.trace_id == Some(trace_id))
        .cloned()
        .collect();
    of_trace.sort_by_key(|record| record.time_unix_nanos);
    assert_eq!(store.logs_of_trace(&trace_id, None).unwrap(), of_trace);
    let scanned = store.scan(0, u64::MAX >> 1, &mut |_| true).unwrap();
    assert_eq!(scanned.len(), records.len());
    let found = store
        .search(&LogQuery {
            start_unix_nanos: 0,
            end_unix_nanos: u64::MAX >> 1,
            service: None,
            text: None,
            min_severity: None,
            trace_id: None,
            limit: 1_000,
        })
        .unwrap();
    assert_eq!(found.records.len(), records.len());
    assert!(found
        .records
        .windows(2)
        .all(|pair| pair[0].time_unix_nanos >= pair[1].time_unix_nanos));
}
