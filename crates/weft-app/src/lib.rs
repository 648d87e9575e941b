//! The composition root: the one place that wires Weft's components together. Each role is one
//! builder over its dependencies (in the style of Tempo's module manager): the collector
//! (receivers → bus), the processor (bus → pipeline → processors → stores) and the query role
//! (stores → HTTP API). `serve` is the union of the three over the WAL and the embedded store.
//! The `weft` binary is a thin shell around this crate, `weft-cli` and `weft-bench`.

mod collector;
mod config;
mod processor;
mod query;
mod roles;
mod serve;
mod servers;
mod storage;

pub use config::{
    parse_byte_size, ApiSection, CaptureSection, ColdSection, DemoSection, DiagnosticsSection,
    MetricsSection, ReceiversSection, SamplingSection, ServeArgs, ServeConfig, StoreSection,
    WalSection,
};
pub use roles::{run_role, Role};
pub use serve::{serve, ServeHandle};

#[cfg(test)]
mod tests;
