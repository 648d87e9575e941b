#!/usr/bin/env bash
# Installs tansu, the Kafka-protocol broker the distributed shape's tests run, from crates.io
# into a cache outside the clone (a cold build takes 15-25 minutes on 2 cores; later runs find
# the binary and return at once). Its memory and SQLite storage engines need the dynostore and
# libsql features.
#
# Environment: WEFT_TOOLS_DIR (default: $HOME/.cache/weft-tools); the binary is $WEFT_TOOLS_DIR/bin/tansu.
set -euo pipefail
version=0.6.0
tools="${WEFT_TOOLS_DIR:-$HOME/.cache/weft-tools}"
binary="$tools/bin/tansu"
if [[ -x "$binary" ]] && "$binary" --version 2>/dev/null | grep -q "$version"; then
    echo "[install-tansu] tansu $version at $binary"
    exit 0
fi
echo "[install-tansu] cargo install tansu $version (features dynostore,libsql) into $tools"
# Its own target directory, so the build does not disturb Weft's.
CARGO_TARGET_DIR="$tools/target" cargo install --locked --quiet --root "$tools" tansu \
    --version "$version" --features dynostore,libsql
rm -rf "$tools/target"
echo "[install-tansu] installed $("$binary" --version 2>/dev/null | head -1) at $binary"
