use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use weft_gen::{GenOptions, Protocol};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ProtocolArg {
    Grpc,
    Http,
}

/// Flags of `weft gen`.
#[derive(Debug, Clone, clap::Args)]
pub struct GenArgs {
    /// Where to send: `http://HOST:4317` for gRPC, `http://HOST:4318` for HTTP.
    #[arg(long, default_value = "http://127.0.0.1:4317")]
    pub endpoint: String,
    #[arg(long, value_enum, default_value = "grpc")]
    pub protocol: ProtocolArg,
    /// Target spans per second; 0 sends as fast as the server acknowledges.
    #[arg(long, default_value_t = 1000.0)]
    pub rate: f64,
    /// Stop after this long (e.g. 30s, 5m).
    #[arg(long, value_parser = weft_model::parse_duration)]
    pub duration: Option<Duration>,
    /// Stop after sending this many spans.
    #[arg(long)]
    pub spans: Option<u64>,
    /// Export requests in flight at once.
    #[arg(long, default_value_t = 4)]
    pub concurrency: usize,
    /// Traces per export request (each trace has about 6–25 spans).
    #[arg(long, default_value_t = 20)]
    pub traces_per_request: usize,
    /// Compress requests with gzip.
    #[arg(long)]
    pub gzip: bool,
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Build this many requests up front and replay them, so a benchmark measures the server
    /// rather than the generator.
    #[arg(long, value_name = "REQUESTS")]
    pub pregenerate: Option<usize>,
    /// Share of traces with a span whose parent is never sent (a broken trace). [default: 0]
    #[arg(long, value_name = "SHARE", value_parser = parse_share)]
    pub broken_trace_rate: Option<f64>,
    /// Share of traces where one service does most of the work (a bottleneck). [default: 0]
    #[arg(long, value_name = "SHARE", value_parser = parse_share)]
    pub bottleneck_rate: Option<f64>,
    /// Share of traces with an N+1 loop (the same query 5–8 times). [default: 0.1]
    #[arg(long, value_name = "SHARE", value_parser = parse_share)]
    pub repeated_calls_rate: Option<f64>,
    /// Share of traces where a callee waits longer than its caller's timeout. [default: 0]
    #[arg(long, value_name = "SHARE", value_parser = parse_share)]
    pub timeout_misconfiguration_rate: Option<f64>,
    /// Share of traces where a service is called back by one it called. [default: 0]
    #[arg(long, value_name = "SHARE", value_parser = parse_share)]
    pub cycle_rate: Option<f64>,
    /// Share of traces with one database call of 250–1500 ms. [default: 0.02]
    #[arg(long, value_name = "SHARE", value_parser = parse_share)]
    pub slow_database_rate: Option<f64>,
    /// Inject nothing the rate flags do not ask for (the defaults above become 0).
    #[arg(long)]
    pub clean: bool,
    /// Append `<trace ID> <scenario>` for every injected pathology to this file.
    #[arg(long, value_name = "FILE")]
    pub scenario_log: Option<std::path::PathBuf>,
    /// Send traces only: without the log records (request lines, errors, slow queries,
    /// heartbeats) the services would write.
    #[arg(long)]
    pub no_logs: bool,
}

fn parse_share(text: &str) -> Result<f64, String> {
    let share: f64 = text
        .parse()
        .map_err(|error| format!("not a number: {error}"))?;
    if (0.0..=1.0).contains(&share) {
        Ok(share)
    } else {
        Err(format!("{share} is not between 0 and 1"))
    }
}

impl GenArgs {
    /// The scenario rates: the flags over the defaults (or over none with `--clean`).
    pub fn scenarios(&self) -> weft_gen::Scenarios {
        let base = if self.clean {
            weft_gen::Scenarios::clean()
        } else {
            weft_gen::Scenarios::default()
        };
        weft_gen::Scenarios {
            broken_trace: self.broken_trace_rate.unwrap_or(base.broken_trace),
            bottleneck: self.bottleneck_rate.unwrap_or(base.bottleneck),
            repeated_calls: self.repeated_calls_rate.unwrap_or(base.repeated_calls),
            timeout_misconfiguration: self
                .timeout_misconfiguration_rate
                .unwrap_or(base.timeout_misconfiguration),
            cycle: self.cycle_rate.unwrap_or(base.cycle),
            slow_database: self.slow_database_rate.unwrap_or(base.slow_database),
        }
    }
}

/// `weft gen`: sends synthetic traces and reports spans/s each second and at the end.
pub async fn run_gen(args: GenArgs) -> anyhow::Result<()> {
    let scenarios = args.scenarios();
    let options = GenOptions {
        endpoint: args.endpoint,
        protocol: match args.protocol {
            ProtocolArg::Grpc => Protocol::Grpc,
            ProtocolArg::Http => Protocol::Http,
        },
        spans_per_second: (args.rate > 0.0).then_some(args.rate),
        duration: args.duration,
        max_spans: args.spans,
        concurrency: args.concurrency,
        traces_per_request: args.traces_per_request,
        gzip: args.gzip,
        seed: args.seed,
        pregenerated_requests: args.pregenerate,
        scenarios,
        scenario_log: args.scenario_log,
        logs: !args.no_logs,
    };
    let stop = Arc::new(AtomicBool::new(false));
    let stop_on_signal = Arc::clone(&stop);
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            stop_on_signal.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    });
    let report = weft_gen::run(options, stop, |progress| {
        eprintln!(
            "{:>6.1}s  accepted {:>10} spans  {:>10.0} spans/s  rejected {}  throttled {}  failed {}",
            progress.elapsed.as_secs_f64(),
            progress.accepted_spans,
            progress.spans_per_second(),
            progress.rejected_spans,
            progress.throttled_requests,
            progress.failed_requests,
        );
    })
    .await?;
    println!(
        "sent {} spans in {:.2}s: accepted {} ({:.0} spans/s), rejected {}, throttled requests {}, failed requests {}, log records accepted {}",
        report.sent_spans,
        report.elapsed.as_secs_f64(),
        report.accepted_spans,
        report.spans_per_second(),
        report.rejected_spans,
        report.throttled_requests,
        report.failed_requests,
        report.accepted_log_records,
    );
    if report.failed_requests > 0 && report.accepted_spans == 0 {
        anyhow::bail!("no span was accepted: is weft listening at the endpoint?");
    }
    Ok(())
}
