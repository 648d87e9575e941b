use std::fmt;

use rand::RngCore;

/// Why bytes or text could not become a [`TraceId`] or [`SpanId`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdError {
    #[error("{kind} must be {expected} bytes, got {actual}")]
    WrongLength {
        kind: &'static str,
        expected: usize,
        actual: usize,
    },
    #[error("{kind} is all zeros, which OpenTelemetry defines as invalid")]
    AllZero { kind: &'static str },
    #[error("{kind} must be {expected} hex characters, got {actual}")]
    WrongHexLength {
        kind: &'static str,
        expected: &'static str,
        actual: usize,
    },
    #[error("{kind} is not valid hex: {text:?}")]
    NotHex { kind: &'static str, text: String },
}

/// A 16-byte trace ID.
///
/// Weft-issued IDs carry the Unix time in seconds in their first four bytes (big-endian), the
/// layout of AWS X-Ray and OpenTelemetry's X-Ray ID generator. That lets a lookup go straight to
/// the right time partitions; see [`TraceId::embedded_time_unix_seconds`].
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct TraceId([u8; 16]);

/// An 8-byte span ID.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct SpanId([u8; 8]);

/// The range of Unix seconds within which the first four bytes of a trace ID are believed to be a
/// timestamp. Callers pass it in because this crate reads no clock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceIdTimeWindow {
    pub earliest_unix_seconds: u64,
    pub latest_unix_seconds: u64,
}

impl TraceIdTimeWindow {
    /// The window a store uses: from `max_age_seconds` before `now` to `max_skew_seconds` after it
    /// (clients' clocks run ahead).
    pub fn around(now_unix_seconds: u64, max_age_seconds: u64, max_skew_seconds: u64) -> Self {
        TraceIdTimeWindow {
            earliest_unix_seconds: now_unix_seconds.saturating_sub(max_age_seconds),
            latest_unix_seconds: now_unix_seconds.saturating_add(max_skew_seconds),
        }
    }
}

impl TraceId {
    pub const LEN: usize = 16;

    pub const fn from_bytes(bytes: [u8; 16]) -> Self {
        TraceId(bytes)
    }

    /// Validates length and the all-zero rule of the W3C trace-context spec.
    pub fn try_from_slice(bytes: &[u8]) -> Result<Self, IdError> {
        let array: [u8; 16] = bytes.try_into().map_err(|_| IdError::WrongLength {
            kind: "trace id",
            expected: 16,
            actual: bytes.len(),
        })?;
        if array == [0; 16] {
            return Err(IdError::AllZero { kind: "trace id" });
        }
        Ok(TraceId(array))
    }

    /// Parses 32 hex characters, or 16 (a 64-bit Zipkin/B3 ID, left-padded with zeros).
    pub fn from_hex(text: &str) -> Result<Self, IdError> {
        let not_hex = || IdError::NotHex {
            kind: "trace id",
            text: text.chars().take(64).collect(),
        };
        let mut bytes = [0u8; 16];
        match text.len() {
            32 => hex::decode_to_slice(text, &mut bytes).map_err(|_| not_hex())?,
            16 => hex::decode_to_slice(text, &mut bytes[8..]).map_err(|_| not_hex())?,
            other => {
                return Err(IdError::WrongHexLength {
                    kind: "trace id",
                    expected: "32 (or 16)",
                    actual: other,
                })
            }
        }
        Self::try_from_slice(&bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// A new ID whose first four bytes are `unix_seconds` (big-endian) and whose other twelve are
    /// random.
    pub fn generate_time_embedded(unix_seconds: u32, rng: &mut impl RngCore) -> Self {
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&unix_seconds.to_be_bytes());
        loop {
            rng.fill_bytes(&mut bytes[4..]);
            // Twelve zero bytes would still be a valid ID, but keep the random part non-trivial.
            if bytes[4..] != [0; 12] {
                return TraceId(bytes);
            }
        }
    }

    /// The Unix time in the first four bytes, whatever they hold.
    pub fn leading_unix_seconds(&self) -> u64 {
        u64::from(u32::from_be_bytes([
            self.0[0], self.0[1], self.0[2], self.0[3],
        ]))
    }

    /// The embedded time if the first four bytes plausibly are one: inside `window`.
    ///
    /// A random ID passes by chance with probability `window width / 2^32` (about 0.2 % for a
    /// 100-day window), so callers must treat a hit as a hint and fall back to a full search when
    /// the hinted partitions do not hold the trace.
    pub fn embedded_time_unix_seconds(&self, window: TraceIdTimeWindow) -> Option<u64> {
        let seconds = self.leading_unix_seconds();
        (window.earliest_unix_seconds..=window.latest_unix_seconds)
            .contains(&seconds)
            .then_some(seconds)
    }
}

impl SpanId {
    pub const LEN: usize = 8;

    pub const fn from_bytes(bytes: [u8; 8]) -> Self {
        SpanId(bytes)
    }

    pub fn try_from_slice(bytes: &[u8]) -> Result<Self, IdError> {
        let array: [u8; 8] = bytes.try_into().map_err(|_| IdError::WrongLength {
            kind: "span id",
            expected: 8,
            actual: bytes.len(),
        })?;
        if array == [0; 8] {
            return Err(IdError::AllZero { kind: "span id" });
        }
        Ok(SpanId(array))
    }

    pub fn from_hex(text: &str) -> Result<Self, IdError> {
        let mut bytes = [0u8; 8];
        if text.len() != 16 {
            return Err(IdError::WrongHexLength {
                kind: "span id",
                expected: "16",
                actual: text.len(),
            });
        }
        hex::decode_to_slice(text, &mut bytes).map_err(|_| IdError::NotHex {
            kind: "span id",
            text: text.chars().take(64).collect(),
        })?;
        Self::try_from_slice(&bytes)
    }

    pub fn random(rng: &mut impl RngCore) -> Self {
        loop {
            let mut bytes = [0u8; 8];
            rng.fill_bytes(&mut bytes);
            if bytes != [0; 8] {
                return SpanId(bytes);
            }
        }
    }

    pub fn as_bytes(&self) -> &[u8; 8] {
        &self.0
    }

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl fmt::Debug for TraceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TraceId({})", self.to_hex())
    }
}
impl fmt::Display for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl fmt::Debug for SpanId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SpanId({})", self.to_hex())
    }
}
