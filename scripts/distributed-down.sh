#!/usr/bin/env bash
# Stops what scripts/distributed-up.sh started: the Weft roles first (SIGTERM: processors flush
# and commit), then the broker and ClickHouse. Data stays in $WEFT_CLUSTER_DIR.
set -euo pipefail
cluster="${WEFT_CLUSTER_DIR:-$PWD/weft-cluster}"
for name in collector processor-1 processor-2 query tansu clickhouse; do
    pid_file="$cluster/$name.pid"
    [[ -f "$pid_file" ]] || continue
    pid="$(cat "$pid_file")"
    if kill -TERM "$pid" 2>/dev/null; then
        for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        echo "[distributed-down] stopped $name (pid $pid)"
    fi
    rm -f "$pid_file"
done
