#!/usr/bin/env bash
# Runs Weft's whole test suite: installs the real OpenTelemetry SDK clients the end-to-end tests
# spawn (Python from PyPI, Node from npm), then every unit, property and end-to-end test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install-test-deps.sh
cargo test --workspace --locked "$@"
# The web UI's pure logic (span tree, critical path, compare) and its types. `cargo test` above
# built the UI (crates/weft-ui/build.rs runs `npm ci` when needed), so node_modules exists.
(cd ui && npm run --silent typecheck && npm test --silent)
