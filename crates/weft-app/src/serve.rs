//! `weft serve`: the all-in-one shape, the union of the three roles over the WAL (the bus)
//! and the embedded store: the collector appends to the WAL, the processor role reads it, the
//! query role reads the stores the processors write.

use std::fs::File;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use prometheus_client::registry::Registry;
use weft_observe::ComponentMetricFamilies;
use weft_wal::{Wal, WalBus, WalBusReader};

use crate::collector::CollectorRole;
use crate::processor::ProcessorRole;
use crate::query::QueryRole;
use crate::servers::Servers;
use crate::storage::EmbeddedStorage;
use crate::ServeConfig;

/// A running all-in-one server.
pub struct ServeHandle {
    pub otlp_grpc_addr: SocketAddr,
    pub otlp_http_addr: SocketAddr,
    pub zipkin_addr: SocketAddr,
    pub http_addr: SocketAddr,
    servers: Servers,
    demo: Option<Demo>,
    processors: ProcessorRole,
    storage: EmbeddedStorage,
    wal: Wal,
    _data_dir_lock: File,
}

/// Takes an exclusive lock on the data directory, so a second server cannot corrupt it.
fn lock_data_dir(config: &ServeConfig) -> anyhow::Result<File> {
    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("creating data directory {}", config.data_dir.display()))?;
    let path = config.data_dir.join("LOCK");
    let file = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => anyhow::bail!(
            "data directory {} is in use by another weft process",
            config.data_dir.display()
        ),
        Err(std::fs::TryLockError::Error(error)) => {
            Err(error).with_context(|| format!("locking {}", path.display()))
        }
    }
}

/// Where the demo generator reaches this server's own gRPC receiver.
fn loopback_of(address: SocketAddr) -> SocketAddr {
    if address.ip().is_unspecified() {
        SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), address.port())
    } else {
        address
    }
}

impl ServeHandle {
    /// Opens the data directory, recovers the WAL and the stores, starts the processor role on
    /// the WAL, then binds the collector and the query role and serves them.
    pub async fn start(config: ServeConfig) -> anyhow::Result<ServeHandle> {
        let data_dir_lock = lock_data_dir(&config)?;
        let mut registry = Registry::default();
        let families = ComponentMetricFamilies::register(&mut registry);
        let wal = open_wal(&config, &mut registry)?;
        let storage = EmbeddedStorage::open(&config, &mut registry)?;
        let processors = ProcessorRole::start(
            &config,
            &storage,
            Box::new(WalBusReader::new(wal.clone())),
            &mut registry,
            &families,
        )?;
        let collector = CollectorRole::bind(
            &config,
            Arc::new(WalBus(wal.clone())),
            &mut registry,
            families,
        )
        .await?;
        let query = QueryRole::bind(
            &config,
            &storage,
            processors.state.clone(),
            Arc::new(WalBus(wal.clone())),
            registry,
        )
        .await?;
        let addresses = collector.addresses;
        let http_addr = query.http_addr;
        let mut servers = Servers::new();
        collector.serve(&mut servers);
        query.serve(&mut servers);
        Ok(ServeHandle {
            otlp_grpc_addr: addresses.otlp_grpc,
            otlp_http_addr: addresses.otlp_http,
            zipkin_addr: addresses.zipkin,
            http_addr,
            servers,
            demo: config
                .demo
                .enabled
                .then(|| Demo::start(&config, addresses.otlp_grpc)),
            processors,
            storage,
            wal,
            _data_dir_lock: data_dir_lock,
        })
    }

    /// Graceful shutdown: stop the demo, stop accepting, finish in-flight requests, let the
    /// pipeline process and flush everything acknowledged, close the stores, then the WAL.
    pub async fn stop(self) -> anyhow::Result<()> {
        if let Some(demo) = self.demo {
            demo.stop().await;
        }
        self.servers.stop().await;
        let (processors, storage, wal) = (self.processors, self.storage, self.wal);
        tokio::task::spawn_blocking(move || {
            let drained = processors.stop();
            let closed = storage.close();
            wal.close();
            drained.context("draining the pipeline")?;
            closed
        })
        .await
        .context("joining the pipeline")?
    }

    /// The one line scripts and tests read to learn the bound addresses (useful with port 0).
    pub fn listening_line(&self) -> String {
        format!(
            "weft listening otlp_grpc={} otlp_http={} zipkin={} http={}",
            self.otlp_grpc_addr, self.otlp_http_addr, self.zipkin_addr, self.http_addr
        )
    }
}

fn open_wal(config: &ServeConfig, registry: &mut Registry) -> anyhow::Result<Wal> {
    let (wal, recovery) =
        Wal::open(config.wal.wal_config(&config.data_dir), registry).context("opening the wal")?;
    tracing::info!(
        records = recovery.records,
        last_lsn = recovery.last_lsn,
        truncated_bytes = recovery.truncated_bytes,
        corrupt_segments = recovery.corrupt_segments,
        "wal recovered"
    );
    Ok(wal)
}

/// `--demo`: the load generator sending to this server's own gRPC receiver.
struct Demo {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<()>,
}

impl Demo {
    fn start(config: &ServeConfig, otlp_grpc: SocketAddr) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let options = weft_gen::GenOptions {
            endpoint: format!("http://{}", loopback_of(otlp_grpc)),
            spans_per_second: Some(config.demo.rate),
            concurrency: 1,
            traces_per_request: 5,
            seed: std::process::id().into(),
            // A little of every pathology, so the diagnostics pages have something to show.
            scenarios: weft_gen::Scenarios {
                broken_trace: 0.01,
                bottleneck: 0.02,
                timeout_misconfiguration: 0.02,
                cycle: 0.01,
                ..weft_gen::Scenarios::default()
            },
            ..weft_gen::GenOptions::default()
        };
        let task_stop = Arc::clone(&stop);
        let task = tokio::spawn(async move {
            if let Err(error) = weft_gen::run(options, task_stop, |_| {}).await {
                tracing::error!(%error, "demo generator stopped");
            }
        });
        Demo { stop, task }
    }

    async fn stop(self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let _ = tokio::time::timeout(Duration::from_secs(5), self.task).await;
    }
}

pub(crate) async fn termination_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                .expect("installing a SIGTERM handler");
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}

/// `weft serve`: runs until SIGINT or SIGTERM, then shuts down gracefully.
pub async fn serve(config: ServeConfig) -> anyhow::Result<()> {
    let handle = ServeHandle::start(config).await?;
    println!("{}", handle.listening_line());
    tracing::info!(
        otlp_grpc = %handle.otlp_grpc_addr,
        otlp_http = %handle.otlp_http_addr,
        zipkin = %handle.zipkin_addr,
        http = %handle.http_addr,
        "weft is ready"
    );
    termination_signal().await;
    tracing::info!("shutting down");
    handle.stop().await?;
    tracing::info!("stopped");
    Ok(())
}
