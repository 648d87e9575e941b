use super::*;

/// Jaeger's v3 summaries are protobuf JSON: zero values are left out, and read back as zero.
#[test]
fn a_v3_summary_leaves_out_zero_values_and_reads_back_whole() {
    let summary = jaeger_v3::TraceSummary {
        trace_id: "5b8efff798038103d269b633813fc60c".into(),
        root_service_name: String::new(),
        root_operation_name: String::new(),
        min_start_time_unix_nano: None,
        max_end_time_unix_nano: None,
        span_count: 0,
        error_span_count: 0,
        services: vec![jaeger_v3::ServiceSummary {
            name: "orders".into(),
            span_count: 2,
            error_span_count: 0,
        }],
    };
    let json = serde_json::to_value(&summary).unwrap();
    assert_eq!(
        json,
        serde_json::json!({
            "traceId": "5b8efff798038103d269b633813fc60c",
            "services": [{ "name": "orders", "spanCount": 2 }],
        })
    );
    let back: jaeger_v3::TraceSummary = serde_json::from_value(json).unwrap();
    assert_eq!(back, summary);
}

/// A search hit is the summary's fields and its tier side by side, as the API documents it.
#[test]
fn a_found_trace_flattens_its_summary_beside_the_tier() {
    let found = FoundTrace {
        summary: TraceSummary {
            trace_id: "5b8efff798038103d269b633813fc60c".into(),
            root_service_name: "orders".into(),
            root_span_name: "GET /".into(),
            root_span_found: true,
            start_time_unix_nano: "1795255200000000000".into(),
            duration_nanos: 1,
            span_count: 1,
            error_count: 0,
            services: Vec::new(),
        },
        tier: "cold".into(),
    };
    let json = serde_json::to_value(&found).unwrap();
    assert_eq!(json["tier"], "cold");
    assert_eq!(json["rootSpanName"], "GET /");
    assert_eq!(serde_json::from_value::<FoundTrace>(json).unwrap(), found);
}
