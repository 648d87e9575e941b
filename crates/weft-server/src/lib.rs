//! The one place that wires Weft's components together (receivers → bus → pipeline →
//! processors), plus the HTTP API port. The `weft` binary is a thin shell around this crate.

mod api;
mod api_errors;
mod bench_command;
mod cli;
mod cold_writer;
mod config;
mod diagnostics;
mod diagnostics_api;
mod distinct;
mod gen_command;
mod jaeger;
mod jaeger_v3;
mod logs;
mod logs_api;
mod metrics_api;
mod metrics_hub;
mod params;
mod query_admission;
mod query_api;
mod sampling;
mod sampling_api;
mod serve;
mod store_writer;
mod tiers;

pub use bench_command::{run_bench, BenchCommand};
pub use cli::{
    run_diagnose, run_search, run_status, run_trace, DiagnoseArgs, SearchArgs, StatusArgs,
    TraceArgs,
};
pub use config::{parse_byte_size, FileConfig, ServeArgs, ServeConfig};
pub use gen_command::{run_gen, GenArgs};
pub use serve::{serve, ServeHandle};

#[cfg(test)]
mod tests;
