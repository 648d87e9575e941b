//! The sampling rules' cost per span: the default rules (errors, slow database calls, slow
//! roots, business keys, 0.1 % share) plus a keyword and an attribute rule, on realistic
//! batches from `weft-gen`, marking the shard filters as the pipeline would.
//!
//! `cargo bench -p weft-sampling --bench rules`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use weft_codec::{spans_from_otlp, ConversionOptions};
use weft_sampling::{AttributePredicate, Condition, FilterSizing, Rule, Sampler, SamplingConfig};

fn rules(criterion: &mut Criterion) {
    let now = 1_790_000_000_000_000_000;
    let batch = weft_gen::TraceGenerator::new(1).next_batch(200, now);
    let options = ConversionOptions {
        business_key_names: vec!["order.id".into()],
    };
    let spans = spans_from_otlp(batch.request, &options).spans;
    let mut config = SamplingConfig::default();
    config.rules.push(Rule {
        name: "keyword".into(),
        condition: Condition::Keyword {
            words: vec!["timeout".into(), "declined".into()],
        },
        max_traces_per_second: Some(100.0),
    });
    config.rules.push(Rule {
        name: "eu_payments".into(),
        condition: Condition::Attribute {
            key: "cloud.region".into(),
            predicate: AttributePredicate::Equals("eu-central-1".into()),
        },
        max_traces_per_second: Some(50.0),
    });
    let sizing = FilterSizing {
        expected_keys: 100_000,
        false_positive_rate: 0.001,
    };
    let mut group = criterion.benchmark_group("sampling");
    group.throughput(Throughput::Elements(spans.len() as u64));
    group.bench_function(
        "observe_default_rules_plus_keyword_and_attribute",
        |bench| {
            bench.iter_batched(
                || Sampler::new(config.clone(), 600, sizing).unwrap(),
                |mut sampler| {
                    for span in &spans {
                        std::hint::black_box(sampler.observe(span, now));
                    }
                    sampler
                },
                BatchSize::LargeInput,
            )
        },
    );
    group.finish();
}

criterion_group!(benches, rules);
criterion_main!(benches);
