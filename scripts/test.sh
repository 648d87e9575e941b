#!/usr/bin/env bash
# Runs Weft's whole test suite: installs the real OpenTelemetry SDK clients the end-to-end tests
# spawn (Python from PyPI, Node from npm), then every unit, property and end-to-end test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-build-deps.sh
bash scripts/install-test-deps.sh
cargo test --workspace --locked "$@"
# The web UI's pure logic (span tree, critical path, compare) and its types. `cargo test` above
# built the UI (crates/weft-ui/build.rs runs `npm ci` when needed), so node_modules exists.
(cd ui && npm run --silent typecheck && npm test --silent)
# The web UI in Debian Chromium (playwright-core) against the `weft` binary `cargo test` built,
# with its UI embedded, fed by `weft gen`. Screenshots land in ui/e2e/screenshots/.
target_dir="$(cargo metadata --format-version 1 --no-deps --locked | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')"
(cd ui && WEFT_BIN="$target_dir/debug/weft" npm run --silent e2e)
