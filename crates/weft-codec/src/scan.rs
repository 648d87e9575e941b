//! A validating scan of OTLP/protobuf that allocates nothing.
//!
//! The receivers used to decode every request in full only to check IDs and sizes, then throw
//! the decoded request away (the bus carries the original bytes): that decode was the largest
//! cost of ingest (see BENCHMARKS.md). This scan walks the wire format with prost's own
//! primitives and answers [`Scan::Clean`] only when it is certain that prost would decode the
//! request and that [`crate::validate_and_limit`] would neither reject nor change anything.
//! Anything else, including every malformed input and every unusual encoding (a singular
//! message field sent twice, deep nesting), is [`Scan::NeedsFullDecode`]: the caller then takes
//! the full path, which gives prost's exact error or the exact partial success.
//!
//! The property that matters (tested by proptest and the `otlp_protobuf_scan` fuzz target):
//! `Clean { spans }` ⇒ `decode_otlp_protobuf` succeeds, validation reports no modification, and
//! it accepts exactly `spans` spans.

use prost::encoding::{decode_key, decode_varint, skip_field, DecodeContext, WireType};

use crate::ValidationLimits;

/// The verdict of [`scan_otlp_protobuf`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scan {
    /// Valid as it is: `spans` spans, none to reject, nothing to cut.
    Clean { spans: u64 },
    /// Decode it in full and validate: it is malformed, or something must be rejected or cut,
    /// or it is encoded in a way this scan does not vouch for.
    NeedsFullDecode,
}

/// Any reason to leave the fast path.
struct Fallback;

impl From<prost::DecodeError> for Fallback {
    fn from(_: prost::DecodeError) -> Self {
        Fallback
    }
}

type Step = Result<(), Fallback>;
type Buffer<'a> = &'a [u8];

/// Deeper `AnyValue` nesting than this goes the full path (prost's own limit is 100).
const MAX_VALUE_DEPTH: u32 = 16;

/// Scans an `ExportTraceServiceRequest`.
pub fn scan_otlp_protobuf(bytes: &[u8], limits: &ValidationLimits) -> Scan {
    let mut scanner = Scanner { limits, spans: 0 };
    let mut buffer = bytes;
    let scanned = each_field(&mut buffer, |tag, wire_type, buffer| match tag {
        1 => scanner.resource_spans(sub_message(buffer, wire_type)?),
        _ => skip(tag, wire_type, buffer),
    });
    match scanned {
        Ok(()) => Scan::Clean {
            spans: scanner.spans,
        },
        Err(Fallback) => Scan::NeedsFullDecode,
    }
}

fn each_field<'a>(
    buffer: &mut Buffer<'a>,
    mut field: impl FnMut(u32, WireType, &mut Buffer<'a>) -> Step,
) -> Step {
    while !buffer.is_empty() {
        let (tag, wire_type) = decode_key(buffer)?;
        field(tag, wire_type, buffer)?;
    }
    Ok(())
}

fn skip(tag: u32, wire_type: WireType, buffer: &mut Buffer<'_>) -> Step {
    Ok(skip_field(
        wire_type,
        tag,
        buffer,
        DecodeContext::default(),
    )?)
}

/// The bytes of a length-delimited field, checked against what remains.
fn length_delimited<'a>(
    buffer: &mut Buffer<'a>,
    wire_type: WireType,
) -> Result<&'a [u8], Fallback> {
    if wire_type != WireType::LengthDelimited {
        return Err(Fallback);
    }
    let length = decode_varint(buffer)?;
    if length > buffer.len() as u64 {
        return Err(Fallback);
    }
    let (field, rest) = buffer.split_at(length as usize);
    *buffer = rest;
    Ok(field)
}

fn sub_message<'a>(buffer: &mut Buffer<'a>, wire_type: WireType) -> Result<Buffer<'a>, Fallback> {
    length_delimited(buffer, wire_type)
}

/// A string field: valid UTF-8 (prost checks it) and within the length limit.
fn string(buffer: &mut Buffer<'_>, wire_type: WireType, max_bytes: usize) -> Step {
    let bytes = length_delimited(buffer, wire_type)?;
    if bytes.len() > max_bytes || std::str::from_utf8(bytes).is_err() {
        return Err(Fallback);
    }
    Ok(())
}

fn bytes_field<'a>(buffer: &mut Buffer<'a>, wire_type: WireType) -> Result<&'a [u8], Fallback> {
    length_delimited(buffer, wire_type)
}

/// IDs are last-one-wins in protobuf: keep the last occurrence, check it at the end.
fn remember<'a>(slot: &mut Option<&'a [u8]>, buffer: &mut Buffer<'a>, wire_type: WireType) -> Step {
    *slot = Some(bytes_field(buffer, wire_type)?);
    Ok(())
}

fn varint(buffer: &mut Buffer<'_>, wire_type: WireType) -> Step {
    if wire_type != WireType::Varint {
        return Err(Fallback);
    }
    decode_varint(buffer)?;
    Ok(())
}

fn fixed(buffer: &mut Buffer<'_>, wire_type: WireType, expected: WireType, width: usize) -> Step {
    if wire_type != expected || buffer.len() < width {
        return Err(Fallback);
    }
    *buffer = &buffer[width..];
    Ok(())
}

/// A little-endian `fixed64` field's value.
fn fixed64(buffer: &mut Buffer<'_>, wire_type: WireType) -> Result<u64, Fallback> {
    if wire_type != WireType::SixtyFourBit || buffer.len() < 8 {
        return Err(Fallback);
    }
    let (value, rest) = buffer.split_at(8);
    *buffer = rest;
    Ok(u64::from_le_bytes(value.try_into().map_err(|_| Fallback)?))
}

/// Counts occurrences of a singular message field: prost merges repeats, which this scan does
/// not model, so a second occurrence leaves the fast path.
fn once(seen: &mut bool) -> Step {
    if std::mem::replace(seen, true) {
        return Err(Fallback);
    }
    Ok(())
}

fn valid_id(id: Option<&[u8]>, length: usize) -> bool {
    id.is_some_and(|id| id.len() == length && id.iter().any(|&byte| byte != 0))
}

struct Scanner<'l> {
    limits: &'l ValidationLimits,
    spans: u64,
}

impl Scanner<'_> {
    fn max_bytes(&self) -> usize {
        self.limits.max_attribute_value_bytes
    }

    fn resource_spans(&mut self, mut buffer: Buffer<'_>) -> Step {
        let mut resource_seen = false;
        each_field(&mut buffer, |tag, wire_type, buffer| match tag {
            1 => {
                once(&mut resource_seen)?;
                self.resource(sub_message(buffer, wire_type)?)
            }
            2 => self.scope_spans(sub_message(buffer, wire_type)?),
            3 => string(buffer, wire_type, usize::MAX),
            _ => skip(tag, wire_type, buffer),
        })
    }

    fn resource(&self, mut buffer: Buffer<'_>) -> Step {
        let mut attributes = 0;
        each_field(&mut buffer, |tag, wire_type, buffer| match tag {
            1 => self.attribute(buffer, wire_type, &mut attributes),
            2 => varint(buffer, wire_type),
            3 => self.entity_ref(sub_message(buffer, wire_type)?),
            _ => skip(tag, wire_type, buffer),
        })
    }

    fn entity_ref(&self, mut buffer: Buffer<'_>) -> Step {
        each_field(&mut buffer, |tag, wire_type, buffer| match tag {
            1..=4 => string(buffer, wire_type, usize::MAX),
            _ => skip(tag, wire_type, buffer),
        })
    }

    fn scope_spans(&mut self, mut buffer: Buffer<'_>) -> Step {
        let mut scope_seen = false;
        each_field(&mut buffer, |tag, wire_type, buffer| match tag {
            1 => {
                once(&mut scope_seen)?;
                self.scope(sub_message(buffer, wire_type)?)
            }
            2 => {
                self.span(sub_message(buffer, wire_type)?)?;
                self.spans += 1;
                Ok(())
            }
            3 => string(buffer, wire_type, usize::MAX),
            _ => skip(tag, wire_type, buffer),
        })
    }

    fn scope(&self, mut buffer: Buffer<'_>) -> Step {
        let mut attributes = 0;
        each_field(&mut buffer, |tag, wire_type, buffer| match tag {
            1 | 2 => string(buffer, wire_type, usize::MAX),
            3 => self.attribute(buffer, wire_type, &mut attributes),
            4 => varint(buffer, wire_type),
            _ => skip(tag, wire_type, buffer),
        })
    }

    fn span(&self, mut buffer: Buffer<'_>) -> Step {
        let mut trace_id = None;
        let mut span_id = None;
        let mut parent_span_id: Option<&[u8]> = None;
        let (mut attributes, mut events, mut links) = (0, 0, 0);
        let mut status_seen = false;
        // Absent means zero, as prost decodes it; the last occurrence wins.
        let mut start_time_unix_nanos = 0u64;
        each_field(&mut buffer, |tag, wire_type, buffer| match tag {
            1 => remember(&mut trace_id, buffer, wire_type),
            2 => remember(&mut span_id, buffer, wire_type),
            3 => string(buffer, wire_type, usize::MAX),
            4 => remember(&mut parent_span_id, buffer, wire_type),
            5 => string(buffer, wire_type, self.max_bytes()),
            6 | 10 | 12 | 14 => varint(buffer, wire_type),
            7 => {
                start_time_unix_nanos = fixed64(buffer, wire_type)?;
                Ok(())
            }
            8 => fixed(buffer, wire_type, WireType::SixtyFourBit, 8),
            9 => self.attribute(buffer, wire_type, &mut attributes),
            11 => {
                events += 1;
                self.event(sub_message(buffer, wire_type)?)
            }
            13 => {
                links += 1;
                self.link(sub_message(buffer, wire_type)?)
            }
            15 => {
                once(&mut status_seen)?;
                self.status(sub_message(buffer, wire_type)?)
            }
            16 => fixed(buffer, wire_type, WireType::ThirtyTwoBit, 4),
            _ => skip(tag, wire_type, buffer),
        })?;
        // A parent ID is absent, or 8 bytes (all zeros means "root", which is fine).
        let parent_ok = parent_span_id.is_none_or(|parent| parent.is_empty() || parent.len() == 8);
        if !valid_id(trace_id, 16)
            || !valid_id(span_id, 8)
            || !parent_ok
            || events > self.limits.max_events_per_span
            || links > self.limits.max_links_per_span
            || self
                .limits
                .plausible_starts
                .is_some_and(|plausible| !plausible.contains(start_time_unix_nanos))
        {
            return Err(Fallback);
        }
        Ok(())
    }

    fn event(&self, mut buffer: Buffer<'_>) -> Step {
        let mut attributes = 0;
        each_field(&mut buffer, |tag, wire_type, buffer| match tag {
            1 => fixed(buffer, wire_type, WireType::SixtyFourBit, 8),
            2 => string(buffer, wire_type, usize::MAX),
            3 => self.attribute(buffer, wire_type, &mut attributes),
            4 => varint(buffer, wire_type),
            _ => skip(tag, wire_type, buffer),
        })
    }

    fn link(&self, mut buffer: Buffer<'_>) -> Step {
        let mut trace_id = None;
        let mut span_id = None;
        let mut attributes = 0;
        each_field(&mut buffer, |tag, wire_type, buffer| match tag {
            1 => remember(&mut trace_id, buffer, wire_type),
            2 => remember(&mut span_id, buffer, wire_type),
            3 => string(buffer, wire_type, usize::MAX),
            4 => self.attribute(buffer, wire_type, &mut attributes),
            5 => varint(buffer, wire_type),
            6 => fixed(buffer, wire_type, WireType::ThirtyTwoBit, 4),
            _ => skip(tag, wire_type, buffer),
        })?;
        if !valid_id(trace_id, 16) || !valid_id(span_id, 8) {
            return Err(Fallback);
        }
        Ok(())
    }

    fn status(&self, mut buffer: Buffer<'_>) -> Step {
        each_field(&mut buffer, |tag, wire_type, buffer| match tag {
            2 => string(buffer, wire_type, self.max_bytes()),
            3 => varint(buffer, wire_type),
            _ => skip(tag, wire_type, buffer),
        })
    }

    /// One attribute of a span, event, link, resource or scope, counted against the cap.
    fn attribute(&self, buffer: &mut Buffer<'_>, wire_type: WireType, count: &mut usize) -> Step {
        *count += 1;
        if *count > self.limits.max_attributes_per_span {
            return Err(Fallback);
        }
        self.key_value(sub_message(buffer, wire_type)?, 0)
    }

    fn key_value(&self, mut buffer: Buffer<'_>, depth: u32) -> Step {
        let mut value_seen = false;
        each_field(&mut buffer, |tag, wire_type, buffer| match tag {
            1 => string(buffer, wire_type, self.max_bytes()),
            2 => {
                once(&mut value_seen)?;
                self.any_value(sub_message(buffer, wire_type)?, depth)
            }
            3 => varint(buffer, wire_type),
            _ => skip(tag, wire_type, buffer),
        })
    }

    fn any_value(&self, mut buffer: Buffer<'_>, depth: u32) -> Step {
        if depth > MAX_VALUE_DEPTH {
            return Err(Fallback);
        }
        // A oneof: prost keeps the last member sent; one member is all this scan vouches for.
        let mut member_seen = false;
        each_field(&mut buffer, |tag, wire_type, buffer| {
            if (1..=8).contains(&tag) {
                once(&mut member_seen)?;
            }
            match tag {
                1 => string(buffer, wire_type, self.max_bytes()),
                2 | 3 | 8 => varint(buffer, wire_type),
                4 => fixed(buffer, wire_type, WireType::SixtyFourBit, 8),
                5 => {
                    let mut array = sub_message(buffer, wire_type)?;
                    each_field(&mut array, |tag, wire_type, array| match tag {
                        1 => self.any_value(sub_message(array, wire_type)?, depth + 1),
                        _ => skip(tag, wire_type, array),
                    })
                }
                6 => {
                    let mut list = sub_message(buffer, wire_type)?;
                    each_field(&mut list, |tag, wire_type, list| match tag {
                        1 => self.key_value(sub_message(list, wire_type)?, depth + 1),
                        _ => skip(tag, wire_type, list),
                    })
                }
                7 => {
                    if bytes_field(buffer, wire_type)?.len() > self.max_bytes() {
                        return Err(Fallback);
                    }
                    Ok(())
                }
                _ => skip(tag, wire_type, buffer),
            }
        })
    }
}
