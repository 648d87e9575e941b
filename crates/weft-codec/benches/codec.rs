//! The per-span work of ingest and of the pipeline, on realistic batches from `weft-gen`
//! (20 traces, about 300 spans, about 300 protobuf bytes a span).
//!
//! `cargo bench -p weft-codec --bench codec`

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use prost::Message;
use weft_codec::{
    decode_otlp_json, decode_otlp_protobuf, encode_otlp_json, otlp_from_spans, scan_otlp_protobuf,
    spans_from_otlp, validate_and_limit, ConversionOptions, PlausibleStarts, ValidationLimits,
};

fn codec(criterion: &mut Criterion) {
    let now = 1_790_000_000_000_000_000;
    let batch = weft_gen::TraceGenerator::new(1).next_batch(20, now);
    // What receivers check: the defaults, with the span starts plausible at arrival.
    let limits = ValidationLimits {
        plausible_starts: Some(PlausibleStarts::around(
            now,
            std::time::Duration::from_secs(3 * 86_400),
            std::time::Duration::from_secs(3_600),
        )),
        ..ValidationLimits::default()
    };
    let protobuf = batch.request.encode_to_vec();
    assert!(
        matches!(
            scan_otlp_protobuf(&protobuf, &limits),
            weft_codec::Scan::Clean { .. }
        ),
        "the benchmark batch takes the fast path"
    );
    let json = encode_otlp_json(&batch.request);
    let options = ConversionOptions {
        business_key_names: vec!["order.id".into(), "user.id".into()],
    };
    let spans = spans_from_otlp(batch.request.clone(), &options).spans;
    let mut group = criterion.benchmark_group("codec");
    group.throughput(Throughput::Elements(batch.spans as u64));
    group.bench_function("scan_otlp_protobuf", |bench| {
        bench.iter(|| scan_otlp_protobuf(&protobuf, &limits))
    });
    group.bench_function("decode_otlp_protobuf", |bench| {
        bench.iter(|| decode_otlp_protobuf(&protobuf).unwrap())
    });
    group.bench_function("validate_and_limit", |bench| {
        bench.iter_batched(
            || batch.request.clone(),
            |mut request| validate_and_limit(&mut request, &limits),
            BatchSize::SmallInput,
        )
    });
    group.bench_function("encode_otlp_protobuf", |bench| {
        bench.iter(|| batch.request.encode_to_vec())
    });
    group.bench_function("spans_from_otlp", |bench| {
        bench.iter(|| spans_from_otlp(batch.request.clone(), &options))
    });
    group.bench_function("otlp_from_spans", |bench| {
        bench.iter(|| otlp_from_spans(&spans))
    });
    group.bench_function("decode_otlp_json", |bench| {
        bench.iter(|| decode_otlp_json(&json).unwrap())
    });
    group.finish();
}

criterion_group!(benches, codec);
criterion_main!(benches);
