//! Admission for the query routes, like ingest's: a bounded number of queries run at once, a
//! bounded number wait a short while for a turn, and the rest are shed with 429 and
//! `Retry-After` — so a burst of expensive searches slows queries down instead of taking the
//! machine (and with it ingest) away.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header::RETRY_AFTER;
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use tokio::sync::Semaphore;

use crate::params::ApiError;

#[derive(Debug, Clone, Copy)]
pub struct QueryAdmissionConfig {
    pub max_running: usize,
    /// Queries that may wait for a turn; past it, shed at once.
    pub max_waiting: usize,
    /// Longest a query waits for a turn before it is shed.
    pub max_wait: Duration,
    pub retry_after: Duration,
}

impl QueryAdmissionConfig {
    pub fn with_max_running(max_running: usize) -> Self {
        QueryAdmissionConfig {
            max_running: max_running.max(1),
            max_waiting: max_running.max(1) * 4,
            max_wait: Duration::from_secs(2),
            retry_after: Duration::from_secs(1),
        }
    }
}

#[derive(Clone, Default)]
struct QueryAdmissionMetrics {
    admitted: Counter,
    shed: Counter,
    running: Gauge,
}

#[derive(Clone)]
pub struct QueryAdmission {
    config: QueryAdmissionConfig,
    running: Arc<Semaphore>,
    waiting: Arc<Semaphore>,
    metrics: QueryAdmissionMetrics,
}

impl QueryAdmission {
    pub fn new(config: QueryAdmissionConfig, registry: &mut Registry) -> Self {
        let metrics = QueryAdmissionMetrics::default();
        registry.register(
            "weft_query_admitted",
            "Queries (API calls under /api) admitted to run",
            metrics.admitted.clone(),
        );
        registry.register(
            "weft_query_shed",
            "Queries refused with 429 because --max-concurrent-queries were running and the wait queue was full or the wait too long",
            metrics.shed.clone(),
        );
        registry.register(
            "weft_query_running",
            "Queries running now",
            metrics.running.clone(),
        );
        QueryAdmission {
            running: Arc::new(Semaphore::new(config.max_running)),
            waiting: Arc::new(Semaphore::new(config.max_waiting)),
            config,
            metrics,
        }
    }

    fn shed(&self, path: &str) -> Response {
        self.metrics.shed.inc();
        let seconds = self.config.retry_after.as_secs().max(1);
        let mut response = crate::api_errors::api_error_response(
            path,
            ApiError {
                code: weft_model::ErrorCode::ResourceExhausted,
                message: format!(
                    "too many queries: {} running and {} waiting; retry after {seconds}s",
                    self.config.max_running, self.config.max_waiting
                ),
            },
        );
        response.headers_mut().insert(
            RETRY_AFTER,
            HeaderValue::from_str(&seconds.to_string()).expect("digits are a valid header"),
        );
        response
    }
}

/// The middleware: runs the query once it has a turn, or sheds it.
pub async fn admit(
    State(admission): State<QueryAdmission>,
    request: Request,
    next: Next,
) -> Response {
    let permit = match Arc::clone(&admission.running).try_acquire_owned() {
        Ok(permit) => permit,
        Err(_) => {
            let Ok(_waiting) = admission.waiting.try_acquire() else {
                return admission.shed(request.uri().path());
            };
            let turn = tokio::time::timeout(
                admission.config.max_wait,
                Arc::clone(&admission.running).acquire_owned(),
            )
            .await;
            match turn {
                Ok(Ok(permit)) => permit,
                _ => return admission.shed(request.uri().path()),
            }
        }
    };
    admission.metrics.admitted.inc();
    let _running = Running::start(admission.metrics.running.clone(), permit);
    next.run(request).await
}

/// A query's turn: counted while held, given back however the query ends (a client that goes
/// away drops the handler's future).
struct Running {
    gauge: Gauge,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

impl Running {
    fn start(gauge: Gauge, permit: tokio::sync::OwnedSemaphorePermit) -> Self {
        gauge.inc();
        Running {
            gauge,
            _permit: permit,
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}
