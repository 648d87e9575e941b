//! How durations are written in Weft's configuration, rule files and command lines: one parser,
//! so `30s` means the same in a flag, a TOML key, a sampling rule and a WAL fsync policy.

use std::time::Duration;

/// `30s`, `200ms`, `1h 30m`, `3d` (humantime's units); a bare number is seconds.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let trimmed = text.trim();
    if !trimmed.is_empty() && trimmed.bytes().all(|byte| byte.is_ascii_digit()) {
        return trimmed
            .parse()
            .map(Duration::from_secs)
            .map_err(|_| format!("invalid duration {text:?}: too large"));
    }
    humantime::parse_duration(trimmed)
        .map_err(|error| format!("invalid duration {text:?}: {error}"))
}
