use std::time::Duration;

use crate::schema::{Schema, SchemaProfile, ServerVersion};
use crate::{spans_from_rows, SpanRow};

#[test]
fn server_versions_parse_and_choose_their_profile() {
    let old = ServerVersion::parse("18.16.1").unwrap();
    assert_eq!(
        old,
        ServerVersion {
            major: 18,
            minor: 16
        }
    );
    assert_eq!(SchemaProfile::for_version(old), SchemaProfile::Legacy);
    let last_legacy = ServerVersion::parse("19.17.6.36").unwrap();
    assert_eq!(
        SchemaProfile::for_version(last_legacy),
        SchemaProfile::Legacy
    );
    let modern = ServerVersion::parse("26.9.1.1").unwrap();
    assert_eq!(SchemaProfile::for_version(modern), SchemaProfile::Modern);
    assert_eq!(
        SchemaProfile::for_version(ServerVersion::parse("20.1.2.4").unwrap()),
        SchemaProfile::Modern
    );
    assert_eq!(
        ServerVersion::parse("banana").unwrap_err(),
        "unrecognised clickhouse version \"banana\": no major version"
    );
}

#[test]
fn a_database_name_that_is_not_an_identifier_is_refused() {
    for name in ["", "9lives", "weft; DROP TABLE x", "we-ft"] {
        assert!(
            Schema::new(name, SchemaProfile::Modern, Duration::from_secs(60)).is_err(),
            "{name:?}"
        );
    }
    assert!(Schema::new("weft_prod2", SchemaProfile::Legacy, Duration::from_secs(60)).is_ok());
}

/// The DDL and queries of both profiles, pinned; the e2e tests run them on ClickHouse 18.16
/// and on a modern ClickHouse (chdb).
#[test]
fn the_statements_of_both_profiles_match_the_golden_file() {
    let mut text = String::new();
    for profile in [SchemaProfile::Modern, SchemaProfile::Legacy] {
        let schema = Schema::new("weft", profile, Duration::from_secs(3 * 86_400)).unwrap();
        for (name, statement) in schema.statements_for_checks() {
            text.push_str(&format!(
                "-- {} profile: {name}\n{statement};\n\n",
                profile.as_str()
            ));
        }
    }
    expect_test::expect_file!["golden/statements.sql"].assert_eq(&text);
}

/// Every part of a span survives the row: typed attributes (arrays and maps too), events,
/// links, status, resource and scope, and the fields derived from them.
#[test]
fn a_span_row_round_trips_the_fixture_exactly() {
    let options = weft_codec::ConversionOptions {
        business_key_names: vec!["order.id".into()],
    };
    let spans = weft_codec::spans_from_otlp(weft_test_fixtures::fixture(), &options).spans;
    assert!(spans
        .iter()
        .any(|span| !span.events.is_empty() || !span.links.is_empty()));
    let rows: Vec<SpanRow> = spans.iter().map(SpanRow::from_span).collect();
    assert_eq!(spans_from_rows(rows, &options).unwrap(), spans);
}

#[test]
fn a_row_with_uneven_attribute_columns_is_refused_as_corrupt() {
    let spans = weft_codec::spans_from_otlp(
        weft_test_fixtures::fixture(),
        &weft_codec::ConversionOptions::default(),
    )
    .spans;
    let mut row = SpanRow::from_span(&spans[0]);
    row.attribute_ints.pop();
    assert_eq!(
        spans_from_rows(vec![row], &weft_codec::ConversionOptions::default()).unwrap_err(),
        "attribute columns of different lengths"
    );
}

#[test]
fn a_log_record_survives_its_row_unchanged_and_the_same_record_hashes_the_same() {
    let records = weft_codec::logs_from_otlp(weft_test_fixtures::log_fixture()).records;
    assert!(records.len() >= 2, "the fixture has several records");
    assert!(records.iter().any(|record| record.trace_id.is_some()));
    for record in &records {
        let row = crate::LogRow::from_record(record);
        assert_eq!(
            row.record_hash,
            crate::LogRow::from_record(record).record_hash
        );
        assert_eq!(&row.clone().into_record().unwrap(), record);
    }
    let hashes: std::collections::BTreeSet<u64> = records
        .iter()
        .map(|record| crate::LogRow::from_record(record).record_hash)
        .collect();
    assert_eq!(hashes.len(), records.len(), "different records hash apart");
}
