//! Builds the front end (`ui/` at the repository root) with npm into `$OUT_DIR/ui-dist`, which
//! `rust-embed` then embeds. Runs again only when the front end's sources change.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let manifest_dir = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let ui = manifest_dir.join("../../ui");
    let ui = ui.canonicalize().unwrap_or(ui);
    let out_dir = PathBuf::from(std::env::var("OUT_DIR").expect("set by cargo"));
    let dist = out_dir.join("ui-dist");
    for input in [
        "src",
        "index.html",
        "package.json",
        "package-lock.json",
        "vite.config.ts",
        "tsconfig.json",
    ] {
        println!("cargo:rerun-if-changed={}", ui.join(input).display());
    }
    let npm = if cfg!(windows) { "npm.cmd" } else { "npm" };
    // `npm ci` only when the installed packages are missing or older than the lock file: it
    // deletes node_modules first, which would make every front-end edit re-download them.
    let installed_marker = ui.join("node_modules/.package-lock.json");
    if is_older(&installed_marker, &ui.join("package-lock.json")) {
        run(
            Command::new(npm)
                .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
                .current_dir(&ui),
            "npm ci",
        );
    }
    run(
        Command::new(npm)
            .args([
                "exec",
                "--",
                "vite",
                "build",
                "--logLevel",
                "warn",
                "--emptyOutDir",
                "--outDir",
            ])
            .arg(&dist)
            .current_dir(&ui),
        "vite build",
    );
}

/// Whether `path` is missing or was modified before `than`.
fn is_older(path: &Path, than: &Path) -> bool {
    let modified = |path: &Path| {
        std::fs::metadata(path)
            .and_then(|meta| meta.modified())
            .ok()
    };
    match (modified(path), modified(than)) {
        (Some(path), Some(than)) => path < than,
        _ => true,
    }
}

fn run(command: &mut Command, what: &str) {
    let status = command.status().unwrap_or_else(|error| {
        panic!(
            "building the web UI: cannot run {what} ({error}); it needs Node.js 20.19 or newer (Vite 8) with \
             npm on the PATH (https://nodejs.org, or `apt-get install nodejs npm`)"
        )
    });
    assert!(
        status.success(),
        "building the web UI: {what} failed ({status}); see its output above"
    );
}
