#!/usr/bin/env bash
# Runs Weft's cargo-fuzz targets (fuzz/fuzz_targets/*.rs) for a while each.
#
#   scripts/fuzz.sh                 every target, 60 s each
#   scripts/fuzz.sh otlp_json 300   one target, 300 s
#   scripts/fuzz.sh all 120         every target, 120 s each
#
# Each target reads fuzz/seeds/<target> (committed, read-only) and grows fuzz/corpus/<target>
# (gitignored; libFuzzer writes new inputs to the first corpus directory it is given), with
# fuzz/dicts/<target>.dict as its dictionary where there is one. A crash,
# a failed assertion, a timeout or running out of memory saves the input under
# fuzz/artifacts/<target>/ and makes this script exit non-zero after the other targets ran.
# Needs cargo-fuzz (`cargo install cargo-fuzz --locked`); see fuzz/README.md.
#
# FUZZ_SANITIZER (default none) picks cargo-fuzz's --sanitizer. Weft's crates deny unsafe code,
# so AddressSanitizer could only catch memory errors in dependencies, and it makes the targets
# 5x (decoders) to 15x (WAL) slower; FUZZ_SANITIZER=address runs them under it anyway.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

ALL_TARGETS=(otlp_protobuf otlp_json zipkin_json otlp_logs wal_segment otlp_protobuf_scan segment_file)
target="${1:-all}"
seconds="${2:-60}"
sanitizer="${FUZZ_SANITIZER:-none}"

if ! [[ "$seconds" =~ ^[0-9]+$ ]] || (( seconds < 1 )); then
    # libFuzzer reads -max_total_time=0 as "no limit".
    echo "fuzz.sh: seconds must be a positive integer, got '$seconds'" >&2
    exit 2
fi
if [[ "$target" == all ]]; then
    targets=("${ALL_TARGETS[@]}")
elif [[ " ${ALL_TARGETS[*]} " == *" $target "* ]]; then
    targets=("$target")
else
    echo "fuzz.sh: unknown target '$target'; expected one of: all ${ALL_TARGETS[*]}" >&2
    exit 2
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "fuzz.sh: cargo-fuzz is not installed: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

# cargo-fuzz passes -Z flags (sanitizers, sancov); the toolchain pinned by rust-toolchain.toml
# is stable, and RUSTC_BOOTSTRAP=1 lets it accept them.
export RUSTC_BOOTSTRAP=1
# The fuzz crate is its own workspace with its own target directory (gitignored), whatever
# target-dir a user-level cargo config sets: its sanitizer-instrumented builds must not mix with
# the main workspace's.
FUZZ_TARGET_DIR=fuzz/target

build_flags=(--sanitizer "$sanitizer" --target-dir "$FUZZ_TARGET_DIR")

cargo fuzz build "${build_flags[@]}"

failed=()
for name in "${targets[@]}"; do
    mkdir -p "fuzz/corpus/$name" "fuzz/artifacts/$name"
    libfuzzer_flags=(-max_total_time="$seconds" -timeout=10 -print_final_stats=1)
    if [[ -f "fuzz/dicts/$name.dict" ]]; then
        libfuzzer_flags+=(-dict="fuzz/dicts/$name.dict")
    fi
    echo "=== fuzz.sh: $name for ${seconds}s (sanitizer: $sanitizer)" >&2
    if ! cargo fuzz run "${build_flags[@]}" "$name" \
        "fuzz/corpus/$name" "fuzz/seeds/$name" -- "${libfuzzer_flags[@]}"; then
        failed+=("$name")
    fi
done

if (( ${#failed[@]} > 0 )); then
    echo "fuzz.sh: FAILED: ${failed[*]} (inputs under fuzz/artifacts/<target>/; see fuzz/README.md)" >&2
    exit 1
fi
echo "fuzz.sh: no crash in ${targets[*]} (${seconds}s each)" >&2
