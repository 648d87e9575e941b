use super::*;

#[test]
fn a_bad_query_is_the_callers_a_closed_store_temporary_and_the_rest_ours() {
    assert_eq!(
        StoreError::InvalidQuery("limit must be at most 1000".into()).error_code(),
        ErrorCode::InvalidArgument
    );
    assert_eq!(StoreError::Closed.error_code(), ErrorCode::Unavailable);
    let io = StoreError::io("/data/store", std::io::Error::other("disk on fire"));
    assert_eq!(io.error_code(), ErrorCode::Internal);
    assert_eq!(io.to_string(), "i/o error on /data/store: disk on fire");
    let encoding = StoreError::encoding("/data/x.parquet", std::fmt::Error);
    assert_eq!(encoding.error_code(), ErrorCode::Internal);
    assert!(encoding
        .to_string()
        .starts_with("cannot decode /data/x.parquet: "));
    assert_eq!(
        StoreError::Corrupt("bad".into()).error_code(),
        ErrorCode::Internal
    );
}

/// A reader that is not on local disk says so instead of reporting zero segments.
#[test]
fn a_reader_without_local_files_has_no_local_stats() {
    struct Remote;
    impl SpanReader for Remote {
        fn trace(&self, _: &TraceQuery) -> Result<Vec<Span>, StoreError> {
            Ok(Vec::new())
        }
        fn trace_summary(&self, _: TraceId) -> Result<Option<TraceSummary>, StoreError> {
            Ok(None)
        }
        fn search(&self, _: &SearchQuery) -> Result<SearchResult, StoreError> {
            Err(StoreError::Closed)
        }
        fn services(&self) -> Result<Vec<String>, StoreError> {
            Ok(Vec::new())
        }
        fn operations(
            &self,
            _: &str,
            _: Option<SpanKind>,
        ) -> Result<Vec<OperationInfo>, StoreError> {
            Ok(Vec::new())
        }
        fn attribute_keys(&self, _: Option<&str>) -> Result<Vec<AttributeKeyInfo>, StoreError> {
            Ok(Vec::new())
        }
        fn attribute_values(&self, _: &str, _: &str) -> Result<Vec<String>, StoreError> {
            Ok(Vec::new())
        }
        fn catalog(&self, _: Option<&str>, _: usize) -> Result<Vec<ServiceCatalog>, StoreError> {
            Ok(Vec::new())
        }
        fn scan_spans(
            &self,
            _: u64,
            _: u64,
            _: &mut dyn FnMut(&TraceId, u64) -> bool,
            _: &mut dyn FnMut(Vec<Span>) -> Result<(), StoreError>,
        ) -> Result<ScanReport, StoreError> {
            Ok(ScanReport::default())
        }
        fn oldest_span_start_unix_nanos(&self) -> Result<Option<u64>, StoreError> {
            Ok(None)
        }
    }
    let reader: &dyn SpanReader = &Remote;
    assert_eq!(reader.local_stats(), None);
}
