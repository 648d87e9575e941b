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
    #[arg(long, value_parser = humantime::parse_duration)]
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
}

/// `weft gen`: sends synthetic traces and reports spans/s each second and at the end.
pub async fn run_gen(args: GenArgs) -> anyhow::Result<()> {
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
        "sent {} spans in {:.2}s: accepted {} ({:.0} spans/s), rejected {}, throttled requests {}, failed requests {}",
        report.sent_spans,
        report.elapsed.as_secs_f64(),
        report.accepted_spans,
        report.spans_per_second(),
        report.rejected_spans,
        report.throttled_requests,
        report.failed_requests,
    );
    if report.failed_requests > 0 && report.accepted_spans == 0 {
        anyhow::bail!("no span was accepted: is weft listening at the endpoint?");
    }
    Ok(())
}
