//! The HTTP API port: health and Prometheus metrics now; the query API and UI join it later.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use weft_pipeline::PositionReader;
use weft_wal::Wal;

#[derive(Clone)]
pub(crate) struct ApiState {
    pub registry: Arc<Registry>,
    pub wal: Wal,
    pub pipeline_position: PositionReader,
    pub queue_depth: Gauge,
}

impl ApiState {
    fn queue_depth(&self) -> u64 {
        self.wal
            .written_lsn()
            .saturating_sub(self.pipeline_position.get())
    }
}

pub(crate) fn router(state: ApiState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/metrics", get(metrics))
        .with_state(state)
}

async fn health(State(state): State<ApiState>) -> Json<serde_json::Value> {
    Json(serde_json::json!({
        "status": "ok",
        "wal": {
            "bytes": state.wal.disk_bytes(),
            "segments": state.wal.segment_count(),
            "writtenLsn": state.wal.written_lsn(),
        },
        "pipeline": {
            "position": state.pipeline_position.get(),
            "queueDepthRecords": state.queue_depth(),
        },
    }))
}

async fn metrics(State(state): State<ApiState>) -> Response {
    state.queue_depth.set(state.queue_depth() as i64);
    let mut text = String::new();
    match prometheus_client::encoding::text::encode(&mut text, &state.registry) {
        Ok(()) => (
            [(
                CONTENT_TYPE,
                "application/openmetrics-text; version=1.0.0; charset=utf-8",
            )],
            text,
        )
            .into_response(),
        Err(error) => (
            axum::http::StatusCode::INTERNAL_SERVER_ERROR,
            format!("encoding metrics failed: {error}"),
        )
            .into_response(),
    }
}
