//! Metric files: plain Parquet, one row per (bucket, series or edge), documented in
//! `docs/metrics-schema.md` so DuckDB or pandas can read them like the span segments.

use std::fs::File;
use std::path::Path;
use std::sync::{Arc, LazyLock};

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Int32Builder, StringBuilder, UInt64Builder, UInt8Builder,
};
use arrow_array::{
    Array, BinaryArray, BooleanArray, Int32Array, RecordBatch, StringArray, UInt64Array, UInt8Array,
};
use arrow_schema::{DataType, Field, Schema, SchemaRef};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;
use weft_metrics::topology::EdgeKey;
use weft_metrics::{Bucket, Exemplar, ExemplarReason, Exemplars, SeriesKey};

use super::{MetricKey, MetricRow};
use crate::segment::guard_reads;
use crate::StoreError;

const ROW_KIND_SPAN: u8 = 0;
const ROW_KIND_EDGE: u8 = 1;
/// trace ID 16 + span ID 8 + start 8 + duration 8 + error 1 + reason 1.
const EXEMPLAR_BYTES: usize = 42;

static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    let text = |name: &str| Field::new(name, DataType::Utf8, true);
    let count = |name: &str| Field::new(name, DataType::UInt64, false);
    Arc::new(Schema::new(vec![
        Field::new("bucket_start_unix_seconds", DataType::UInt64, false),
        Field::new("row_kind", DataType::UInt8, false),
        Field::new("service_name", DataType::Utf8, false),
        Field::new("span_name", DataType::Utf8, false),
        Field::new("span_kind", DataType::Int32, false),
        Field::new("status_code", DataType::Int32, false),
        text("host_name"),
        text("environment"),
        text("region"),
        text("extra_dimensions"),
        text("peer_service"),
        text("peer_operation"),
        Field::new("peer_uninstrumented", DataType::Boolean, true),
        count("calls"),
        count("errors"),
        count("duration_sum_nanos"),
        count("duration_min_nanos"),
        count("duration_max_nanos"),
        Field::new("latency_sketch", DataType::Binary, false),
        Field::new("exemplars", DataType::Binary, false),
    ]))
});

fn encode_exemplars(exemplars: &Exemplars) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(exemplars.len() * EXEMPLAR_BYTES);
    for exemplar in exemplars.sorted() {
        bytes.extend_from_slice(&exemplar.trace_id);
        bytes.extend_from_slice(&exemplar.span_id);
        bytes.extend_from_slice(&exemplar.start_unix_nanos.to_le_bytes());
        bytes.extend_from_slice(&exemplar.duration_nanos.to_le_bytes());
        bytes.push(u8::from(exemplar.is_error));
        bytes.push(exemplar.reason.code());
    }
    bytes
}

fn decode_exemplars(bytes: &[u8]) -> Result<Exemplars, String> {
    if !bytes.len().is_multiple_of(EXEMPLAR_BYTES) {
        return Err(format!(
            "exemplar column holds {} bytes, not a multiple of {EXEMPLAR_BYTES}",
            bytes.len()
        ));
    }
    let mut exemplars = Exemplars::default();
    for record in bytes.chunks_exact(EXEMPLAR_BYTES) {
        let word = |range: std::ops::Range<usize>| {
            let mut value = [0u8; 8];
            value.copy_from_slice(&record[range]);
            u64::from_le_bytes(value)
        };
        let mut trace_id = [0u8; 16];
        trace_id.copy_from_slice(&record[..16]);
        let mut span_id = [0u8; 8];
        span_id.copy_from_slice(&record[16..24]);
        let reason = ExemplarReason::from_code(record[41])
            .ok_or_else(|| format!("unknown exemplar reason {}", record[41]))?;
        exemplars.offer(
            Exemplar {
                trace_id,
                span_id,
                start_unix_nanos: word(24..32),
                duration_nanos: word(32..40),
                is_error: record[40] != 0,
                reason,
            },
            usize::MAX,
        );
    }
    Ok(exemplars)
}

fn encode(rows: &[MetricRow]) -> Result<RecordBatch, StoreError> {
    let mut start = UInt64Builder::with_capacity(rows.len());
    let mut kind = UInt8Builder::with_capacity(rows.len());
    let mut service = StringBuilder::new();
    let mut name = StringBuilder::new();
    let mut span_kind = Int32Builder::with_capacity(rows.len());
    let mut status = Int32Builder::with_capacity(rows.len());
    let mut host = StringBuilder::new();
    let mut environment = StringBuilder::new();
    let mut region = StringBuilder::new();
    let mut extra = StringBuilder::new();
    let mut peer_service = StringBuilder::new();
    let mut peer_operation = StringBuilder::new();
    let mut uninstrumented = BooleanBuilder::with_capacity(rows.len());
    let mut calls = UInt64Builder::with_capacity(rows.len());
    let mut errors = UInt64Builder::with_capacity(rows.len());
    let mut sum = UInt64Builder::with_capacity(rows.len());
    let mut min = UInt64Builder::with_capacity(rows.len());
    let mut max = UInt64Builder::with_capacity(rows.len());
    let mut sketch = BinaryBuilder::new();
    let mut exemplars = BinaryBuilder::new();
    for row in rows {
        start.append_value(row.start_secs);
        match &row.key {
            MetricKey::Span(key) => {
                kind.append_value(ROW_KIND_SPAN);
                service.append_value(&key.service_name);
                name.append_value(&key.span_name);
                span_kind.append_value(key.span_kind);
                status.append_value(key.status_code);
                host.append_option(key.host_name.as_deref());
                environment.append_option(key.environment.as_deref());
                region.append_option(key.region.as_deref());
                if key.extra.is_empty() {
                    extra.append_null();
                } else {
                    let json = serde_json::to_string(&key.extra).map_err(|error| {
                        StoreError::Corrupt(format!("encoding extra dimensions: {error}"))
                    })?;
                    extra.append_value(json);
                }
                peer_service.append_null();
                peer_operation.append_null();
                uninstrumented.append_null();
            }
            MetricKey::Edge(key) => {
                kind.append_value(ROW_KIND_EDGE);
                service.append_value(&key.client_service);
                name.append_value(&key.client_operation);
                span_kind.append_value(0);
                status.append_value(0);
                host.append_null();
                environment.append_null();
                region.append_null();
                extra.append_null();
                peer_service.append_value(&key.server_service);
                peer_operation.append_value(&key.server_operation);
                uninstrumented.append_value(key.uninstrumented);
            }
        }
        let bucket = &row.bucket;
        calls.append_value(bucket.calls);
        errors.append_value(bucket.errors);
        // u64 nanoseconds hold 584 years of summed duration per row.
        sum.append_value(u64::try_from(bucket.duration_sum_nanos).unwrap_or(u64::MAX));
        min.append_value(if bucket.calls == 0 {
            0
        } else {
            bucket.duration_min_nanos
        });
        max.append_value(bucket.duration_max_nanos);
        sketch.append_value(bucket.sketch_bytes());
        exemplars.append_value(encode_exemplars(&bucket.exemplars));
    }
    let columns: Vec<Arc<dyn Array>> = vec![
        Arc::new(start.finish()),
        Arc::new(kind.finish()),
        Arc::new(service.finish()),
        Arc::new(name.finish()),
        Arc::new(span_kind.finish()),
        Arc::new(status.finish()),
        Arc::new(host.finish()),
        Arc::new(environment.finish()),
        Arc::new(region.finish()),
        Arc::new(extra.finish()),
        Arc::new(peer_service.finish()),
        Arc::new(peer_operation.finish()),
        Arc::new(uninstrumented.finish()),
        Arc::new(calls.finish()),
        Arc::new(errors.finish()),
        Arc::new(sum.finish()),
        Arc::new(min.finish()),
        Arc::new(max.finish()),
        Arc::new(sketch.finish()),
        Arc::new(exemplars.finish()),
    ];
    RecordBatch::try_new(SCHEMA.clone(), columns)
        .map_err(|error| StoreError::Corrupt(format!("building a metric batch: {error}")))
}

/// Writes `rows` to a new Parquet file at `path` and fsyncs it; returns its size.
pub(crate) fn write_metric_file(path: &Path, rows: &[MetricRow]) -> Result<u64, StoreError> {
    let batch = encode(rows)?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(3).expect("3 is a valid zstd level"),
        ))
        .build();
    let file = File::create(path).map_err(|error| StoreError::io(path, error))?;
    let mut writer = ArrowWriter::try_new(file, SCHEMA.clone(), Some(properties))
        .map_err(|error| StoreError::encoding(path, error))?;
    writer
        .write(&batch)
        .map_err(|error| StoreError::encoding(path, error))?;
    let file = writer
        .into_inner()
        .map_err(|error| StoreError::encoding(path, error))?;
    file.sync_all()
        .map_err(|error| StoreError::io(path, error))?;
    let bytes = file
        .metadata()
        .map_err(|error| StoreError::io(path, error))?
        .len();
    Ok(bytes)
}

fn column<'a, T: 'static>(
    batch: &'a RecordBatch,
    index: usize,
    path: &Path,
) -> Result<&'a T, StoreError> {
    batch
        .column(index)
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| {
            StoreError::Corrupt(format!(
                "{}: column {} has an unexpected type",
                path.display(),
                SCHEMA.field(index).name()
            ))
        })
}

fn optional(array: &StringArray, row: usize) -> Option<String> {
    (!array.is_null(row)).then(|| array.value(row).to_owned())
}

/// Reads every row of a metric file that `keep` accepts (by start and key).
pub(crate) fn read_metric_file(
    path: &Path,
    keep: &dyn Fn(u64, &MetricKey) -> bool,
) -> Result<Vec<MetricRow>, StoreError> {
    guard_reads(path, || read_unguarded(path, keep))
}

fn read_unguarded(
    path: &Path,
    keep: &dyn Fn(u64, &MetricKey) -> bool,
) -> Result<Vec<MetricRow>, StoreError> {
    let corrupt = |message: String| StoreError::Corrupt(format!("{}: {message}", path.display()));
    let file = File::open(path).map_err(|error| StoreError::io(path, error))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)
        .and_then(|builder| builder.build())
        .map_err(|error| StoreError::encoding(path, error))?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|error| corrupt(error.to_string()))?;
        if batch.schema().fields() != SCHEMA.fields() {
            return Err(corrupt("not a metric file of this version".into()));
        }
        let start = column::<UInt64Array>(&batch, 0, path)?;
        let kind = column::<UInt8Array>(&batch, 1, path)?;
        let service = column::<StringArray>(&batch, 2, path)?;
        let name = column::<StringArray>(&batch, 3, path)?;
        let span_kind = column::<Int32Array>(&batch, 4, path)?;
        let status = column::<Int32Array>(&batch, 5, path)?;
        let host = column::<StringArray>(&batch, 6, path)?;
        let environment = column::<StringArray>(&batch, 7, path)?;
        let region = column::<StringArray>(&batch, 8, path)?;
        let extra = column::<StringArray>(&batch, 9, path)?;
        let peer_service = column::<StringArray>(&batch, 10, path)?;
        let peer_operation = column::<StringArray>(&batch, 11, path)?;
        let uninstrumented = column::<BooleanArray>(&batch, 12, path)?;
        let calls = column::<UInt64Array>(&batch, 13, path)?;
        let errors = column::<UInt64Array>(&batch, 14, path)?;
        let sum = column::<UInt64Array>(&batch, 15, path)?;
        let min = column::<UInt64Array>(&batch, 16, path)?;
        let max = column::<UInt64Array>(&batch, 17, path)?;
        let sketch = column::<BinaryArray>(&batch, 18, path)?;
        let exemplars = column::<BinaryArray>(&batch, 19, path)?;
        for row in 0..batch.num_rows() {
            let key = match kind.value(row) {
                ROW_KIND_SPAN => MetricKey::Span(SeriesKey {
                    service_name: service.value(row).to_owned(),
                    span_name: name.value(row).to_owned(),
                    span_kind: span_kind.value(row),
                    status_code: status.value(row),
                    host_name: optional(host, row),
                    environment: optional(environment, row),
                    region: optional(region, row),
                    extra: match optional(extra, row) {
                        None => Vec::new(),
                        Some(json) => serde_json::from_str(&json)
                            .map_err(|error| corrupt(format!("extra dimensions: {error}")))?,
                    },
                }),
                ROW_KIND_EDGE => MetricKey::Edge(EdgeKey {
                    client_service: service.value(row).to_owned(),
                    client_operation: name.value(row).to_owned(),
                    server_service: optional(peer_service, row).unwrap_or_default(),
                    server_operation: optional(peer_operation, row).unwrap_or_default(),
                    uninstrumented: !uninstrumented.is_null(row) && uninstrumented.value(row),
                }),
                other => return Err(corrupt(format!("unknown row kind {other}"))),
            };
            let start_secs = start.value(row);
            if !keep(start_secs, &key) {
                continue;
            }
            let calls = calls.value(row);
            let bucket = Bucket::from_parts(
                calls,
                errors.value(row),
                u128::from(sum.value(row)),
                if calls == 0 { u64::MAX } else { min.value(row) },
                max.value(row),
                sketch.value(row),
                decode_exemplars(exemplars.value(row)).map_err(corrupt)?,
            )
            .map_err(|error| corrupt(error.to_string()))?;
            rows.push(MetricRow {
                start_secs,
                key,
                bucket,
            });
        }
    }
    Ok(rows)
}
