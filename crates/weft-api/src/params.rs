//! Query-string parsing shared by the Weft and Jaeger APIs: repeated keys, unknown keys refused,
//! Go duration strings, times.

use std::collections::BTreeMap;
use std::time::UNIX_EPOCH;

pub use weft_model::now_unix_nanos;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use weft_model::{ErrorCode, TraceId};

/// An API error: a code (mapped to the HTTP status in one place) and a message naming the
/// problem. Each API renders it in its own envelope.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: ErrorCode,
    pub message: String,
}

impl ApiError {
    pub fn invalid(message: impl Into<String>) -> Self {
        ApiError {
            code: ErrorCode::InvalidArgument,
            message: message.into(),
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError {
            code: ErrorCode::NotFound,
            message: message.into(),
        }
    }

    pub fn internal(message: impl Into<String>) -> Self {
        ApiError {
            code: ErrorCode::Internal,
            message: message.into(),
        }
    }

    pub fn unimplemented(message: impl Into<String>) -> Self {
        ApiError {
            code: ErrorCode::Unimplemented,
            message: message.into(),
        }
    }

    pub fn status(&self) -> StatusCode {
        weft_ingest::http_status(self.code)
    }

    fn code_name(&self) -> &'static str {
        match self.code {
            ErrorCode::InvalidArgument => "invalid_argument",
            ErrorCode::ResourceExhausted => "resource_exhausted",
            ErrorCode::PayloadTooLarge => "payload_too_large",
            ErrorCode::RequestTimeout => "request_timeout",
            ErrorCode::UnsupportedMediaType => "unsupported_media_type",
            ErrorCode::NotFound => "not_found",
            ErrorCode::Unavailable => "unavailable",
            ErrorCode::Internal => "internal",
            ErrorCode::Unimplemented => "unimplemented",
        }
    }
}

impl From<weft_storage::StoreError> for ApiError {
    fn from(error: weft_storage::StoreError) -> Self {
        let code = error.error_code();
        if code == ErrorCode::Internal {
            tracing::error!(%error, "query failed");
        }
        let message = match error {
            weft_storage::StoreError::InvalidQuery(message) => message,
            other => other.to_string(),
        };
        ApiError { code, message }
    }
}

/// The Weft API's error body: `{"error": {"code": "...", "message": "..."}}`.
impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "error": { "code": self.code_name(), "message": self.message }
        });
        (self.status(), axum::Json(body)).into_response()
    }
}

/// A query string as ordered pairs, keys checked against what an endpoint accepts.
pub struct Params {
    pairs: Vec<(String, String)>,
}

impl Params {
    pub fn parse(raw: Option<&str>, allowed: &[&str]) -> Result<Params, ApiError> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|error| ApiError::invalid(format!("malformed query string: {error}")))?;
        if let Some((unknown, _)) = pairs
            .iter()
            .find(|(key, _)| !allowed.contains(&key.as_str()))
        {
            return Err(ApiError::invalid(format!(
                "unknown query parameter {unknown:?}; accepted: {}",
                allowed.join(", ")
            )));
        }
        Ok(Params { pairs })
    }

    /// The value of a key given at most once; empty values count as absent.
    pub fn single(&self, key: &str) -> Result<Option<&str>, ApiError> {
        let mut values = self
            .pairs
            .iter()
            .filter(|(name, value)| name == key && !value.is_empty());
        let first = values.next().map(|(_, value)| value.as_str());
        if values.next().is_some() {
            return Err(ApiError::invalid(format!(
                "query parameter {key:?} is given more than once"
            )));
        }
        Ok(first)
    }

    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.pairs
            .iter()
            .filter(move |(name, value)| name == key && !value.is_empty())
            .map(|(_, value)| value.as_str())
    }

    /// `start` and `end` (Unix nanoseconds or RFC 3339): `end` defaults to now, `start` to
    /// `end - lookback` (see [`parse_lookback_nanos`], else `default_lookback_nanos`).
    pub fn time_range(&self, default_lookback_nanos: u64) -> Result<(u64, u64), ApiError> {
        let end = self
            .parsed("end", parse_time_nanos)?
            .unwrap_or_else(now_unix_nanos);
        let start = match self.parsed("start", parse_time_nanos)? {
            Some(start) => start,
            None => end.saturating_sub(
                self.parsed("lookback", parse_lookback_nanos)?
                    .unwrap_or(default_lookback_nanos),
            ),
        };
        Ok((start, end))
    }

    pub fn parsed<T>(
        &self,
        key: &str,
        parse: impl Fn(&str) -> Result<T, String>,
    ) -> Result<Option<T>, ApiError> {
        self.single(key)?
            .map(|text| {
                parse(text)
                    .map_err(|error| ApiError::invalid(format!("invalid {key} {text:?}: {error}")))
            })
            .transpose()
    }
}

pub fn parse_u64(text: &str) -> Result<u64, String> {
    text.parse::<u64>()
        .map_err(|_| "expected a non-negative integer".to_owned())
}

/// A Go duration string (`1.5ms`, `300us`, `2h45m`), as Jaeger takes them; a bare number is
/// refused because its unit would be a guess.
pub fn parse_go_duration_nanos(text: &str) -> Result<u64, String> {
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err("empty duration".into());
    }
    if rest == "0" {
        return Ok(0);
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let number_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("missing unit in {text:?} (use ns, us, ms, s, m or h)"))?;
        if number_end == 0 {
            return Err(format!("expected a number in {text:?}"));
        }
        let number: f64 = rest[..number_end]
            .parse()
            .map_err(|_| format!("bad number in {text:?}"))?;
        rest = &rest[number_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let nanos_per_unit = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            unit => return Err(format!("unknown unit {unit:?} (use ns, us, ms, s, m or h)")),
        };
        total += number * nanos_per_unit;
        rest = &rest[unit_end..];
    }
    if total > u64::MAX as f64 {
        return Err("duration too long".into());
    }
    Ok(total.round() as u64)
}

/// A lookback: a Go duration (`90m`, `1h30m`), or whole days or weeks as the Jaeger UI's
/// lookback menu names them (`2d`, `1w`), which Go durations cannot say.
pub fn parse_lookback_nanos(text: &str) -> Result<u64, String> {
    const DAY_NANOS: u64 = 86_400 * 1_000_000_000;
    let whole = |digits: &str, unit_nanos: u64| -> Option<Result<u64, String>> {
        if digits.is_empty() || !digits.bytes().all(|byte| byte.is_ascii_digit()) {
            return None;
        }
        Some(
            digits
                .parse::<u64>()
                .ok()
                .and_then(|count| count.checked_mul(unit_nanos))
                .ok_or_else(|| format!("lookback {text:?} is too long")),
        )
    };
    if let Some(days) = text
        .strip_suffix('d')
        .and_then(|days| whole(days, DAY_NANOS))
    {
        return days;
    }
    if let Some(weeks) = text
        .strip_suffix('w')
        .and_then(|weeks| whole(weeks, 7 * DAY_NANOS))
    {
        return weeks;
    }
    parse_go_duration_nanos(text)
        .map_err(|error| format!("{error}, or whole days or weeks (2d, 1w)"))
}

/// A time for the Weft API: Unix nanoseconds, or an RFC 3339 timestamp.
pub fn parse_time_nanos(text: &str) -> Result<u64, String> {
    if text.bytes().all(|byte| byte.is_ascii_digit()) {
        return text
            .parse::<u64>()
            .map_err(|_| "Unix nanoseconds out of range".to_owned());
    }
    rfc3339_unix_nanos(text)
        .map_err(|error| {
            format!(
                "expected Unix nanoseconds or an RFC 3339 time like 2026-01-02T15:04:05Z: {error}"
            )
        })?
        .ok_or_else(|| "time before 1970".to_owned())
}

/// An RFC 3339 timestamp (fractions of a second allowed) as Unix nanoseconds; `None` for a
/// time before 1970. Callers word the errors for their API.
pub fn rfc3339_unix_nanos(text: &str) -> Result<Option<u64>, humantime::TimestampError> {
    let time = humantime::parse_rfc3339_weak(text)?;
    Ok(time
        .duration_since(UNIX_EPOCH)
        .ok()
        .map(|elapsed| u64::try_from(elapsed.as_nanos()).unwrap_or(u64::MAX)))
}

/// A trace ID in hex: 32 digits, or fewer (left-padded, as Jaeger and Zipkin accept 64-bit IDs).
pub fn parse_trace_id(text: &str) -> Result<TraceId, ApiError> {
    let valid =
        !text.is_empty() && text.len() <= 32 && text.bytes().all(|byte| byte.is_ascii_hexdigit());
    if !valid {
        return Err(ApiError::invalid(format!(
            "invalid trace id {text:?}: expected 1 to 32 hex digits"
        )));
    }
    let padded = format!("{text:0>32}").to_ascii_lowercase();
    TraceId::from_hex(&padded)
        .map_err(|error| ApiError::invalid(format!("invalid trace id {text:?}: {error}")))
}

/// `key=value` (Weft) into a pair.
pub fn split_attribute(text: &str, separator: char) -> Result<(String, String), ApiError> {
    match text.split_once(separator) {
        Some((key, value)) if !key.is_empty() => Ok((key.to_owned(), value.to_owned())),
        _ => Err(ApiError::invalid(format!(
            "invalid attribute filter {text:?}: expected key{separator}value"
        ))),
    }
}

/// Tags given as a JSON object (`{"http.method":"GET"}`), as Jaeger's `tags` parameter.
pub fn parse_json_tags(text: &str) -> Result<BTreeMap<String, String>, ApiError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|error| ApiError::invalid(format!("malformed tags {text:?}: {error}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| ApiError::invalid(format!("tags {text:?} must be a JSON object")))?;
    object
        .iter()
        .map(|(key, value)| {
            let text = match value {
                serde_json::Value::String(text) => text.clone(),
                serde_json::Value::Number(number) => number.to_string(),
                serde_json::Value::Bool(flag) => flag.to_string(),
                _ => {
                    return Err(ApiError::invalid(format!(
                        "tag {key:?} must be a string, number or boolean"
                    )))
                }
            };
            Ok((key.clone(), text))
        })
        .collect()
}
