//! The `weft` binary: parses the command line and hands over to `weft-app` (the server roles), `weft-cli`
//! (the clients) and `weft-bench`.

use clap::{Parser, Subcommand};

/// Decoding OTLP allocates a string or vector per attribute and frees it on another thread a few
/// milliseconds later; glibc's allocator spent ~45 % of ingest CPU on exactly that (see
/// BENCHMARKS.md), mimalloc a fraction of it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Weft: distributed tracing and APM. Every span kept.
#[derive(Parser)]
#[command(name = "weft", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the all-in-one server: receivers, durable queue, pipeline, API.
    Serve(Box<weft_app::ServeArgs>),
    /// Run the collector role alone (distributed shape): receivers appending to Kafka.
    Collector(Box<weft_app::ServeArgs>),
    /// Run the processor role alone (distributed shape): a Kafka consumer-group member writing
    /// to ClickHouse.
    Processor(Box<weft_app::ServeArgs>),
    /// Run the query role alone (distributed shape): the API and UI over ClickHouse.
    Query(Box<weft_app::ServeArgs>),
    /// Send realistic synthetic traces to a server (load generator).
    Gen(weft_cli::GenArgs),
    /// Print one trace as a waterfall, from a running server.
    Trace(weft_cli::TraceArgs),
    /// List traces matching conditions, from a running server.
    Search(Box<weft_cli::SearchArgs>),
    /// Storage per tier (bytes, spans, partitions, cold/hot ratio), the cold writer and the
    /// sampling rules' counters, from a running server.
    Status(weft_cli::StatusArgs),
    /// What is wrong with a service (or all): broken traces, bottlenecks, repeated calls,
    /// timeout misconfiguration, cycles, and database, Redis and operation statistics.
    Diagnose(weft_cli::DiagnoseArgs),
    /// Benchmarks of hot paths (see BENCHMARKS.md).
    #[command(subcommand)]
    Bench(weft_bench::BenchCommand),
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("weft-worker")
        .build()?;
    runtime.block_on(async {
        match cli.command {
            Command::Serve(args) => weft_app::serve(weft_app::ServeConfig::resolve(*args)?).await,
            Command::Collector(args) => weft_app::run_role(weft_app::Role::Collector, *args).await,
            Command::Processor(args) => weft_app::run_role(weft_app::Role::Processor, *args).await,
            Command::Query(args) => weft_app::run_role(weft_app::Role::Query, *args).await,
            Command::Gen(args) => weft_cli::run_gen(args).await,
            Command::Trace(args) => weft_cli::run_trace(args).await,
            Command::Search(args) => weft_cli::run_search(*args).await,
            Command::Status(args) => weft_cli::run_status(args).await,
            Command::Diagnose(args) => weft_cli::run_diagnose(args).await,
            Command::Bench(command) => {
                tokio::task::spawn_blocking(move || weft_bench::run_bench(command)).await?
            }
        }
    })
}
