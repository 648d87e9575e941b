//! The diagnostics' cost per span on the generator's default traffic (every pathology a little):
//! extracting span facts, assembling, completing and analyzing traces, and aggregating them —
//! the whole per-span work of the diagnostics processor, minus its periodic commit.
//!
//! `cargo bench -p weft-diagnose --bench diagnoser`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use weft_codec::{spans_from_otlp, ConversionOptions};
use weft_diagnose::{Diagnoser, DiagnoserConfig};

fn diagnoser(criterion: &mut Criterion) {
    let now = 1_790_000_000_000_000_000u64;
    let scenarios = weft_gen::Scenarios {
        broken_trace: 0.01,
        bottleneck: 0.02,
        timeout_misconfiguration: 0.02,
        cycle: 0.01,
        ..weft_gen::Scenarios::default()
    };
    let mut generator = weft_gen::TraceGenerator::with_scenarios(1, scenarios);
    // 50 requests of 20 traces, as receivers hand them to the pipeline.
    let batches: Vec<Vec<weft_model::Span>> = (0..50)
        .map(|_| {
            spans_from_otlp(
                generator.next_batch(20, now).request,
                &ConversionOptions::default(),
            )
            .spans
        })
        .collect();
    let spans: usize = batches.iter().map(Vec::len).sum();
    let mut group = criterion.benchmark_group("diagnostics");
    group.throughput(Throughput::Elements(spans as u64));
    group.bench_function("assemble_analyze_aggregate", |bencher| {
        bencher.iter_batched(
            || Diagnoser::new(DiagnoserConfig::default()),
            |mut diagnoser| {
                for (position, batch) in batches.iter().enumerate() {
                    diagnoser.offer_batch(batch, position as u64 + 1, now);
                }
                // Every trace completes: the analyses and aggregation run inside the timing.
                diagnoser.tick(now + 60_000_000_000);
                assert_eq!(diagnoser.assembler().open_traces(), 0);
                diagnoser
            },
            BatchSize::LargeInput,
        );
    });
    group.finish();
}

criterion_group!(benches, diagnoser);
criterion_main!(benches);
