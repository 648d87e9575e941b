//! The web UI's files, embedded at build time. The server crate decides which URL serves what;
//! this crate only answers "the bytes and type of this file".
//!
//! For front-end work, `WEFT_UI_DIR=ui/dist` makes a running binary serve the files of that
//! directory instead (rebuilt with `npm run build` in `ui/`), so an edit needs no Rust build.

use std::borrow::Cow;
use std::path::{Component, Path, PathBuf};
use std::sync::OnceLock;

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

/// The environment variable naming a directory served instead of the embedded files.
pub const UI_DIR_VARIABLE: &str = "WEFT_UI_DIR";

fn override_dir() -> Option<&'static Path> {
    static DIR: OnceLock<Option<PathBuf>> = OnceLock::new();
    DIR.get_or_init(|| {
        std::env::var_os(UI_DIR_VARIABLE)
            .filter(|dir| !dir.is_empty())
            .map(PathBuf::from)
    })
    .as_deref()
}

/// The file at `path` (relative, no leading slash), if the build has one.
pub fn file(path: &str) -> Option<UiFile> {
    if let Some(dir) = override_dir() {
        return file_from_dir(dir, path);
    }
    let file = Files::get(path)?;
    Some(UiFile {
        content_type: file.metadata.mimetype().to_owned(),
        bytes: file.data,
        immutable: path.starts_with("assets/"),
    })
}

/// `path` under `dir`; only plain relative components, so a request cannot leave `dir`.
fn file_from_dir(dir: &Path, path: &str) -> Option<UiFile> {
    let relative = Path::new(path);
    if path.is_empty()
        || !relative
            .components()
            .all(|component| matches!(component, Component::Normal(_)))
    {
        return None;
    }
    let bytes = std::fs::read(dir.join(relative)).ok()?;
    Some(UiFile {
        content_type: mime_guess::from_path(relative)
            .first_or_octet_stream()
            .to_string(),
        bytes: Cow::Owned(bytes),
        // A directory being edited is never cached.
        immutable: false,
    })
}

/// The page every UI route (`/search`, `/trace/…`) loads; the front end routes from there.
pub fn index_html() -> UiFile {
    file("index.html").expect("the ui build always has index.html")
}

#[cfg(test)]
mod tests;
