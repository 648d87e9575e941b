use super::*;

#[test]
fn a_framed_logs_record_is_told_from_a_trace_record_and_unframes_to_its_request() {
    let request = b"\x0a\x03abc".to_vec();
    let framed = logs_bus_record(&request);
    assert!(framed.starts_with(LOGS_BUS_RECORD_PREFIX));
    assert_eq!(
        classify_bus_record(&framed),
        BusRecordBody::Logs(&request[..])
    );
    assert_eq!(
        classify_bus_record(&request),
        BusRecordBody::Traces(&request[..])
    );
}

#[test]
fn a_record_shorter_than_the_prefix_is_a_trace_record() {
    assert_eq!(classify_bus_record(b""), BusRecordBody::Traces(b""));
    assert_eq!(classify_bus_record(b"WEFT"), BusRecordBody::Traces(b"WEFT"));
}
