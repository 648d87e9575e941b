use std::io::Read;

use weft_model::ErrorCode;

use crate::IngestError;

/// Decompresses an HTTP body by its `Content-Encoding`, refusing to inflate past `max_bytes`:
/// a 16 KiB gzip bomb must not become gigabytes.
pub(crate) fn decompress_body(
    encoding: Option<&str>,
    body: bytes::Bytes,
    max_bytes: usize,
) -> Result<bytes::Bytes, IngestError> {
    let encoding = encoding.map(str::trim).map(str::to_ascii_lowercase);
    let decoder: Box<dyn Read> = match encoding.as_deref() {
        None | Some("") | Some("identity") => return Ok(body),
        Some("gzip") | Some("x-gzip") => Box::new(flate2::read::GzDecoder::new(body.as_ref())),
        Some("deflate") => Box::new(flate2::read::ZlibDecoder::new(body.as_ref())),
        Some("zstd") => Box::new(zstd::stream::read::Decoder::new(body.as_ref()).map_err(
            |error| {
                IngestError::new(
                    ErrorCode::InvalidArgument,
                    format!("invalid zstd body: {error}"),
                )
            },
        )?),
        Some(other) => {
            return Err(IngestError::new(
                ErrorCode::UnsupportedMediaType,
                format!(
                    "unsupported content-encoding {other:?}: use gzip, zstd, deflate or identity"
                ),
            ))
        }
    };
    let mut inflated = Vec::new();
    let read = decoder
        .take(max_bytes as u64 + 1)
        .read_to_end(&mut inflated)
        .map_err(|error| {
            IngestError::new(
                ErrorCode::InvalidArgument,
                format!(
                    "invalid {} body: {error}",
                    encoding.as_deref().unwrap_or("compressed")
                ),
            )
        })?;
    if read > max_bytes {
        return Err(IngestError::new(
            ErrorCode::PayloadTooLarge,
            format!("decompressed body exceeds the limit of {max_bytes} bytes"),
        ));
    }
    Ok(inflated.into())
}
