//! `weft bench`: benchmarks of the hot paths, whose numbers go in BENCHMARKS.md.

mod bench_command;

pub use bench_command::{run_bench, BenchCommand};
