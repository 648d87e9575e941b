//! One immutable Parquet segment: writing it (rows sorted by trace ID, Bloom filters on trace ID
//! and business keys, page index, zstd) and reading from it (a trace by ID touching the pages
//! that can hold it; a filtered scan for search).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use arrow_array::RecordBatch;
use parquet::arrow::arrow_reader::{
    ArrowReaderMetadata, ArrowReaderOptions, ParquetRecordBatchReaderBuilder, RowSelection,
    RowSelector,
};
use parquet::arrow::{ArrowWriter, ProjectionMask};
use parquet::basic::{Compression, Encoding, ZstdLevel};
use parquet::bloom_filter::Sbbf;
use parquet::file::metadata::{PageIndexPolicy, SortingColumn};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::file::statistics::Statistics;
use parquet::schema::types::ColumnPath;
use weft_codec::ConversionOptions;
use weft_model::{Span, SpanId, TraceId};

use crate::parents::{ParentEncoder, ParentLink, ParentResolver};
use crate::schema::{self, BatchColumns};
use crate::StoreError;
use weft_storage::{SearchQuery, SpanHead, TraceIdRange};

/// Rows per row group: large enough for good compression, small enough that a Bloom filter
/// miss skips a meaningful amount.
pub(crate) const ROW_GROUP_ROWS: usize = 128 * 1024;
/// Rows per page: a trace lookup reads about one page per column.
const PAGE_ROWS: usize = 2 * 1024;

#[derive(Debug, Clone, Copy)]
pub(crate) struct SegmentWriteOptions {
    pub zstd_level: i32,
}

/// Parquet leaf column paths (list elements sit under `<column>.list.item`).
fn leaf(path: &[&str]) -> ColumnPath {
    ColumnPath::new(path.iter().map(|part| (*part).to_owned()).collect())
}

fn business_keys_leaf() -> ColumnPath {
    leaf(&[schema::BUSINESS_KEYS, "list", "item"])
}

fn writer_properties(
    options: SegmentWriteOptions,
    rows: usize,
) -> Result<WriterProperties, StoreError> {
    let level = ZstdLevel::try_new(options.zstd_level).map_err(|error| {
        StoreError::InvalidQuery(format!(
            "invalid zstd level {}: {error}",
            options.zstd_level
        ))
    })?;
    let no_dictionary = [
        leaf(&[schema::TRACE_ID]),
        leaf(&[schema::SPAN_ID]),
        leaf(&[schema::PARENT_SPAN_ID]),
        leaf(&[schema::START_TIME]),
        leaf(&[schema::DURATION]),
        leaf(&[schema::DETAIL]),
        // Attribute values are mostly high-cardinality (URLs, SQL, IDs): interning each one to
        // find the dictionary full cost a fifth of the flush; zstd finds the repeats anyway.
        leaf(&[schema::ATTRIBUTES, "list", "item", "str"]),
        leaf(&[schema::ATTRIBUTES, "list", "item", "int"]),
        leaf(&[schema::ATTRIBUTES, "list", "item", "double"]),
        leaf(&[schema::ATTRIBUTES, "list", "item", "bytes"]),
    ];
    let mut builder = WriterProperties::builder()
        .set_compression(Compression::ZSTD(level))
        .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
        .set_data_page_row_count_limit(PAGE_ROWS)
        .set_write_batch_size(PAGE_ROWS)
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_column_statistics_enabled(leaf(&[schema::TRACE_ID]), EnabledStatistics::Page)
        .set_column_statistics_enabled(leaf(&[schema::START_TIME]), EnabledStatistics::Page)
        .set_column_statistics_enabled(leaf(&[schema::DETAIL]), EnabledStatistics::None)
        .set_column_statistics_enabled(leaf(&[schema::RESOURCE]), EnabledStatistics::None)
        .set_column_statistics_enabled(leaf(&[schema::SCOPE]), EnabledStatistics::None)
        .set_column_bloom_filter_enabled(leaf(&[schema::TRACE_ID]), true)
        // A trace has several spans, so distinct trace IDs are a fraction of the rows.
        .set_column_bloom_filter_max_ndv(
            leaf(&[schema::TRACE_ID]),
            (rows.min(ROW_GROUP_ROWS) as u64 / 2).max(64),
        )
        .set_column_bloom_filter_fpp(leaf(&[schema::TRACE_ID]), 0.01)
        .set_column_bloom_filter_enabled(business_keys_leaf(), true)
        .set_column_bloom_filter_max_ndv(
            business_keys_leaf(),
            (rows.min(ROW_GROUP_ROWS) as u64 / 2).max(64),
        )
        .set_column_bloom_filter_fpp(business_keys_leaf(), 0.01)
        .set_sorting_columns(Some(vec![SortingColumn {
            column_idx: 0,
            descending: false,
            nulls_first: false,
        }]));
    for column in no_dictionary {
        builder = builder.set_column_dictionary_enabled(column, false);
    }
    builder = builder
        .set_column_encoding(leaf(&[schema::START_TIME]), Encoding::DELTA_BINARY_PACKED)
        .set_column_encoding(leaf(&[schema::DURATION]), Encoding::BYTE_STREAM_SPLIT);
    Ok(builder.build())
}

/// Sorts spans the way segments keep them: by trace ID, then start time, then span ID. The keys
/// are compared as integers (comparing byte arrays went through memcmp for every comparison).
pub(crate) fn sort_for_segment(spans: &mut [&Span]) {
    let mut keyed: Vec<(u128, u64, u64, usize)> = spans
        .iter()
        .enumerate()
        .map(|(index, span)| {
            (
                u128::from_be_bytes(*span.trace_id.as_bytes()),
                span.start_time_unix_nanos,
                u64::from_be_bytes(*span.span_id.as_bytes()),
                index,
            )
        })
        .collect();
    keyed.sort_unstable();
    let sorted: Vec<&Span> = keyed.iter().map(|&(_, _, _, index)| spans[index]).collect();
    spans.copy_from_slice(&sorted);
}

/// Writes sorted spans to `path` (through a temporary file, fsynced, renamed). The caller
/// fsyncs the directory. Returns the file size.
pub(crate) fn write_segment(
    path: &Path,
    spans: &[&Span],
    options: SegmentWriteOptions,
) -> Result<u64, StoreError> {
    let temporary = path.with_extension("parquet.tmp");
    let file = File::create(&temporary).map_err(|error| StoreError::io(&temporary, error))?;
    let properties = writer_properties(options, spans.len())?;
    let mut writer = ArrowWriter::try_new(file, schema::SCHEMA.clone(), Some(properties))
        .map_err(|error| StoreError::encoding(&temporary, error))?;
    let mut encoder = ParentEncoder::default();
    let links: Vec<ParentLink> = spans
        .iter()
        .map(|span| encoder.encode(span.trace_id, span.span_id, span.parent_span_id))
        .collect();
    for (chunk, chunk_links) in spans.chunks(16 * 1024).zip(links.chunks(16 * 1024)) {
        let batch = schema::spans_to_batch(chunk, chunk_links)?;
        writer
            .write(&batch)
            .map_err(|error| StoreError::encoding(&temporary, error))?;
    }
    let file = writer
        .into_inner()
        .map_err(|error| StoreError::encoding(&temporary, error))?;
    file.sync_all()
        .map_err(|error| StoreError::io(&temporary, error))?;
    let bytes = file
        .metadata()
        .map_err(|error| StoreError::io(&temporary, error))?
        .len();
    drop(file);
    std::fs::rename(&temporary, path).map_err(|error| StoreError::io(path, error))?;
    Ok(bytes)
}

/// Writes record batches already in segment order (compaction's merge output).
pub(crate) struct SegmentBatchWriter {
    temporary: PathBuf,
    path: PathBuf,
    writer: ArrowWriter<File>,
}

impl SegmentBatchWriter {
    pub(crate) fn create(
        path: &Path,
        options: SegmentWriteOptions,
        expected_rows: usize,
    ) -> Result<Self, StoreError> {
        let temporary = path.with_extension("parquet.tmp");
        let file = File::create(&temporary).map_err(|error| StoreError::io(&temporary, error))?;
        let writer = ArrowWriter::try_new(
            file,
            schema::SCHEMA.clone(),
            Some(writer_properties(options, expected_rows)?),
        )
        .map_err(|error| StoreError::encoding(&temporary, error))?;
        Ok(SegmentBatchWriter {
            temporary,
            path: path.to_owned(),
            writer,
        })
    }

    pub(crate) fn write(&mut self, batch: &RecordBatch) -> Result<(), StoreError> {
        self.writer
            .write(batch)
            .map_err(|error| StoreError::encoding(&self.temporary, error))
    }

    pub(crate) fn finish(self) -> Result<u64, StoreError> {
        let file = self
            .writer
            .into_inner()
            .map_err(|error| StoreError::encoding(&self.temporary, error))?;
        file.sync_all()
            .map_err(|error| StoreError::io(&self.temporary, error))?;
        let bytes = file
            .metadata()
            .map_err(|error| StoreError::io(&self.temporary, error))?
            .len();
        drop(file);
        std::fs::rename(&self.temporary, &self.path)
            .map_err(|error| StoreError::io(&self.path, error))?;
        Ok(bytes)
    }
}

/// An open segment: its Parquet metadata (with page index) and Bloom filters, loaded once.
pub(crate) struct Segment {
    path: PathBuf,
    metadata: ArrowReaderMetadata,
    trace_id_leaf: usize,
    business_keys_leaf: usize,
    start_leaf: usize,
    trace_blooms: OnceLock<Vec<Option<Sbbf>>>,
    business_blooms: OnceLock<Vec<Option<Sbbf>>>,
}

impl Segment {
    /// Opens a segment; a file the Parquet reader panics on is reported as corrupt.
    pub(crate) fn open(path: PathBuf) -> Result<Arc<Segment>, StoreError> {
        let shown = path.clone();
        guard_reads(&shown, || Self::open_unguarded(path))
    }

    fn open_unguarded(path: PathBuf) -> Result<Arc<Segment>, StoreError> {
        let file = File::open(&path).map_err(|error| StoreError::io(&path, error))?;
        let metadata = ArrowReaderMetadata::load(
            &file,
            ArrowReaderOptions::new().with_page_index_policy(PageIndexPolicy::Optional),
        )
        .map_err(|error| StoreError::encoding(&path, error))?;
        let descriptor = metadata.metadata().file_metadata().schema_descr_ptr();
        let find_leaf = |wanted: &ColumnPath| {
            descriptor
                .columns()
                .iter()
                .position(|column| column.path() == wanted)
                .ok_or_else(|| {
                    StoreError::Corrupt(format!("{} lacks column {wanted}", path.display()))
                })
        };
        Ok(Arc::new(Segment {
            trace_id_leaf: find_leaf(&leaf(&[schema::TRACE_ID]))?,
            business_keys_leaf: find_leaf(&business_keys_leaf())?,
            start_leaf: find_leaf(&leaf(&[schema::START_TIME]))?,
            path,
            metadata,
            trace_blooms: OnceLock::new(),
            business_blooms: OnceLock::new(),
        }))
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    fn builder(&self) -> Result<ParquetRecordBatchReaderBuilder<File>, StoreError> {
        let file = File::open(&self.path).map_err(|error| StoreError::io(&self.path, error))?;
        Ok(ParquetRecordBatchReaderBuilder::new_with_metadata(
            file,
            self.metadata.clone(),
        ))
    }

    fn load_blooms(&self, leaf_index: usize) -> Result<Vec<Option<Sbbf>>, StoreError> {
        let builder = self.builder()?;
        (0..self.metadata.metadata().num_row_groups())
            .map(|row_group| {
                builder
                    .get_row_group_column_bloom_filter(row_group, leaf_index)
                    .map_err(|error| StoreError::encoding(&self.path, error))
            })
            .collect()
    }

    fn blooms<'a>(
        &self,
        cell: &'a OnceLock<Vec<Option<Sbbf>>>,
        leaf_index: usize,
    ) -> Result<&'a [Option<Sbbf>], StoreError> {
        if let Some(blooms) = cell.get() {
            return Ok(blooms);
        }
        let loaded = self.load_blooms(leaf_index)?;
        Ok(cell.get_or_init(|| loaded))
    }

    fn row_group_trace_range(&self, row_group: usize) -> Option<(&[u8], &[u8])> {
        match self
            .metadata
            .metadata()
            .row_group(row_group)
            .column(self.trace_id_leaf)
            .statistics()
        {
            Some(Statistics::FixedLenByteArray(statistics)) => {
                Some((statistics.min_bytes_opt()?, statistics.max_bytes_opt()?))
            }
            _ => None,
        }
    }

    fn row_group_start_range(&self, row_group: usize) -> Option<(i64, i64)> {
        match self
            .metadata
            .metadata()
            .row_group(row_group)
            .column(self.start_leaf)
            .statistics()
        {
            Some(Statistics::Int64(statistics)) => {
                Some((*statistics.min_opt()?, *statistics.max_opt()?))
            }
            _ => None,
        }
    }

    /// Rows of a row group whose trace-ID pages may hold `trace_id`, from the page index.
    fn pages_holding(&self, row_group: usize, trace_id: &[u8]) -> Option<RowSelection> {
        let page_index = self.metadata.metadata().page_index_for_row_group(row_group);
        let column_index = page_index.column_index(self.trace_id_leaf)?;
        let offset_index = page_index.offset_index(self.trace_id_leaf)?;
        let parquet::file::page_index::column_index::ColumnIndexMetaData::FIXED_LEN_BYTE_ARRAY(
            index,
        ) = column_index
        else {
            return None;
        };
        let row_count =
            usize::try_from(self.metadata.metadata().row_group(row_group).num_rows()).ok()?;
        let locations = offset_index.page_locations();
        let mut selectors = Vec::new();
        let mut covered = 0usize;
        for (page, location) in locations.iter().enumerate() {
            let first = usize::try_from(location.first_row_index).ok()?;
            let next = locations.get(page + 1).map_or(Some(row_count), |next| {
                usize::try_from(next.first_row_index).ok()
            })?;
            let may_hold = match (index.min_value(page), index.max_value(page)) {
                (Some(min), Some(max)) => min <= trace_id && trace_id <= max,
                _ => true,
            };
            if may_hold {
                if first > covered {
                    selectors.push(RowSelector::skip(first - covered));
                }
                selectors.push(RowSelector::select(next - first));
                covered = next;
            }
        }
        if covered < row_count {
            selectors.push(RowSelector::skip(row_count - covered));
        }
        Some(RowSelection::from(selectors))
    }

    /// The spans of one trace in this segment.
    /// Stops after about `max_rows` spans (whole batches), so a runaway trace cannot exhaust
    /// memory.
    pub(crate) fn find_trace(
        &self,
        trace_id: &TraceId,
        options: &ConversionOptions,
        heads_only: bool,
        max_rows: usize,
    ) -> Result<SegmentTrace, StoreError> {
        guard_reads(&self.path, || {
            self.find_trace_unguarded(trace_id, options, heads_only, max_rows)
        })
    }

    fn find_trace_unguarded(
        &self,
        trace_id: &TraceId,
        options: &ConversionOptions,
        heads_only: bool,
        max_rows: usize,
    ) -> Result<SegmentTrace, StoreError> {
        let wanted = trace_id.as_bytes();
        let mut found = SegmentTrace::default();
        // The trace's rows are contiguous and read in order (across row groups too), as the
        // parents' row offsets need.
        let mut resolver = ParentResolver::default();
        let blooms = self.blooms(&self.trace_blooms, self.trace_id_leaf)?;
        for row_group in 0..self.metadata.metadata().num_row_groups() {
            if let Some((min, max)) = self.row_group_trace_range(row_group) {
                if &wanted[..] < min || &wanted[..] > max {
                    continue;
                }
            }
            if let Some(Some(bloom)) = blooms.get(row_group) {
                if !bloom.check(&wanted[..]) {
                    continue;
                }
            }
            let mut builder = self.builder()?.with_row_groups(vec![row_group]);
            if let Some(selection) = self.pages_holding(row_group, wanted) {
                builder = builder.with_row_selection(selection);
            }
            if heads_only {
                builder = builder.with_projection(head_projection(&self.metadata));
            }
            let reader = builder
                .build()
                .map_err(|error| StoreError::encoding(&self.path, error))?;
            for batch in reader {
                if found.spans.len() + found.heads.len() >= max_rows {
                    return Ok(found);
                }
                let batch = batch.map_err(|error| {
                    StoreError::encoding(&self.path, parquet::errors::ParquetError::from(error))
                })?;
                let columns = BatchColumns::new(&batch);
                let trace_ids = columns.trace_ids()?;
                let rows: Vec<usize> = (0..batch.num_rows())
                    .filter(|&row| trace_ids.value(row) == &wanted[..])
                    .collect();
                if rows.is_empty() {
                    continue;
                }
                let parents = resolve_parents(&columns, &rows, &mut resolver)?;
                if heads_only {
                    found.heads.extend(heads_of(&batch, rows, &parents)?);
                } else {
                    found
                        .spans
                        .extend(schema::batch_to_spans(&batch, rows, &parents, options)?);
                }
            }
        }
        Ok(found)
    }

    /// The row groups a search must read: those whose start-time range overlaps the query's,
    /// whose trace-ID range overlaps the prefix's, and whose business-key Bloom filter may hold
    /// the wanted key.
    pub(crate) fn row_groups_to_scan(
        &self,
        query: &SearchQuery,
        trace_ids: Option<&TraceIdRange>,
    ) -> Result<Vec<usize>, StoreError> {
        let business_blooms = match &query.business_key {
            Some(_) => Some(self.blooms(&self.business_blooms, self.business_keys_leaf)?),
            None => None,
        };
        let window = (
            query.start_unix_nanos.min(i64::MAX as u64).cast_signed(),
            query.end_unix_nanos.min(i64::MAX as u64).cast_signed(),
        );
        let mut row_groups = Vec::new();
        for row_group in 0..self.metadata.metadata().num_row_groups() {
            if let Some((min, max)) = self.row_group_start_range(row_group) {
                if max < window.0 || min > window.1 {
                    continue;
                }
            }
            if let (Some(range), Some((min, max))) =
                (trace_ids, self.row_group_trace_range(row_group))
            {
                if !range.overlaps(min, max) {
                    continue;
                }
            }
            if let (Some(blooms), Some(wanted)) = (business_blooms, &query.business_key) {
                if let Some(Some(bloom)) = blooms.get(row_group) {
                    if !bloom.check(wanted.as_str()) {
                        continue;
                    }
                }
            }
            row_groups.push(row_group);
        }
        Ok(row_groups)
    }

    /// Feeds every span of one row group that matches the query's span conditions to
    /// `on_match` (trace ID, start). Returns the number of spans looked at.
    pub(crate) fn scan_row_group(
        &self,
        row_group: usize,
        query: &SearchQuery,
        trace_ids: Option<&TraceIdRange>,
        on_match: &mut dyn FnMut(TraceId, u64),
    ) -> Result<u64, StoreError> {
        guard_reads(&self.path, || {
            self.scan_row_group_unguarded(row_group, query, trace_ids, on_match)
        })
    }

    fn scan_row_group_unguarded(
        &self,
        row_group: usize,
        query: &SearchQuery,
        trace_ids: Option<&TraceIdRange>,
        on_match: &mut dyn FnMut(TraceId, u64),
    ) -> Result<u64, StoreError> {
        let reader = self
            .builder()?
            .with_row_groups(vec![row_group])
            .with_projection(search_projection(&self.metadata, query))
            .with_batch_size(8 * 1024)
            .build()
            .map_err(|error| StoreError::encoding(&self.path, error))?;
        let mut scanned = 0u64;
        for batch in reader {
            let batch = batch.map_err(|error| {
                StoreError::encoding(&self.path, parquet::errors::ParquetError::from(error))
            })?;
            scanned += batch.num_rows() as u64;
            crate::matching::match_batch(&batch, query, trace_ids, on_match)?;
        }
        Ok(scanned)
    }

    /// The spans starting in `[start, end)` for which `wanted(trace ID, start)` holds, to
    /// `sink` batch by batch. Two passes: the trace-ID and start columns of every row group
    /// find the traces with a wanted span; then every row of those traces — contiguous, as
    /// segments sort by trace ID — is read (so stored parent links resolve), and only the
    /// wanted spans are kept. Returns the rows looked at.
    pub(crate) fn scan_wanted(
        &self,
        start_unix_nanos: u64,
        end_unix_nanos: u64,
        wanted: &mut dyn FnMut(&TraceId, u64) -> bool,
        options: &ConversionOptions,
        sink: &mut dyn FnMut(Vec<Span>) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        guard_reads(&self.path, || {
            self.scan_wanted_unguarded(start_unix_nanos, end_unix_nanos, wanted, options, sink)
        })
    }

    fn scan_wanted_unguarded(
        &self,
        start_unix_nanos: u64,
        end_unix_nanos: u64,
        wanted: &mut dyn FnMut(&TraceId, u64) -> bool,
        options: &ConversionOptions,
        sink: &mut dyn FnMut(Vec<Span>) -> Result<(), StoreError>,
    ) -> Result<u64, StoreError> {
        let in_range = |start: u64| start >= start_unix_nanos && start < end_unix_nanos;
        let row_groups = self.metadata.metadata().num_row_groups();
        let overlaps = |row_group: usize| {
            self.row_group_start_range(row_group)
                .is_none_or(|(min, max)| {
                    max.cast_unsigned() >= start_unix_nanos && min.cast_unsigned() < end_unix_nanos
                })
        };
        if !(0..row_groups).any(overlaps) {
            return Ok(0);
        }
        // Pass 1: the traces with a wanted span, and every row's trace ID in segment order.
        let reader = self
            .builder()?
            .with_projection(roots(
                &self.metadata,
                &[schema::TRACE_ID, schema::START_TIME],
            ))
            .with_batch_size(64 * 1024)
            .build()
            .map_err(|error| StoreError::encoding(&self.path, error))?;
        let mut row_trace_ids: Vec<TraceId> = Vec::new();
        let mut wanted_traces: std::collections::HashSet<TraceId> =
            std::collections::HashSet::new();
        for batch in reader {
            let batch = batch.map_err(|error| {
                StoreError::encoding(&self.path, parquet::errors::ParquetError::from(error))
            })?;
            let columns = BatchColumns::new(&batch);
            let trace_ids = columns.trace_ids()?;
            let starts = columns.starts()?;
            for row in 0..batch.num_rows() {
                let trace_id = schema::trace_id_at(trace_ids, row);
                let start = starts.value(row).cast_unsigned();
                if in_range(start) && !wanted_traces.contains(&trace_id) && wanted(&trace_id, start)
                {
                    wanted_traces.insert(trace_id);
                }
                row_trace_ids.push(trace_id);
            }
        }
        let scanned = row_trace_ids.len() as u64;
        if wanted_traces.is_empty() {
            return Ok(scanned);
        }
        // Pass 2: every row of those traces, in the row groups that hold any.
        let mut selected_groups = Vec::new();
        let mut selectors: Vec<RowSelector> = Vec::new();
        let mut first_row = 0usize;
        for row_group in 0..row_groups {
            let rows = self.metadata.metadata().row_group(row_group).num_rows() as usize;
            let group_rows = &row_trace_ids[first_row..first_row + rows];
            first_row += rows;
            if !group_rows.iter().any(|id| wanted_traces.contains(id)) {
                continue;
            }
            selected_groups.push(row_group);
            for trace_id in group_rows {
                let select = wanted_traces.contains(trace_id);
                match selectors.last_mut() {
                    Some(last) if last.skip != select => last.row_count += 1,
                    _ => selectors.push(if select {
                        RowSelector::select(1)
                    } else {
                        RowSelector::skip(1)
                    }),
                }
            }
        }
        let reader = self
            .builder()?
            .with_row_groups(selected_groups)
            .with_row_selection(RowSelection::from(selectors))
            .with_batch_size(8 * 1024)
            .build()
            .map_err(|error| StoreError::encoding(&self.path, error))?;
        let mut resolver = ParentResolver::default();
        for batch in reader {
            let batch = batch.map_err(|error| {
                StoreError::encoding(&self.path, parquet::errors::ParquetError::from(error))
            })?;
            let columns = BatchColumns::new(&batch);
            let rows: Vec<usize> = (0..batch.num_rows()).collect();
            let parents = resolve_parents(&columns, &rows, &mut resolver)?;
            let starts = columns.starts()?;
            let trace_ids = columns.trace_ids()?;
            let (kept_rows, kept_parents): (Vec<usize>, Vec<Option<SpanId>>) = rows
                .into_iter()
                .zip(parents)
                .filter(|(row, _)| {
                    let start = starts.value(*row).cast_unsigned();
                    in_range(start) && wanted(&schema::trace_id_at(trace_ids, *row), start)
                })
                .unzip();
            if !kept_rows.is_empty() {
                sink(schema::batch_to_spans(
                    &batch,
                    kept_rows,
                    &kept_parents,
                    options,
                )?)?;
            }
        }
        Ok(scanned)
    }

    /// Every row, all columns, in segment order (compaction input).
    pub(crate) fn read_all(
        &self,
        batch_rows: usize,
    ) -> Result<parquet::arrow::arrow_reader::ParquetRecordBatchReader, StoreError> {
        self.builder()?
            .with_batch_size(batch_rows)
            .build()
            .map_err(|error| StoreError::encoding(&self.path, error))
    }
}

#[derive(Default)]
pub(crate) struct SegmentTrace {
    pub spans: Vec<Span>,
    pub heads: Vec<SpanHead>,
}

fn roots(metadata: &ArrowReaderMetadata, names: &[&str]) -> ProjectionMask {
    let indices: Vec<usize> = names
        .iter()
        .map(|name| schema::column_index(name))
        .collect();
    ProjectionMask::roots(metadata.metadata().file_metadata().schema_descr(), indices)
}

const HEAD_COLUMNS: [&str; 8] = [
    schema::TRACE_ID,
    schema::SPAN_ID,
    schema::PARENT_SPAN_ID,
    schema::PARENT_ROW_OFFSET,
    schema::START_TIME,
    schema::DURATION,
    schema::SERVICE_NAME,
    schema::NAME,
];

fn head_projection(metadata: &ArrowReaderMetadata) -> ProjectionMask {
    let mut names = HEAD_COLUMNS.to_vec();
    names.push(schema::STATUS_CODE);
    roots(metadata, &names)
}

/// The leaves a search reads: the head columns its conditions test and, for attribute
/// conditions, the attribute keys plus only the value fields the wanted values could match.
fn search_projection(metadata: &ArrowReaderMetadata, query: &SearchQuery) -> ProjectionMask {
    let descriptor = metadata.metadata().file_metadata().schema_descr();
    let mut wanted: Vec<Vec<&str>> = [
        schema::TRACE_ID,
        schema::PARENT_SPAN_ID,
        schema::PARENT_ROW_OFFSET,
        schema::START_TIME,
        schema::DURATION,
        schema::SERVICE_NAME,
        schema::NAME,
        schema::KIND,
        schema::STATUS_CODE,
    ]
    .iter()
    .map(|name| vec![*name])
    .collect();
    if !query.attributes.is_empty() {
        wanted.push(vec![schema::RESOURCE]);
        let item = |field: &'static str| vec![schema::ATTRIBUTES, "list", "item", field];
        wanted.push(item("key"));
        wanted.push(item("str"));
        let parses = |check: fn(&str) -> bool| query.attributes.iter().any(|(_, v)| check(v));
        if parses(|v| v.parse::<i64>().is_ok()) {
            wanted.push(item("int"));
        }
        if parses(|v| v.parse::<f64>().is_ok()) {
            wanted.push(item("double"));
        }
        if parses(|v| v.parse::<bool>().is_ok()) {
            wanted.push(item("bool"));
        }
    }
    if query.business_key.is_some() {
        wanted.push(vec![schema::BUSINESS_KEYS, "list", "item"]);
    }
    let leaves: Vec<usize> = descriptor
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, column)| {
            let path = column.path().parts();
            wanted.iter().any(|parts| {
                parts.len() == path.len() && parts.iter().zip(path).all(|(a, b)| a == b)
            })
        })
        .map(|(index, _)| index)
        .collect();
    ProjectionMask::leaves(descriptor, leaves)
}

/// The parents of `rows` (in order, all of one trace or in segment order), resolved from
/// their stored links.
pub(crate) fn resolve_parents(
    columns: &BatchColumns<'_>,
    rows: &[usize],
    resolver: &mut ParentResolver,
) -> Result<Vec<Option<SpanId>>, StoreError> {
    let trace_ids = columns.trace_ids()?;
    let span_ids = columns.span_ids()?;
    rows.iter()
        .map(|&row| {
            resolver.resolve(
                schema::trace_id_at(trace_ids, row),
                schema::span_id_at(span_ids, row),
                columns.parent_link(row)?,
            )
        })
        .collect()
}

fn heads_of(
    batch: &RecordBatch,
    rows: Vec<usize>,
    parents: &[Option<SpanId>],
) -> Result<Vec<SpanHead>, StoreError> {
    let columns = BatchColumns::new(batch);
    let span_ids = columns.span_ids()?;
    let starts = columns.starts()?;
    let durations = columns.durations()?;
    let services = columns.services()?;
    let names = columns.names()?;
    let status_codes = columns.status_codes()?;
    Ok(rows
        .into_iter()
        .zip(parents)
        .map(|(row, parent)| {
            let start = starts.value(row).cast_unsigned();
            SpanHead {
                span_id: schema::span_id_at(span_ids, row),
                parent_span_id: *parent,
                service_name: schema::dictionary_text(services, row).to_owned(),
                name: schema::dictionary_text(names, row).to_owned(),
                start_unix_nanos: start,
                end_unix_nanos: start.wrapping_add(durations.value(row).cast_unsigned()),
                is_error: status_codes.value(row) == weft_model::StatusCode::Error.to_otlp(),
            }
        })
        .collect())
}

/// Runs a read of a segment file, turning a panic inside the Parquet reader into an error: the
/// `parquet` crate panics on some malformed files (found by the `segment_file` fuzz target), and
/// a damaged file on disk must fail its query, not take a thread of the server down.
pub(crate) fn guard_reads<T>(
    path: &Path,
    read: impl FnOnce() -> Result<T, StoreError>,
) -> Result<T, StoreError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|panic| {
        let reason = panic
            .downcast_ref::<&str>()
            .map(|text| (*text).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown".to_owned());
        tracing::error!(file = %path.display(), %reason, "reading a segment panicked");
        Err(StoreError::Corrupt(format!(
            "{}: the parquet reader failed: {reason}",
            path.display()
        )))
    })
}

/// Opens `path` as a segment and decodes every row into spans; returns the span count.
pub(crate) fn read_every_span(
    path: &Path,
    options: &ConversionOptions,
) -> Result<usize, StoreError> {
    guard_reads(path, || read_every_span_unguarded(path, options))
}

fn read_every_span_unguarded(
    path: &Path,
    options: &ConversionOptions,
) -> Result<usize, StoreError> {
    let segment = Segment::open(path.to_owned())?;
    let mut spans = 0;
    let mut resolver = ParentResolver::default();
    for batch in segment.read_all(1024)? {
        let batch = batch.map_err(|error| {
            StoreError::encoding(path, parquet::errors::ParquetError::from(error))
        })?;
        let rows: Vec<usize> = (0..batch.num_rows()).collect();
        let parents = resolve_parents(&BatchColumns::new(&batch), &rows, &mut resolver)?;
        spans += schema::batch_to_spans(&batch, rows, &parents, options)?.len();
    }
    Ok(spans)
}
