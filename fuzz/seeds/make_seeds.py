#!/usr/bin/env python3
"""Writes the seed inputs under fuzz/seeds/<target>/ (plain python3, no packages).

The files it writes are committed; run it again only to change them:
    python3 fuzz/seeds/make_seeds.py
The OTLP protobuf is encoded by hand with the field numbers of opentelemetry-proto's
trace.proto, common.proto and resource.proto; the WAL records follow the layout in
crates/weft-wal/src/lib.rs: [payload length u32 LE][crc32(lsn LE ++ payload) u32 LE][lsn u64 LE][payload].
"""

import json
import os
import struct
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))

TRACE_ID = bytes.fromhex("5b8efff798038103d269b633813fc60c")
ROOT_ID = bytes.fromhex("eee19b7ec3c1b174")
CHILD_ID = bytes.fromhex("eee19b7ec3c1b173")
LINK_TRACE_ID = bytes.fromhex("0af7651916cd43dd8448eb211c80319c")
LINK_SPAN_ID = bytes.fromhex("b7ad6b7169203331")
START = 1_700_000_000_000_000_000


def write(target, name, data):
    os.makedirs(os.path.join(HERE, target), exist_ok=True)
    with open(os.path.join(HERE, target, name), "wb") as file:
        file.write(data)


# --- a minimal protobuf encoder ---------------------------------------------------------------

def varint(n):
    n &= (1 << 64) - 1
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def key(field, wire):
    return varint(field << 3 | wire)


def f_varint(field, n):
    return key(field, 0) + varint(n)


def f_bytes(field, data):
    if isinstance(data, str):
        data = data.encode()
    return key(field, 2) + varint(len(data)) + data


def f_fixed64(field, n):
    return key(field, 1) + struct.pack("<Q", n)


def f_double(field, x):
    return key(field, 1) + struct.pack("<d", x)


def f_fixed32(field, n):
    return key(field, 5) + struct.pack("<I", n)


# AnyValue: string 1, bool 2, int 3, double 4, array 5, kvlist 6, bytes 7.
def any_value(value):
    if isinstance(value, bool):
        return f_varint(2, int(value))
    if isinstance(value, int):
        return f_varint(3, value)
    if isinstance(value, float):
        return f_double(4, value)
    if isinstance(value, str):
        return f_bytes(1, value)
    if isinstance(value, bytes):
        return f_bytes(7, value)
    if isinstance(value, list):
        return f_bytes(5, b"".join(f_bytes(1, any_value(v)) for v in value))
    if isinstance(value, dict):
        return f_bytes(6, b"".join(f_bytes(1, key_value(k, v)) for k, v in value.items()))
    raise TypeError(value)


def key_value(k, v):  # KeyValue: key 1, value 2
    return f_bytes(1, k) + f_bytes(2, any_value(v))


def attributes(field, attrs):
    return b"".join(f_bytes(field, key_value(k, v)) for k, v in attrs.items())


RESOURCE_ATTRS = {
    "service.name": "checkout",
    "host.name": "web-1",
    "deployment.environment.name": "prod",
    "cloud.region": "eu-west-1",
}
SCOPE = ("io.weft.seed", "1.0.0", {"scope.attr": True})
ROOT_ATTRS = {
    "order.id": "A-1001",
    "http.request.method": "POST",
    "http.response.status_code": 500,
    "ratio": 0.25,
    "retry": False,
    "blob": b"\x00\x01\x02",
    "list": ["a", 1, 2.5],
    "map": {"k": "a long value over eight bytes"},
}


def pb_span(trace_id, span_id, parent, name, kind, attrs, events=(), links=(), status=None):
    # Span: trace_id 1, span_id 2, trace_state 3, parent_span_id 4, name 5, kind 6, start 7,
    # end 8, attributes 9, events 11, links 13, status 15, flags 16.
    out = f_bytes(1, trace_id) + f_bytes(2, span_id) + f_bytes(3, "k=v")
    if parent:
        out += f_bytes(4, parent)
    out += f_bytes(5, name) + f_varint(6, kind)
    out += f_fixed64(7, START) + f_fixed64(8, START + 5_000_000)
    out += attributes(9, attrs)
    for time, event_name, event_attrs in events:  # Event: time 1, name 2, attributes 3
        out += f_bytes(11, f_fixed64(1, time) + f_bytes(2, event_name) + attributes(3, event_attrs))
    for link_trace, link_span, link_attrs in links:  # Link: trace 1, span 2, state 3, attrs 4
        out += f_bytes(13, f_bytes(1, link_trace) + f_bytes(2, link_span) + attributes(4, link_attrs))
    if status:  # Status: message 2, code 3
        out += f_bytes(15, f_bytes(2, status[1]) + f_varint(3, status[0]))
    out += f_fixed32(16, 1)
    return out


def pb_request(spans):
    resource = attributes(1, RESOURCE_ATTRS)  # Resource: attributes 1
    scope = f_bytes(1, SCOPE[0]) + f_bytes(2, SCOPE[1]) + attributes(3, SCOPE[2])
    scope_spans = f_bytes(1, scope) + b"".join(f_bytes(2, s) for s in spans) + f_bytes(3, "https://opentelemetry.io/schemas/1.26.0")
    resource_spans = f_bytes(1, resource) + f_bytes(2, scope_spans)
    return f_bytes(1, resource_spans)  # ExportTraceServiceRequest: resource_spans 1


root = pb_span(TRACE_ID, ROOT_ID, b"", "POST /orders", 2, ROOT_ATTRS,
               events=[(START + 1000, "exception", {"exception.message": "boom"})],
               status=(2, "payment failed"))
child = pb_span(TRACE_ID, CHILD_ID, ROOT_ID, "SELECT orders", 3, {"db.system": "postgresql"},
                links=[(LINK_TRACE_ID, LINK_SPAN_ID, {"link.kind": "follows"})])
bad = pb_span(TRACE_ID[:8], bytes(8), b"\x01", "bad ids", 1, {})
write("otlp_protobuf", "two_spans.pb", pb_request([root, child]))
write("otlp_protobuf", "with_invalid_ids.pb", pb_request([bad, child]))


# --- OTLP/JSON ----------------------------------------------------------------------------------

def json_value(value):
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, str):
        return {"stringValue": value}
    if isinstance(value, bytes):
        import base64
        return {"bytesValue": base64.b64encode(value).decode()}
    if isinstance(value, list):
        return {"arrayValue": {"values": [json_value(v) for v in value]}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": json_attributes(value)}}
    raise TypeError(value)


def json_attributes(attrs):
    return [{"key": k, "value": json_value(v)} for k, v in attrs.items()]


def json_request(spans):
    return {"resourceSpans": [{
        "resource": {"attributes": json_attributes(RESOURCE_ATTRS)},
        "scopeSpans": [{
            "scope": {"name": SCOPE[0], "version": SCOPE[1], "attributes": json_attributes(SCOPE[2])},
            "spans": spans,
            "schemaUrl": "https://opentelemetry.io/schemas/1.26.0",
        }],
    }]}


json_root = {
    "traceId": TRACE_ID.hex(), "spanId": ROOT_ID.hex(), "parentSpanId": "", "traceState": "k=v",
    "name": "POST /orders", "kind": 2,
    "startTimeUnixNano": str(START), "endTimeUnixNano": str(START + 5_000_000),
    "attributes": json_attributes(ROOT_ATTRS),
    "events": [{"timeUnixNano": str(START + 1000), "name": "exception",
                "attributes": json_attributes({"exception.message": "boom"})}],
    "status": {"code": 2, "message": "payment failed"},
    "flags": 1,
}
json_child = {
    "traceId": TRACE_ID.hex(), "spanId": CHILD_ID.hex(), "parentSpanId": ROOT_ID.hex(),
    "name": "SELECT orders", "kind": 3,
    "startTimeUnixNano": START, "endTimeUnixNano": START + 5_000_000,
    "attributes": json_attributes({"db.system": "postgresql"}),
    "links": [{"traceId": LINK_TRACE_ID.hex(), "spanId": LINK_SPAN_ID.hex(),
               "attributes": json_attributes({"link.kind": "follows"})}],
}
write("otlp_json", "two_spans.json", json.dumps(json_request([json_root, json_child])).encode())
write("otlp_json", "with_invalid_ids.json", json.dumps(json_request([
    {"traceId": "00" * 16, "spanId": "0102", "name": "bad ids"}, json_child])).encode())


# --- Zipkin v2 JSON -------------------------------------------------------------------------------

zipkin = [
    {
        "traceId": TRACE_ID.hex(), "id": ROOT_ID.hex(), "name": "post /orders", "kind": "SERVER",
        "timestamp": START // 1000, "duration": 5000,
        "localEndpoint": {"serviceName": "checkout", "ipv4": "10.0.0.1", "port": 8080},
        "remoteEndpoint": {"serviceName": "gateway", "ipv6": "::1", "port": 443},
        "annotations": [{"timestamp": START // 1000 + 1, "value": "retry"}],
        "tags": {"order.id": "A-1001", "error": "payment failed", "otel.scope.name": "io.weft.seed",
                 "otel.scope.version": "1.0.0"},
        "shared": True, "debug": True,
    },
    {
        "traceId": TRACE_ID.hex()[16:], "id": CHILD_ID.hex(), "parentId": ROOT_ID.hex(),
        "name": "select", "kind": "CLIENT", "timestamp": START // 1000, "duration": 10,
        "localEndpoint": {"serviceName": "checkout"},
        "tags": {"otel.status_code": "ERROR", "otel.status_description": "timeout"},
    },
    {"traceId": "zz", "id": "0000000000000000"},
]
write("zipkin_json", "three_spans.json", json.dumps(zipkin).encode())


# --- WAL segment bodies (written after the WEFTWAL1 magic by the target) -------------------------

def record(lsn, payload):
    crc = zlib.crc32(struct.pack("<Q", lsn) + payload)
    return struct.pack("<IIQ", len(payload), crc, lsn) + payload


records = record(1, b"first batch") + record(2, b"") + record(3, pb_request([child]))
write("wal_segment", "three_records.bin", records)
write("wal_segment", "torn_tail.bin", records + record(4, b"never acknowledged")[:20])
bad_crc = bytearray(record(1, b"ok") + record(2, b"checksum flipped") + record(3, b"lost"))
bad_crc[len(record(1, b"ok")) + 4] ^= 0xFF
write("wal_segment", "bad_checksum.bin", bytes(bad_crc))
write("wal_segment", "lsn_gap.bin", record(1, b"one") + record(3, b"three"))
