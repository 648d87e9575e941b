//! The command-line clients: `weft trace`, `search`, `status` and `diagnose` against a running
//! server's HTTP API, and `weft gen`, the load generator.

mod cli;
mod gen_command;

pub use cli::{
    run_diagnose, run_search, run_status, run_trace, DiagnoseArgs, SearchArgs, StatusArgs,
    TraceArgs,
};
pub use gen_command::{run_gen, GenArgs};

#[cfg(test)]
mod tests;
