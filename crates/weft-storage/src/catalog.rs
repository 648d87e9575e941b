//! What a store knows of services, operations and attribute keys, for listing and
//! autocompletion.

use weft_model::SpanKind;

/// One operation (span name and kind) of a service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperationInfo {
    pub name: String,
    pub span_kind: SpanKind,
    pub first_seen_unix_nanos: u64,
    pub last_seen_unix_nanos: u64,
}

/// An attribute key of a service with when it was seen and its most frequent values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CatalogAttribute {
    pub key: String,
    /// `span` or `resource`.
    pub scope: &'static str,
    pub first_seen_unix_nanos: u64,
    pub last_seen_unix_nanos: u64,
    /// (value, spans seen with it), most frequent first; string and boolean values only.
    pub top_values: Vec<(String, u64)>,
}

/// Everything the catalog knows about one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceCatalog {
    pub name: String,
    pub first_seen_unix_nanos: u64,
    pub last_seen_unix_nanos: u64,
    pub operations: Vec<OperationInfo>,
    pub attributes: Vec<CatalogAttribute>,
}

/// An attribute key and where it was seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeKeyInfo {
    pub key: String,
    /// `span` or `resource`.
    pub scope: &'static str,
}
