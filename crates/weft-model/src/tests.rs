use rand::{rngs::SmallRng, SeedableRng};

use super::*;

#[test]
fn trace_id_rejects_all_zero_and_wrong_length() {
    assert_eq!(
        TraceId::try_from_slice(&[0; 16]),
        Err(IdError::AllZero { kind: "trace id" })
    );
    assert_eq!(
        TraceId::try_from_slice(&[1; 15]).unwrap_err().to_string(),
        "trace id must be 16 bytes, got 15"
    );
    assert!(SpanId::try_from_slice(&[0; 8]).is_err());
    assert!(SpanId::try_from_slice(&[1; 9]).is_err());
}

#[test]
fn sixty_four_bit_hex_trace_id_is_left_padded() {
    let id = TraceId::from_hex("463ac35c9f6413ad").unwrap();
    assert_eq!(id.to_hex(), "0000000000000000463ac35c9f6413ad");
    assert!(TraceId::from_hex("zz3ac35c9f6413ad").is_err());
    assert_eq!(
        TraceId::from_hex("abc").unwrap_err().to_string(),
        "trace id must be 32 (or 16) hex characters, got 3"
    );
    assert_eq!(
        SpanId::from_hex("12").unwrap_err().to_string(),
        "span id must be 16 hex characters, got 2"
    );
}

#[test]
fn generated_trace_id_carries_its_time_and_decoder_finds_it() {
    let mut rng = SmallRng::seed_from_u64(7);
    let now = 1_790_000_000u32;
    let id = TraceId::generate_time_embedded(now, &mut rng);
    let window = TraceIdTimeWindow::around(u64::from(now), 86_400, 3_600);
    assert_eq!(id.embedded_time_unix_seconds(window), Some(u64::from(now)));
    // An ID from long before the window is not taken for a timestamp.
    let old = TraceId::generate_time_embedded(now - 1_000_000, &mut rng);
    assert_eq!(old.embedded_time_unix_seconds(window), None);
}

#[test]
fn random_ids_rarely_look_time_embedded() {
    let mut rng = SmallRng::seed_from_u64(42);
    let now = 1_790_000_000u64;
    // A 100-day window covers 8.64e6 of 2^32 possible prefixes: about 0.2 %.
    let window = TraceIdTimeWindow::around(now, 100 * 86_400, 0);
    let plausible = (0..100_000)
        .filter(|_| {
            let mut bytes = [0u8; 16];
            rand::RngCore::fill_bytes(&mut rng, &mut bytes);
            TraceId::from_bytes(bytes)
                .embedded_time_unix_seconds(window)
                .is_some()
        })
        .count();
    assert!(
        plausible < 500,
        "{plausible} of 100000 random ids looked time-embedded"
    );
}

proptest::proptest! {
    #[test]
    fn trace_id_hex_round_trips(bytes in proptest::array::uniform16(proptest::num::u8::ANY)) {
        proptest::prop_assume!(bytes != [0; 16]);
        let id = TraceId::from_bytes(bytes);
        proptest::prop_assert_eq!(TraceId::from_hex(&id.to_hex()).unwrap(), id);
    }

    #[test]
    fn span_kind_and_status_numbers_round_trip(value in proptest::num::i32::ANY) {
        proptest::prop_assert_eq!(SpanKind::from_otlp(value).to_otlp(), value);
        proptest::prop_assert_eq!(StatusCode::from_otlp(value).to_otlp(), value);
    }
}

#[test]
fn durations_read_with_units_and_bare_numbers_as_seconds() {
    use std::time::Duration;
    assert_eq!(crate::parse_duration("30s"), Ok(Duration::from_secs(30)));
    assert_eq!(
        crate::parse_duration("200ms"),
        Ok(Duration::from_millis(200))
    );
    assert_eq!(
        crate::parse_duration("1h 30m"),
        Ok(Duration::from_secs(5_400))
    );
    assert_eq!(
        crate::parse_duration("3d"),
        Ok(Duration::from_secs(3 * 86_400))
    );
    assert_eq!(crate::parse_duration("5"), Ok(Duration::from_secs(5)));
    let error = crate::parse_duration("soon").unwrap_err();
    assert!(error.starts_with("invalid duration \"soon\": "), "{error}");
    assert!(crate::parse_duration("").is_err());
}
