use weft_codec::ConversionOptions;
use weft_test_fixtures::fixture;

#[test]
fn waterfall_rendering_matches_the_golden_file() {
    let spans = weft_codec::spans_from_otlp(fixture(), &ConversionOptions::default()).spans;
    let rendered = crate::cli::render_waterfall(&spans, 30, false);
    expect_test::expect_file!["golden/waterfall.txt"].assert_eq(&rendered);
}
