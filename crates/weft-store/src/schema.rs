//! The segment schema: one Parquet row per span, documented for ad-hoc readers (DuckDB, pandas)
//! in `docs/segment-schema.md`. Indexed fields are columns; span attributes are a list of typed
//! key/value structs; the rarely present events and links, the resource and the scope are
//! OTLP protobuf blobs (resource and scope dictionary-encoded, so a row group stores each
//! distinct one once).

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use arrow_array::builder::{BinaryDictionaryBuilder, StringDictionaryBuilder};
use arrow_array::types::Int32Type;
use arrow_array::{
    Array, ArrayRef, BinaryArray, BooleanArray, DictionaryArray, FixedSizeBinaryArray,
    Float64Array, Int32Array, Int64Array, Int8Array, ListArray, RecordBatch, StringArray,
    StructArray, TimestampNanosecondArray, UInt32Array,
};
use arrow_buffer::OffsetBuffer;
use arrow_schema::{DataType, Field, Fields, Schema, SchemaRef, TimeUnit};
use weft_codec::ConversionOptions;
use weft_model::{
    AttributeValue, InstrumentationScope, KeyValue, Resource, Span, SpanId, SpanKind, Status,
    StatusCode, TraceId,
};

use crate::parents::ParentLink;
use crate::StoreError;

pub(crate) const TRACE_ID: &str = "trace_id";
pub(crate) const SPAN_ID: &str = "span_id";
pub(crate) const PARENT_SPAN_ID: &str = "parent_span_id";
pub(crate) const PARENT_ROW_OFFSET: &str = "parent_row_offset";
pub(crate) const START_TIME: &str = "start_time_unix_nano";
pub(crate) const DURATION: &str = "duration_nanos";
pub(crate) const SERVICE_NAME: &str = "service_name";
pub(crate) const NAME: &str = "name";
pub(crate) const KIND: &str = "kind";
pub(crate) const STATUS_CODE: &str = "status_code";
pub(crate) const STATUS_MESSAGE: &str = "status_message";
pub(crate) const TRACE_STATE: &str = "trace_state";
pub(crate) const FLAGS: &str = "flags";
pub(crate) const DROPPED_ATTRIBUTES: &str = "dropped_attributes_count";
pub(crate) const ATTRIBUTES: &str = "attributes";
pub(crate) const DETAIL: &str = "detail";
pub(crate) const RESOURCE: &str = "resource";
pub(crate) const SCOPE: &str = "scope";
pub(crate) const BUSINESS_KEYS: &str = "business_keys";

/// Attribute value types in the `attributes.type` column.
use weft_codec::attribute_value_type::{
    ARRAY as VALUE_ARRAY, BOOL as VALUE_BOOL, BYTES as VALUE_BYTES, DOUBLE as VALUE_DOUBLE,
    EMPTY as VALUE_EMPTY, INT as VALUE_INT, MAP as VALUE_MAP, STRING as VALUE_STRING,
};

fn attribute_fields() -> Fields {
    Fields::from(vec![
        Field::new("key", DataType::Utf8, false),
        Field::new("type", DataType::Int8, false),
        Field::new("str", DataType::Utf8, true),
        Field::new("int", DataType::Int64, true),
        Field::new("double", DataType::Float64, true),
        Field::new("bool", DataType::Boolean, true),
        Field::new("bytes", DataType::Binary, true),
    ])
}

fn dictionary_of(value_type: DataType) -> DataType {
    DataType::Dictionary(Box::new(DataType::Int32), Box::new(value_type))
}

pub(crate) static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
    Arc::new(Schema::new(vec![
        Field::new(TRACE_ID, DataType::FixedSizeBinary(16), false),
        Field::new(SPAN_ID, DataType::FixedSizeBinary(8), false),
        Field::new(PARENT_SPAN_ID, DataType::FixedSizeBinary(8), true),
        Field::new(PARENT_ROW_OFFSET, DataType::UInt32, true),
        Field::new(
            START_TIME,
            DataType::Timestamp(TimeUnit::Nanosecond, Some("UTC".into())),
            false,
        ),
        Field::new(DURATION, DataType::Int64, false),
        Field::new(SERVICE_NAME, dictionary_of(DataType::Utf8), false),
        Field::new(NAME, dictionary_of(DataType::Utf8), false),
        Field::new(KIND, DataType::Int32, false),
        Field::new(STATUS_CODE, DataType::Int32, false),
        Field::new(STATUS_MESSAGE, DataType::Utf8, false),
        Field::new(TRACE_STATE, DataType::Utf8, false),
        Field::new(FLAGS, DataType::UInt32, false),
        Field::new(DROPPED_ATTRIBUTES, DataType::UInt32, false),
        Field::new(
            ATTRIBUTES,
            DataType::List(Arc::new(Field::new(
                "item",
                DataType::Struct(attribute_fields()),
                false,
            ))),
            false,
        ),
        Field::new(DETAIL, DataType::Binary, true),
        Field::new(RESOURCE, dictionary_of(DataType::Binary), false),
        Field::new(SCOPE, dictionary_of(DataType::Binary), false),
        Field::new(
            BUSINESS_KEYS,
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, false))),
            false,
        ),
    ]))
});

/// Index of a top-level column in [`SCHEMA`].
pub(crate) fn column_index(name: &str) -> usize {
    SCHEMA.index_of(name).expect("column of the segment schema")
}

/// Builds a record batch from spans, in the order given, with their parents as `links` (see
/// `parents.rs`).
pub(crate) fn spans_to_batch(
    spans: &[&Span],
    links: &[ParentLink],
) -> Result<RecordBatch, StoreError> {
    let row_count = spans.len();
    let trace_ids =
        FixedSizeBinaryArray::try_from_iter(spans.iter().map(|span| span.trace_id.as_bytes()))
            .map_err(arrow_error)?;
    let span_ids =
        FixedSizeBinaryArray::try_from_iter(spans.iter().map(|span| span.span_id.as_bytes()))
            .map_err(arrow_error)?;
    let (parent_span_ids, parent_row_offsets) = parent_columns(links)?;
    let starts = TimestampNanosecondArray::from_iter_values(
        spans
            .iter()
            .map(|span| span.start_time_unix_nanos.cast_signed()),
    )
    .with_timezone("UTC");
    // End minus start, wrapping: an end before the start (clock trouble) survives as a negative.
    let durations = Int64Array::from_iter_values(spans.iter().map(|span| {
        span.end_time_unix_nanos
            .wrapping_sub(span.start_time_unix_nanos)
            .cast_signed()
    }));
    let mut services = StringDictionaryBuilder::<Int32Type>::new();
    let mut names = StringDictionaryBuilder::<Int32Type>::new();
    for span in spans {
        services.append_value(&span.service_name);
        names.append_value(&span.name);
    }
    let kinds = Int32Array::from_iter_values(spans.iter().map(|span| span.kind.to_otlp()));
    let status_codes =
        Int32Array::from_iter_values(spans.iter().map(|span| span.status.code.to_otlp()));
    let status_messages =
        StringArray::from_iter_values(spans.iter().map(|span| span.status.message.as_str()));
    let trace_states =
        StringArray::from_iter_values(spans.iter().map(|span| span.trace_state.as_str()));
    let flags = UInt32Array::from_iter_values(spans.iter().map(|span| span.flags));
    let dropped_attributes =
        UInt32Array::from_iter_values(spans.iter().map(|span| span.dropped_attributes_count));
    let attributes = attributes_to_array(spans)?;
    let details: BinaryArray = spans
        .iter()
        .map(|span| weft_codec::encode_span_detail(span))
        .collect();

    // Spans of one batch share their resource and scope `Arc`s; encode each distinct one once.
    let mut resources = BinaryDictionaryBuilder::<Int32Type>::new();
    let mut scopes = BinaryDictionaryBuilder::<Int32Type>::new();
    let mut encoded_resources: HashMap<*const Resource, Vec<u8>> = HashMap::new();
    let mut encoded_scopes: HashMap<*const InstrumentationScope, Vec<u8>> = HashMap::new();
    for span in spans {
        let resource = encoded_resources
            .entry(Arc::as_ptr(&span.resource))
            .or_insert_with(|| weft_codec::encode_resource(&span.resource));
        resources.append_value(resource);
        let scope = encoded_scopes
            .entry(Arc::as_ptr(&span.scope))
            .or_insert_with(|| weft_codec::encode_scope(&span.scope));
        scopes.append_value(scope);
    }

    let mut business_offsets = Vec::with_capacity(row_count + 1);
    business_offsets.push(0i32);
    let mut business_values = Vec::new();
    for span in spans {
        for key in &span.business_keys {
            business_values.push(key.value.as_str());
        }
        business_offsets.push(offset_i32(business_values.len())?);
    }
    let business_keys = ListArray::try_new(
        Arc::new(Field::new("item", DataType::Utf8, false)),
        OffsetBuffer::new(business_offsets.into()),
        Arc::new(StringArray::from(business_values)),
        None,
    )
    .map_err(arrow_error)?;

    let columns: Vec<ArrayRef> = vec![
        Arc::new(trace_ids),
        Arc::new(span_ids),
        Arc::new(parent_span_ids),
        Arc::new(parent_row_offsets),
        Arc::new(starts),
        Arc::new(durations),
        Arc::new(services.finish()),
        Arc::new(names.finish()),
        Arc::new(kinds),
        Arc::new(status_codes),
        Arc::new(status_messages),
        Arc::new(trace_states),
        Arc::new(flags),
        Arc::new(dropped_attributes),
        Arc::new(attributes),
        Arc::new(details),
        Arc::new(resources.finish()),
        Arc::new(scopes.finish()),
        Arc::new(business_keys),
    ];
    RecordBatch::try_new(SCHEMA.clone(), columns).map_err(arrow_error)
}

/// The two parent columns for rows with these links.
pub(crate) fn parent_columns(
    links: &[ParentLink],
) -> Result<(FixedSizeBinaryArray, UInt32Array), StoreError> {
    let explicit = FixedSizeBinaryArray::try_from_sparse_iter_with_size(
        links
            .iter()
            .map(|link| link.explicit().map(|id| *id.as_bytes())),
        8,
    )
    .map_err(arrow_error)?;
    let rows_back: UInt32Array = links.iter().map(|link| link.rows_back()).collect();
    Ok((explicit, rows_back))
}

fn offset_i32(length: usize) -> Result<i32, StoreError> {
    i32::try_from(length)
        .map_err(|_| StoreError::Corrupt("segment batch exceeds 2^31 list entries".into()))
}

pub(crate) fn arrow_error(error: arrow_schema::ArrowError) -> StoreError {
    StoreError::Corrupt(format!("arrow: {error}"))
}

fn attributes_to_array(spans: &[&Span]) -> Result<ListArray, StoreError> {
    let attribute_count: usize = spans.iter().map(|span| span.attributes.len()).sum();
    let mut offsets = Vec::with_capacity(spans.len() + 1);
    offsets.push(0i32);
    let mut keys = Vec::with_capacity(attribute_count);
    let mut types = Vec::with_capacity(attribute_count);
    let mut strings: Vec<Option<&str>> = Vec::with_capacity(attribute_count);
    let mut ints = Vec::with_capacity(attribute_count);
    let mut doubles = Vec::with_capacity(attribute_count);
    let mut bools = Vec::with_capacity(attribute_count);
    let mut bytes: Vec<Option<Vec<u8>>> = Vec::with_capacity(attribute_count);
    for span in spans {
        for attribute in &span.attributes {
            keys.push(attribute.key.as_str());
            let (value_type, string, int, double, boolean, raw) = match &attribute.value {
                AttributeValue::Empty => (VALUE_EMPTY, None, None, None, None, None),
                AttributeValue::String(text) => {
                    (VALUE_STRING, Some(text.as_str()), None, None, None, None)
                }
                AttributeValue::Bool(flag) => (VALUE_BOOL, None, None, None, Some(*flag), None),
                AttributeValue::Int(number) => (VALUE_INT, None, Some(*number), None, None, None),
                AttributeValue::Double(number) => {
                    (VALUE_DOUBLE, None, None, Some(*number), None, None)
                }
                AttributeValue::Bytes(raw) => {
                    (VALUE_BYTES, None, None, None, None, Some(raw.clone()))
                }
                AttributeValue::Array(_) => (
                    VALUE_ARRAY,
                    None,
                    None,
                    None,
                    None,
                    Some(weft_codec::encode_any_value(&attribute.value)),
                ),
                AttributeValue::Map(_) => (
                    VALUE_MAP,
                    None,
                    None,
                    None,
                    None,
                    Some(weft_codec::encode_any_value(&attribute.value)),
                ),
            };
            types.push(value_type);
            strings.push(string);
            ints.push(int);
            doubles.push(double);
            bools.push(boolean);
            bytes.push(raw);
        }
        offsets.push(offset_i32(keys.len())?);
    }
    let children: Vec<ArrayRef> = vec![
        Arc::new(StringArray::from(keys)),
        Arc::new(Int8Array::from(types)),
        Arc::new(StringArray::from(strings)),
        Arc::new(Int64Array::from(ints)),
        Arc::new(Float64Array::from(doubles)),
        Arc::new(BooleanArray::from(bools)),
        Arc::new(BinaryArray::from_iter(bytes)),
    ];
    let entries = StructArray::try_new(attribute_fields(), children, None).map_err(arrow_error)?;
    ListArray::try_new(
        Arc::new(Field::new(
            "item",
            DataType::Struct(attribute_fields()),
            false,
        )),
        OffsetBuffer::new(offsets.into()),
        Arc::new(entries),
        None,
    )
    .map_err(arrow_error)
}

/// Typed views of a batch read back from a segment, any subset of columns projected.
pub(crate) struct BatchColumns<'a> {
    batch: &'a RecordBatch,
}

impl<'a> BatchColumns<'a> {
    pub(crate) fn new(batch: &'a RecordBatch) -> Self {
        BatchColumns { batch }
    }

    fn column(&self, name: &str) -> Result<&'a ArrayRef, StoreError> {
        self.batch
            .column_by_name(name)
            .ok_or_else(|| StoreError::Corrupt(format!("segment lacks column {name}")))
    }

    fn typed<T: 'static>(&self, name: &str) -> Result<&'a T, StoreError> {
        self.column(name)?
            .as_any()
            .downcast_ref::<T>()
            .ok_or_else(|| StoreError::Corrupt(format!("column {name} has an unexpected type")))
    }

    pub(crate) fn trace_ids(&self) -> Result<&'a FixedSizeBinaryArray, StoreError> {
        self.typed(TRACE_ID)
    }
    pub(crate) fn span_ids(&self) -> Result<&'a FixedSizeBinaryArray, StoreError> {
        self.typed(SPAN_ID)
    }
    pub(crate) fn parent_span_ids(&self) -> Result<&'a FixedSizeBinaryArray, StoreError> {
        self.typed(PARENT_SPAN_ID)
    }
    pub(crate) fn parent_row_offsets(&self) -> Result<&'a UInt32Array, StoreError> {
        self.typed(PARENT_ROW_OFFSET)
    }
    /// Whether the row is a root span (no parent of either kind).
    pub(crate) fn is_root(
        explicit: &FixedSizeBinaryArray,
        rows_back: &UInt32Array,
        row: usize,
    ) -> bool {
        explicit.is_null(row) && rows_back.is_null(row)
    }
    /// The row's parent link, as stored.
    pub(crate) fn parent_link(&self, row: usize) -> Result<ParentLink, StoreError> {
        let explicit = self.parent_span_ids()?;
        let rows_back = self.parent_row_offsets()?;
        Ok(if explicit.is_valid(row) {
            ParentLink::Explicit(span_id_at(explicit, row))
        } else if rows_back.is_valid(row) {
            ParentLink::RowsBack(rows_back.value(row))
        } else {
            ParentLink::Root
        })
    }
    pub(crate) fn starts(&self) -> Result<&'a TimestampNanosecondArray, StoreError> {
        self.typed(START_TIME)
    }
    pub(crate) fn durations(&self) -> Result<&'a Int64Array, StoreError> {
        self.typed(DURATION)
    }
    pub(crate) fn services(&self) -> Result<&'a DictionaryArray<Int32Type>, StoreError> {
        self.typed(SERVICE_NAME)
    }
    pub(crate) fn names(&self) -> Result<&'a DictionaryArray<Int32Type>, StoreError> {
        self.typed(NAME)
    }
    pub(crate) fn kinds(&self) -> Result<&'a Int32Array, StoreError> {
        self.typed(KIND)
    }
    pub(crate) fn status_codes(&self) -> Result<&'a Int32Array, StoreError> {
        self.typed(STATUS_CODE)
    }
    pub(crate) fn attributes(&self) -> Result<AttributeColumns<'a>, StoreError> {
        let list: &ListArray = self.typed(ATTRIBUTES)?;
        let entries = list
            .values()
            .as_any()
            .downcast_ref::<StructArray>()
            .ok_or_else(|| StoreError::Corrupt("attributes are not structs".into()))?;
        Ok(AttributeColumns {
            list,
            keys: typed_child(entries, 0)?,
            types: typed_child(entries, 1)?,
            strings: typed_child(entries, 2)?,
            ints: typed_child(entries, 3)?,
            doubles: typed_child(entries, 4)?,
            bools: typed_child(entries, 5)?,
            bytes: typed_child(entries, 6)?,
        })
    }
    /// The attribute columns a search reads: keys and whichever value fields were projected.
    pub(crate) fn attributes_for_matching(&self) -> Result<AttributeMatchColumns<'a>, StoreError> {
        let list: &ListArray = self.typed(ATTRIBUTES)?;
        let entries = list
            .values()
            .as_any()
            .downcast_ref::<StructArray>()
            .ok_or_else(|| StoreError::Corrupt("attributes are not structs".into()))?;
        fn field<'b, T: 'static>(entries: &'b StructArray, name: &str) -> Option<&'b T> {
            entries.column_by_name(name)?.as_any().downcast_ref::<T>()
        }
        Ok(AttributeMatchColumns {
            list,
            keys: field(entries, "key")
                .ok_or_else(|| StoreError::Corrupt("attribute keys missing".into()))?,
            strings: field(entries, "str"),
            ints: field(entries, "int"),
            doubles: field(entries, "double"),
            bools: field(entries, "bool"),
        })
    }
    pub(crate) fn business_keys(&self) -> Result<(&'a ListArray, &'a StringArray), StoreError> {
        let list: &ListArray = self.typed(BUSINESS_KEYS)?;
        let values = list
            .values()
            .as_any()
            .downcast_ref::<StringArray>()
            .ok_or_else(|| StoreError::Corrupt("business keys are not strings".into()))?;
        Ok((list, values))
    }
    pub(crate) fn resources(&self) -> Result<&'a DictionaryArray<Int32Type>, StoreError> {
        self.typed(RESOURCE)
    }
}

fn typed_child<T: 'static>(entries: &StructArray, index: usize) -> Result<&T, StoreError> {
    entries
        .column(index)
        .as_any()
        .downcast_ref::<T>()
        .ok_or_else(|| {
            StoreError::Corrupt(format!("attribute field {index} has an unexpected type"))
        })
}

/// The attribute list column, its struct fields downcast.
pub(crate) struct AttributeColumns<'a> {
    list: &'a ListArray,
    keys: &'a StringArray,
    types: &'a Int8Array,
    strings: &'a StringArray,
    ints: &'a Int64Array,
    doubles: &'a Float64Array,
    bools: &'a BooleanArray,
    bytes: &'a BinaryArray,
}

impl AttributeColumns<'_> {
    pub(crate) fn range(&self, row: usize) -> std::ops::Range<usize> {
        let offsets = self.list.value_offsets();
        offsets[row] as usize..offsets[row + 1] as usize
    }

    pub(crate) fn key(&self, entry: usize) -> &str {
        self.keys.value(entry)
    }

    pub(crate) fn value(&self, entry: usize) -> Result<AttributeValue, StoreError> {
        Ok(match self.types.value(entry) {
            VALUE_EMPTY => AttributeValue::Empty,
            VALUE_STRING => AttributeValue::String(self.strings.value(entry).to_owned()),
            VALUE_BOOL => AttributeValue::Bool(self.bools.value(entry)),
            VALUE_INT => AttributeValue::Int(self.ints.value(entry)),
            VALUE_DOUBLE => AttributeValue::Double(self.doubles.value(entry)),
            VALUE_BYTES => AttributeValue::Bytes(self.bytes.value(entry).to_vec()),
            VALUE_ARRAY | VALUE_MAP => weft_codec::decode_any_value(self.bytes.value(entry))
                .map_err(|error| StoreError::Corrupt(format!("attribute value: {error}")))?,
            other => {
                return Err(StoreError::Corrupt(format!(
                    "unknown attribute value type {other}"
                )))
            }
        })
    }
}

/// The attribute list as a search projects it: keys, and the value fields the query's values
/// can match (a value that is not a number needs no number column decoded).
pub(crate) struct AttributeMatchColumns<'a> {
    list: &'a ListArray,
    keys: &'a StringArray,
    strings: Option<&'a StringArray>,
    ints: Option<&'a Int64Array>,
    doubles: Option<&'a Float64Array>,
    bools: Option<&'a BooleanArray>,
}

impl AttributeMatchColumns<'_> {
    pub(crate) fn range(&self, row: usize) -> std::ops::Range<usize> {
        let offsets = self.list.value_offsets();
        offsets[row] as usize..offsets[row + 1] as usize
    }

    pub(crate) fn key(&self, entry: usize) -> &str {
        self.keys.value(entry)
    }

    /// Whether the entry's value equals a query's value (numbers and booleans by value), as
    /// `query::attribute_value_matches` decides for in-memory spans. Only one value field of an
    /// entry is set, so no type column is needed.
    pub(crate) fn value_equals(&self, entry: usize, wanted: &WantedValue<'_>) -> bool {
        if let Some(strings) = self.strings.filter(|strings| strings.is_valid(entry)) {
            let offsets = strings.value_offsets();
            let length = (offsets[entry + 1] - offsets[entry]) as usize;
            return length == wanted.text.len() && strings.value(entry) == wanted.text;
        }
        if let (Some(ints), Some(int)) = (self.ints, wanted.int) {
            if ints.is_valid(entry) {
                return ints.value(entry) == int;
            }
        }
        if let (Some(doubles), Some(double)) = (self.doubles, wanted.double) {
            if doubles.is_valid(entry) {
                return doubles.value(entry) == double;
            }
        }
        if let (Some(bools), Some(boolean)) = (self.bools, wanted.boolean) {
            if bools.is_valid(entry) {
                return bools.value(entry) == boolean;
            }
        }
        false
    }
}

/// A query's attribute value, parsed once into every type it could match.
pub(crate) struct WantedValue<'a> {
    pub text: &'a str,
    pub int: Option<i64>,
    pub double: Option<f64>,
    pub boolean: Option<bool>,
}

impl<'a> WantedValue<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        WantedValue {
            text,
            int: text.parse().ok(),
            double: text.parse().ok(),
            boolean: text.parse().ok(),
        }
    }
}

/// Decodes dictionary-encoded blobs (resources, scopes) once per distinct value.
struct DictionaryDecoder<T> {
    decoded: Vec<Option<Arc<T>>>,
}

impl<T> DictionaryDecoder<T> {
    fn new(dictionary: &DictionaryArray<Int32Type>) -> Self {
        DictionaryDecoder {
            decoded: vec![None; dictionary.values().len()],
        }
    }

    fn get(
        &mut self,
        dictionary: &DictionaryArray<Int32Type>,
        row: usize,
        decode: impl Fn(&[u8]) -> Result<T, weft_codec::CodecError>,
    ) -> Result<Arc<T>, StoreError> {
        let key = dictionary.keys().value(row) as usize;
        if let Some(value) = self.decoded.get(key).and_then(Option::as_ref) {
            return Ok(Arc::clone(value));
        }
        let values = dictionary
            .values()
            .as_any()
            .downcast_ref::<BinaryArray>()
            .ok_or_else(|| StoreError::Corrupt("dictionary values are not binary".into()))?;
        let value = Arc::new(
            decode(values.value(key))
                .map_err(|error| StoreError::Corrupt(format!("stored blob: {error}")))?,
        );
        self.decoded[key] = Some(Arc::clone(&value));
        Ok(value)
    }
}

pub(crate) fn dictionary_text(dictionary: &DictionaryArray<Int32Type>, row: usize) -> &str {
    let values = dictionary
        .values()
        .as_any()
        .downcast_ref::<StringArray>()
        .expect("string dictionary");
    values.value(dictionary.keys().value(row) as usize)
}

fn fixed_bytes<const N: usize>(array: &FixedSizeBinaryArray, row: usize) -> [u8; N] {
    let mut bytes = [0u8; N];
    bytes.copy_from_slice(array.value(row));
    bytes
}

pub(crate) fn trace_id_at(array: &FixedSizeBinaryArray, row: usize) -> TraceId {
    TraceId::from_bytes(fixed_bytes(array, row))
}

pub(crate) fn span_id_at(array: &FixedSizeBinaryArray, row: usize) -> SpanId {
    SpanId::from_bytes(fixed_bytes(array, row))
}

/// Rebuilds full spans from a batch holding every column, rows selected by `rows`, their
/// parents (resolved by the caller, see `parents.rs`) in `parents`, in the same order.
pub(crate) fn batch_to_spans(
    batch: &RecordBatch,
    rows: impl IntoIterator<Item = usize>,
    parents: &[Option<SpanId>],
    options: &ConversionOptions,
) -> Result<Vec<Span>, StoreError> {
    let columns = BatchColumns::new(batch);
    let trace_ids = columns.trace_ids()?;
    let span_ids = columns.span_ids()?;
    let starts = columns.starts()?;
    let durations = columns.durations()?;
    let names = columns.names()?;
    let kinds = columns.kinds()?;
    let status_codes = columns.status_codes()?;
    let status_messages: &StringArray = columns.typed(STATUS_MESSAGE)?;
    let trace_states: &StringArray = columns.typed(TRACE_STATE)?;
    let flags: &UInt32Array = columns.typed(FLAGS)?;
    let dropped_attributes: &UInt32Array = columns.typed(DROPPED_ATTRIBUTES)?;
    let attributes = columns.attributes()?;
    let details: &BinaryArray = columns.typed(DETAIL)?;
    let resources = columns.resources()?;
    let scopes: &DictionaryArray<Int32Type> = columns.typed(SCOPE)?;
    let mut resource_decoder = DictionaryDecoder::new(resources);
    let mut scope_decoder = DictionaryDecoder::new(scopes);

    let mut spans = Vec::new();
    for (index, row) in rows.into_iter().enumerate() {
        let start = starts.value(row).cast_unsigned();
        let mut span = Span {
            trace_id: trace_id_at(trace_ids, row),
            span_id: span_id_at(span_ids, row),
            parent_span_id: parents
                .get(index)
                .copied()
                .ok_or_else(|| StoreError::Corrupt("fewer parents than rows".into()))?,
            trace_state: trace_states.value(row).to_owned(),
            flags: flags.value(row),
            name: dictionary_text(names, row).to_owned(),
            kind: SpanKind::from_otlp(kinds.value(row)),
            start_time_unix_nanos: start,
            end_time_unix_nanos: start.wrapping_add(durations.value(row).cast_unsigned()),
            attributes: attributes
                .range(row)
                .map(|entry| {
                    Ok(KeyValue::new(
                        attributes.key(entry),
                        attributes.value(entry)?,
                    ))
                })
                .collect::<Result<_, StoreError>>()?,
            dropped_attributes_count: dropped_attributes.value(row),
            events: Vec::new(),
            dropped_events_count: 0,
            links: Vec::new(),
            dropped_links_count: 0,
            status: Status {
                code: StatusCode::from_otlp(status_codes.value(row)),
                message: status_messages.value(row).to_owned(),
            },
            resource: resource_decoder.get(resources, row, weft_codec::decode_resource)?,
            scope: scope_decoder.get(scopes, row, weft_codec::decode_scope)?,
            service_name: String::new(),
            host_name: None,
            environment: None,
            region: None,
            business_keys: Vec::new(),
        };
        if details.is_valid(row) {
            weft_codec::decode_span_detail(details.value(row), &mut span)
                .map_err(|error| StoreError::Corrupt(format!("span detail: {error}")))?;
        }
        spans.push(span);
    }
    weft_codec::fill_derived_fields(&mut spans, options);
    Ok(spans)
}
