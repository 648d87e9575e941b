#!/usr/bin/env bash
# Before/after ingest benchmark: alternates `scripts/bench-ingest.sh` between a work tree of an
# earlier commit and this one, so both see the same machine state. Each side is its own release
# build (the earlier one in its own target directory).
#
#   scripts/bench-ab.sh BEFORE_COMMIT [rounds] [bench-ingest.sh arguments...]
#   RATE=100000 scripts/bench-ab.sh 28fb796 3 grpc 30 8
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
before_commit="$1"; rounds="${2:-3}"; shift $(( $# < 2 ? $# : 2 ))
before_tree="${BEFORE_TREE:-${TMPDIR:-/tmp}/weft-before-$before_commit}"
before_target="${BEFORE_TARGET_DIR:-$HOME/.cache/weft-before-target}"
[[ -d "$before_tree" ]] || git worktree add --detach "$before_tree" "$before_commit" >/dev/null
for round in $(seq "$rounds"); do
  for side in before after; do
    echo "=== round $round: $side"
    if [[ "$side" == before ]]; then
      (cd "$before_tree" && CARGO_TARGET_DIR="$before_target" scripts/bench-ingest.sh "$@")
    else
      scripts/bench-ingest.sh "$@"
    fi
  done
done
