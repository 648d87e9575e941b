//! The metrics every Weft component reports, in one shape, so a dashboard can show any
//! receiver, processor or sink the same way: received, sent, dropped, errors, lag.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

pub use prometheus_client;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ComponentLabels {
    /// `receiver`, `processor` or `sink`.
    pub kind: String,
    /// The component's configured name, e.g. `otlp_grpc` or `capture`.
    pub component: String,
}

/// The families behind every component's counters; registered once.
#[derive(Clone, Default)]
pub struct ComponentMetricFamilies {
    received: Family<ComponentLabels, Counter>,
    sent: Family<ComponentLabels, Counter>,
    dropped: Family<ComponentLabels, Counter>,
    errors: Family<ComponentLabels, Counter>,
    lag_records: Family<ComponentLabels, Gauge>,
}

impl ComponentMetricFamilies {
    pub fn register(registry: &mut Registry) -> Self {
        let families = ComponentMetricFamilies::default();
        registry.register(
            "weft_component_received_spans",
            "Spans a component took in",
            families.received.clone(),
        );
        registry.register(
            "weft_component_sent_spans",
            "Spans a component passed on (or, for a sink, wrote)",
            families.sent.clone(),
        );
        registry.register(
            "weft_component_dropped_spans",
            "Spans a component dropped on purpose (invalid, over a limit, shed)",
            families.dropped.clone(),
        );
        registry.register(
            "weft_component_errors",
            "Failures inside a component",
            families.errors.clone(),
        );
        registry.register(
            "weft_component_lag_records",
            "Bus records behind the head that a component has not processed yet",
            families.lag_records.clone(),
        );
        families
    }

    pub fn component(&self, kind: &str, component: &str) -> ComponentMetrics {
        let labels = ComponentLabels {
            kind: kind.to_owned(),
            component: component.to_owned(),
        };
        ComponentMetrics {
            received: self.received.get_or_create(&labels).clone(),
            sent: self.sent.get_or_create(&labels).clone(),
            dropped: self.dropped.get_or_create(&labels).clone(),
            errors: self.errors.get_or_create(&labels).clone(),
            lag_records: self.lag_records.get_or_create(&labels).clone(),
        }
    }
}

/// One component's handles. Cloning shares the counters.
#[derive(Clone, Debug, Default)]
pub struct ComponentMetrics {
    pub received: Counter,
    pub sent: Counter,
    pub dropped: Counter,
    pub errors: Counter,
    pub lag_records: Gauge,
}

/// Registers gauges given as (name, help, gauge).
pub fn register_gauges(registry: &mut Registry, gauges: &[(&str, &str, &Gauge)]) {
    for (name, help, gauge) in gauges {
        registry.register(*name, *help, (*gauge).clone());
    }
}

/// Sets a gauge to a count (saturating at `i64::MAX`, the gauge's range).
pub fn set_count(gauge: &Gauge, value: u64) {
    gauge.set(i64::try_from(value).unwrap_or(i64::MAX));
}
