//! The network servers of a process (receivers, the HTTP API) as one set: each runs until the
//! set is told to stop, and stopping waits a bounded time for open connections.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinSet;
use weft_ingest::ShutdownSignal;

/// How long a graceful stop waits for open connections to finish.
const SHUTDOWN_DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

pub(crate) struct Servers {
    shutdown: watch::Sender<bool>,
    running: JoinSet<(&'static str, std::io::Result<()>)>,
}

impl Servers {
    pub(crate) fn new() -> Self {
        Servers {
            shutdown: watch::channel(false).0,
            running: JoinSet::new(),
        }
    }

    /// Resolves once [`Servers::stop`] is called.
    pub(crate) fn shutdown_signal(&self) -> ShutdownSignal {
        let mut receiver = self.shutdown.subscribe();
        Box::pin(async move {
            let _ = receiver.wait_for(|stopping| *stopping).await;
        })
    }

    pub(crate) fn spawn(
        &mut self,
        name: &'static str,
        server: impl Future<Output = std::io::Result<()>> + Send + 'static,
    ) {
        self.running.spawn(async move { (name, server.await) });
    }

    /// Tells every server to stop taking connections and waits for them to finish their
    /// requests. Connections get a bounded time: a client that keeps an idle HTTP/2
    /// connection open must not hold the shutdown (what was acknowledged is on the bus; what
    /// was not will be retried by the client).
    pub(crate) async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        let running = &mut self.running;
        let drain = async {
            while let Some(joined) = running.join_next().await {
                match joined {
                    Ok((name, Err(error))) => {
                        tracing::error!(server = name, %error, "server failed")
                    }
                    Ok((name, Ok(()))) => tracing::debug!(server = name, "server stopped"),
                    Err(error) if error.is_cancelled() => {}
                    Err(error) => tracing::error!(%error, "server task panicked"),
                }
            }
        };
        if tokio::time::timeout(SHUTDOWN_DRAIN_TIMEOUT, drain)
            .await
            .is_err()
        {
            tracing::warn!(
                open_servers = self.running.len(),
                "connections still open after the drain timeout; closing them"
            );
            self.running.abort_all();
            while self.running.join_next().await.is_some() {}
        }
    }
}
