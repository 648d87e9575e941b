//! End-to-end tests: real `weft serve` processes on loopback, real OpenTelemetry SDK clients.
//! Run `scripts/install-test-deps.sh` once before `cargo test` (the README's test command does).

mod architecture;
mod backpressure;
mod bad_input;
mod clickhouse;
mod clients;
mod crash;
mod diagnostics;
mod distributed;
mod lifecycle;
mod logs;
mod metrics;
mod sampling;
mod sandbox;
mod sdk;
mod store;
mod ui;
