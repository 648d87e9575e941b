use std::sync::Arc;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;
use prost::Message;
use weft_bus::{logs_bus_record, BusAppendError, BusWriter};
use weft_codec::{
    decode_otlp_logs_protobuf, decode_otlp_protobuf, scan_otlp_protobuf, validate_and_limit,
    validate_and_limit_logs, ExportLogsServiceRequest, ExportTraceServiceRequest, PlausibleStarts,
    Scan, ValidationLimits,
};
use weft_model::{now_unix_nanos, ErrorCode};
use weft_observe::{ComponentMetricFamilies, ComponentMetrics};

use crate::{Admission, AdmissionPermit, IngestError};

#[derive(Debug, Clone)]
pub struct IngestConfig {
    pub limits: ValidationLimits,
    /// Largest request body, after decompression (OTLP's collectors default to 4 MiB on gRPC;
    /// Weft takes 16 MiB so big batches from agents fit).
    pub max_request_bytes: usize,
    pub max_concurrent_requests: usize,
    /// What `Retry-After` / `RetryInfo` tell a shed client.
    pub retry_after: Duration,
    /// Longest a request may take to arrive, so a client that stalls mid-body (or a
    /// slowloris) cannot hold an admission slot for ever.
    pub receive_timeout: Duration,
    /// Span starts taken as they are, relative to a request's arrival; spans outside are moved
    /// to the arrival time (see [`weft_codec::PlausibleStarts`]). `None` takes every start.
    pub span_start_bounds: Option<SpanStartBounds>,
}

/// How far from its arrival a span's start may be before it is moved to the arrival time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanStartBounds {
    /// The hot retention: an older span would be dropped at once, or filed where no search
    /// by its time finds it.
    pub max_age: Duration,
    /// Clients' clocks run ahead by up to this.
    pub max_future_skew: Duration,
}

impl Default for SpanStartBounds {
    fn default() -> Self {
        SpanStartBounds {
            max_age: Duration::from_secs(3 * 86_400),
            max_future_skew: Duration::from_secs(3_600),
        }
    }
}

impl Default for IngestConfig {
    fn default() -> Self {
        IngestConfig {
            limits: ValidationLimits::default(),
            max_request_bytes: 16 * 1024 * 1024,
            max_concurrent_requests: 64,
            retry_after: Duration::from_secs(1),
            receive_timeout: Duration::from_secs(30),
            span_start_bounds: Some(SpanStartBounds::default()),
        }
    }
}

/// What became of an accepted request: OTLP's partial success.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ExportOutcome {
    pub accepted_spans: u64,
    pub rejected_spans: u64,
    /// Empty when everything was accepted.
    pub message: String,
    /// Bus position of the record, if anything was written.
    pub position: Option<u64>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReceiverLabels {
    receiver: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    receiver: String,
    outcome: &'static str,
}

/// What an export request carries: its counters and the nouns of its messages differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    Spans,
    Logs,
}

impl Signal {
    fn noun(self) -> &'static str {
        match self {
            Signal::Spans => "spans",
            Signal::Logs => "log records",
        }
    }
}

/// A signal's per-receiver item counters.
#[derive(Clone, Default)]
struct ItemFamilies {
    received: Family<ReceiverLabels, Counter>,
    accepted: Family<ReceiverLabels, Counter>,
    rejected: Family<ReceiverLabels, Counter>,
    dropped: Family<ReceiverLabels, Counter>,
}

impl ItemFamilies {
    fn register(registry: &mut Registry, unit: &str, noun: &str) -> Self {
        let families = ItemFamilies::default();
        registry.register(
            format!("weft_receiver_received_{unit}"),
            format!("{noun} decoded from export requests"),
            families.received.clone(),
        );
        registry.register(
            format!("weft_receiver_accepted_{unit}"),
            format!("{noun} durably written to the bus and acknowledged"),
            families.accepted.clone(),
        );
        registry.register(
            format!("weft_receiver_rejected_{unit}"),
            format!("{noun} rejected as invalid (malformed IDs) and reported in partial_success"),
            families.rejected.clone(),
        );
        registry.register(
            format!("weft_receiver_dropped_{unit}"),
            format!(
                "Valid {} not written because the bus was full or failing (the client was told to retry)",
                noun.to_lowercase()
            ),
            families.dropped.clone(),
        );
        families
    }
}

#[derive(Clone, Default)]
struct IngestMetrics {
    spans: ItemFamilies,
    logs: ItemFamilies,
    truncated_values: Family<ReceiverLabels, Counter>,
    clamped_spans: Family<ReceiverLabels, Counter>,
    requests: Family<RequestLabels, Counter>,
}

impl IngestMetrics {
    fn register(registry: &mut Registry) -> Self {
        let mut metrics = IngestMetrics {
            spans: ItemFamilies::register(registry, "spans", "Spans"),
            logs: ItemFamilies::register(registry, "log_records", "Log records"),
            ..IngestMetrics::default()
        };
        registry.register(
            "weft_receiver_truncated_values",
            "Attribute values, names, bodies and messages cut to the configured limit",
            metrics.truncated_values.clone(),
        );
        registry.register(
            "weft_receiver_clamped_spans",
            "Spans whose start was implausible (older than the retention or further ahead than the clock skew allowed), moved to their arrival time",
            metrics.clamped_spans.clone(),
        );
        let requests = Family::default();
        registry.register(
            "weft_receiver_requests",
            "Export requests by outcome: accepted, partial, invalid, shed, failed",
            requests.clone(),
        );
        metrics.requests = requests;
        metrics
    }
}

/// One receiver's handles on the counters above.
struct ReceiverCounters {
    received: Counter,
    accepted: Counter,
    rejected: Counter,
    dropped: Counter,
    truncated: Counter,
    clamped: Counter,
    component: ComponentMetrics,
}

impl ReceiverCounters {
    fn record_received(&self, received: u64, rejected: u64, truncated: u64) {
        self.received.inc_by(received);
        self.component.received.inc_by(received);
        self.rejected.inc_by(rejected);
        self.component.dropped.inc_by(rejected);
        self.truncated.inc_by(truncated);
    }
}

struct Inner {
    bus: Arc<dyn BusWriter>,
    config: IngestConfig,
    admission: Admission,
    metrics: IngestMetrics,
    component_families: ComponentMetricFamilies,
}

/// The one ingest path every receiver calls. Cheap to clone.
#[derive(Clone)]
pub struct Ingestor {
    inner: Arc<Inner>,
}

impl Ingestor {
    pub fn new(
        bus: Arc<dyn BusWriter>,
        config: IngestConfig,
        registry: &mut Registry,
        component_families: ComponentMetricFamilies,
    ) -> Self {
        let admission = Admission::new(config.max_concurrent_requests, config.retry_after);
        Ingestor {
            inner: Arc::new(Inner {
                bus,
                admission,
                metrics: IngestMetrics::register(registry),
                config,
                component_families,
            }),
        }
    }

    pub fn config(&self) -> &IngestConfig {
        &self.inner.config
    }

    /// The limits for a request arriving now: the configured ones, with the span starts
    /// plausible at this moment.
    fn limits_at_arrival(&self) -> ValidationLimits {
        let config = &self.inner.config;
        ValidationLimits {
            plausible_starts: config.span_start_bounds.map(|bounds| {
                PlausibleStarts::around(now_unix_nanos(), bounds.max_age, bounds.max_future_skew)
            }),
            ..config.limits
        }
    }

    /// The receiver's counters, looked up once per request.
    fn counters(&self, receiver: &str, signal: Signal) -> ReceiverCounters {
        let labels = ReceiverLabels {
            receiver: receiver.to_owned(),
        };
        let metrics = &self.inner.metrics;
        let families = match signal {
            Signal::Spans => &metrics.spans,
            Signal::Logs => &metrics.logs,
        };
        ReceiverCounters {
            received: families.received.get_or_create(&labels).clone(),
            accepted: families.accepted.get_or_create(&labels).clone(),
            rejected: families.rejected.get_or_create(&labels).clone(),
            dropped: families.dropped.get_or_create(&labels).clone(),
            truncated: metrics.truncated_values.get_or_create(&labels).clone(),
            clamped: metrics.clamped_spans.get_or_create(&labels).clone(),
            component: self
                .inner
                .component_families
                .component("receiver", receiver),
        }
    }

    /// Creates a receiver's series at zero, so dashboards and alerts see `rejected` and
    /// `dropped` before the first rejection or drop. Receivers call it when they bind.
    pub(crate) fn register_receiver(&self, receiver: &str, signal: Signal) {
        let _ = self.counters(receiver, signal);
        for outcome in ["accepted", "partial", "invalid", "shed", "failed"] {
            self.count_request_by(receiver, outcome, 0);
        }
    }

    /// Admits a request or sheds it (counted).
    pub fn admit(&self, receiver: &str) -> Result<AdmissionPermit, IngestError> {
        self.inner.admission.try_admit().inspect_err(|_| {
            self.count_request(receiver, "shed");
        })
    }

    /// A body that does not decode: counted as an invalid request, answered INVALID_ARGUMENT
    /// with the decoder's reason.
    pub(crate) fn undecodable(&self, receiver: &str, error: weft_codec::CodecError) -> IngestError {
        self.count_request(receiver, "invalid");
        IngestError::new(ErrorCode::InvalidArgument, error.to_string())
    }

    pub(crate) fn count_request(&self, receiver: &str, outcome: &'static str) {
        self.count_request_by(receiver, outcome, 1);
    }

    fn count_request_by(&self, receiver: &str, outcome: &'static str, count: u64) {
        self.inner
            .metrics
            .requests
            .get_or_create(&RequestLabels {
                receiver: receiver.to_owned(),
                outcome,
            })
            .inc_by(count);
    }

    /// Takes an OTLP/protobuf request body. Most requests need no change: a scan that allocates
    /// nothing proves it, and the body goes to the bus as it is. Anything else is decoded in full
    /// and validated ([`Ingestor::export`]), so a malformed body gets prost's own error.
    pub async fn export_protobuf(
        &self,
        receiver: &str,
        body: bytes::Bytes,
    ) -> Result<ExportOutcome, IngestError> {
        if let Scan::Clean { spans } = scan_otlp_protobuf(&body, &self.limits_at_arrival()) {
            let counters = self.counters(receiver, Signal::Spans);
            counters.record_received(spans, 0, 0);
            return self
                .append(receiver, &counters, body.to_vec(), spans, 0, String::new())
                .await;
        }
        let request =
            decode_otlp_protobuf(&body).map_err(|error| self.undecodable(receiver, error))?;
        self.export(receiver, request, Some(body), (0, String::new()))
            .await
    }

    /// Validates, limits and durably appends one decoded request. `original_protobuf` is the
    /// request's own protobuf encoding when the receiver has it: if validation changed
    /// nothing, those bytes go to the bus as they are instead of being encoded again.
    /// `extra_rejected` counts spans the receiver already refused while converting (Zipkin).
    pub async fn export(
        &self,
        receiver: &str,
        mut request: ExportTraceServiceRequest,
        original_protobuf: Option<bytes::Bytes>,
        extra_rejected: (u64, String),
    ) -> Result<ExportOutcome, IngestError> {
        let report = validate_and_limit(&mut request, &self.limits_at_arrival());
        let (pre_rejected, pre_message) = extra_rejected;
        let rejected = report.rejected_spans + pre_rejected;
        let received = report.accepted_spans + rejected;
        let counters = self.counters(receiver, Signal::Spans);
        counters.record_received(received, rejected, report.truncated_values);
        counters.clamped.inc_by(report.clamped_spans);
        let message = [pre_message, report.rejection_message.clone()]
            .into_iter()
            .filter(|part| !part.is_empty())
            .collect::<Vec<_>>()
            .join("; ");
        let message = rejection_message(Signal::Spans, rejected, received, message);
        let payload = match original_protobuf {
            Some(original) if !report.modified_request() && pre_rejected == 0 => original.to_vec(),
            _ => request.encode_to_vec(),
        };
        self.append(
            receiver,
            &counters,
            payload,
            report.accepted_spans,
            rejected,
            message,
        )
        .await
    }

    /// Takes an OTLP/protobuf logs request body: decoded (a malformed body gets prost's own
    /// error), validated and limited, then appended; the original bytes go to the bus when
    /// validation changed nothing.
    pub async fn export_logs_protobuf(
        &self,
        receiver: &str,
        body: bytes::Bytes,
    ) -> Result<ExportOutcome, IngestError> {
        let request =
            decode_otlp_logs_protobuf(&body).map_err(|error| self.undecodable(receiver, error))?;
        self.export_logs(receiver, request, Some(body)).await
    }

    /// Validates, limits and durably appends one decoded logs request.
    pub async fn export_logs(
        &self,
        receiver: &str,
        mut request: ExportLogsServiceRequest,
        original_protobuf: Option<bytes::Bytes>,
    ) -> Result<ExportOutcome, IngestError> {
        let report = validate_and_limit_logs(&mut request, &self.inner.config.limits);
        let rejected = report.rejected_spans;
        let received = report.accepted_spans + rejected;
        let counters = self.counters(receiver, Signal::Logs);
        counters.record_received(received, rejected, report.truncated_values);
        let message = rejection_message(
            Signal::Logs,
            rejected,
            received,
            report.rejection_message.clone(),
        );
        let payload = match original_protobuf {
            Some(original) if !report.modified_request() => logs_bus_record(&original),
            _ => logs_bus_record(&request.encode_to_vec()),
        };
        self.append(
            receiver,
            &counters,
            payload,
            report.accepted_spans,
            rejected,
            message,
        )
        .await
    }

    /// Appends a validated payload holding `accepted` items and answers with partial success.
    async fn append(
        &self,
        receiver: &str,
        counters: &ReceiverCounters,
        payload: Vec<u8>,
        accepted: u64,
        rejected: u64,
        message: String,
    ) -> Result<ExportOutcome, IngestError> {
        if accepted == 0 {
            self.count_request(receiver, if rejected > 0 { "invalid" } else { "accepted" });
            return Ok(ExportOutcome {
                accepted_spans: 0,
                rejected_spans: rejected,
                message,
                position: None,
            });
        }
        let component = &counters.component;
        match self.inner.bus.append(payload).await {
            Ok(position) => {
                counters.accepted.inc_by(accepted);
                component.sent.inc_by(accepted);
                self.count_request(receiver, if rejected > 0 { "partial" } else { "accepted" });
                Ok(ExportOutcome {
                    accepted_spans: accepted,
                    rejected_spans: rejected,
                    message,
                    position: Some(position),
                })
            }
            Err(error) => {
                counters.dropped.inc_by(accepted);
                component.dropped.inc_by(accepted);
                match error {
                    BusAppendError::Backpressure(reason) => {
                        self.count_request(receiver, "shed");
                        Err(IngestError::overloaded(
                            format!("ingest queue is full, retry later: {reason}"),
                            self.inner.config.retry_after,
                        ))
                    }
                    BusAppendError::Unavailable(reason) => {
                        component.errors.inc();
                        self.count_request(receiver, "failed");
                        Err(IngestError {
                            code: ErrorCode::Unavailable,
                            message: format!("ingest queue unavailable: {reason}"),
                            retry_after: Some(self.inner.config.retry_after),
                        })
                    }
                }
            }
        }
    }
}

/// OTLP's partial-success message: what was rejected of how many, then why.
fn rejection_message(signal: Signal, rejected: u64, received: u64, reasons: String) -> String {
    if rejected > 0 {
        format!(
            "rejected {rejected} of {received} {}: {reasons}",
            signal.noun()
        )
    } else {
        reasons
    }
}
