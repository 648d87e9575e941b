//! The web UI's files, embedded at build time. The server crate decides which URL serves what;
//! this crate only answers "the bytes and type of this file".

use std::borrow::Cow;

#[derive(rust_embed::Embed)]
#[folder = "$OUT_DIR/ui-dist"]
struct Files;

/// One file of the built front end.
pub struct UiFile {
    pub bytes: Cow<'static, [u8]>,
    pub content_type: String,
    /// Vite puts a content hash in the names of everything under `assets/`: such a file never
    /// changes under its name and may be cached forever.
    pub immutable: bool,
}

/// The file at `path` (relative, no leading slash), if the build has one.
pub fn file(path: &str) -> Option<UiFile> {
    let file = Files::get(path)?;
    Some(UiFile {
        content_type: file.metadata.mimetype().to_owned(),
        bytes: file.data,
        immutable: path.starts_with("assets/"),
    })
}

/// The page every UI route (`/search`, `/trace/…`) loads; the front end routes from there.
pub fn index_html() -> UiFile {
    file("index.html").expect("the ui build always has index.html")
}

#[cfg(test)]
mod tests;
