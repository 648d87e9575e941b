#!/usr/bin/env bash
# The distributed shape's write path on this machine: `weft gen` sends N realistic spans as
# fast as the collector acknowledges them; the collector produces to Kafka (tansu), P
# processors in one group insert into ClickHouse. Reports:
#   * acknowledged spans/s (collector, from weft gen),
#   * spans/s to stored (first request to the last span's row in ClickHouse),
#   * CPU per span per role (utime+stime of each process over the run, from /proc),
#   * bytes per span in ClickHouse (compressed column data of weft.spans after OPTIMIZE FINAL).
# Everything runs on this one machine (broker, ClickHouse, generator and the Weft roles share
# its cores), with a cluster of its own in a temporary directory and loopback ports.
#
#   scripts/bench-distributed.sh [processors] [spans] [partitions] [stream|backlog]
#
# stream (default): the processors run while the load is sent; "stored" is first request to
# last row. backlog: the load is sent into the topic first, then the processors start and drain
# it; "stored" is processor start to last row (the processors' own rate), and the collector's
# CPU is not in the drain's figures. PROCESSOR_FLAGS adds flags to each processor (e.g.
# "--clickhouse-batch-spans 10000").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
processors="${1:-1}"; spans="${2:-300000}"; partitions="${3:-4}"; mode="${4:-stream}"
[[ "$mode" == stream || "$mode" == backlog ]] || { echo "mode must be stream or backlog, got $mode" >&2; exit 2; }
cargo build --release --locked -p weft >/dev/null 2>&1 || cargo build --release --locked -p weft
target="${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')}"
weft="$target/release/weft"
tansu="${WEFT_TANSU:-$HOME/.cache/weft-tools/bin/tansu}"
clickhouse_server="${WEFT_CLICKHOUSE_SERVER:-/usr/sbin/clickhouse-server}"
work="$(mktemp -d)"
pids=()
cleanup() { for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
# A step that fails says which and shows the roles' logs before the work directory goes.
show_logs() { tail -n 30 "$work"/*.log "$work"/*.out >&2 || true; }
trap 'echo "[bench-distributed] failed at line $LINENO" >&2; show_logs' ERR
fail() { echo "[bench-distributed] $*" >&2; show_logs; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_port() { for _ in $(seq 300); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.1; done; echo "port $1 did not open" >&2; exit 1; }

ch_port="$(free_port)"; ch_tcp="$(free_port)"; kafka_port="$(free_port)"
mkdir -p "$work/ch" "$work/tansu"
cat >"$work/ch/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><console>1</console></logger>
    <http_port>$ch_port</http_port><tcp_port>$ch_tcp</tcp_port><listen_host>127.0.0.1</listen_host>
    <path>$work/ch/data/</path><tmp_path>$work/ch/tmp/</tmp_path>
    <user_files_path>$work/ch/user_files/</user_files_path><format_schema_path>$work/ch/fs/</format_schema_path>
    <users_config>users.xml</users_config><default_profile>default</default_profile>
    <default_database>default</default_database><mark_cache_size>268435456</mark_cache_size>
</yandex>
EOF
cat >"$work/ch/users.xml" <<'EOF'
<?xml version="1.0"?>
<yandex><profiles><default></default></profiles>
<users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
<quotas><default></default></quotas></yandex>
EOF
# exec: $! is then the server itself, whose CPU time the report reads.
(cd "$work/ch" && exec "$clickhouse_server" --config-file="$work/ch/config.xml" >"$work/ch.log" 2>&1) &
pids+=($!); ch_pid=$!
(cd "$work/tansu" && exec "$tansu" broker --listener-url "tcp://127.0.0.1:$kafka_port" \
  --advertised-listener-url "tcp://127.0.0.1:$kafka_port" --storage-engine sqlite://tansu.db >"$work/tansu.log" 2>&1) &
pids+=($!); tansu_pid=$!
wait_port "$ch_port"; wait_port "$kafka_port"
"$tansu" topic create weft-spans --partitions "$partitions" --broker "tcp://127.0.0.1:$kafka_port" >/dev/null
ch() { curl -sf "http://127.0.0.1:$ch_port/" --data-binary "$1"; }

common=(--kafka-brokers "127.0.0.1:$kafka_port" --clickhouse-url "http://127.0.0.1:$ch_port" --http-listen 127.0.0.1:0)
start_role() { # name args...
  local name="$1"; shift
  "$weft" "$@" "${common[@]}" >"$work/$name.out" 2>"$work/$name.log" &
  pids+=($!); eval "${name//-/_}_pid=$!"
  for _ in $(seq 300); do grep -q "weft listening" "$work/$name.out" 2>/dev/null && return 0; sleep 0.1; done
  echo "$name did not start:"; cat "$work/$name.log"; exit 1
}
start_role collector collector --otlp-grpc-listen 127.0.0.1:0 --otlp-http-listen 127.0.0.1:0 --zipkin-listen 127.0.0.1:0
grpc="$(sed -n 's/.* otlp_grpc=\([^ ]*\).*/\1/p' "$work/collector.out")"
processor_pids=()
start_processors() {
  for index in $(seq 1 "$processors"); do
    # shellcheck disable=SC2086 # PROCESSOR_FLAGS is a list of flags
    start_role "processor-$index" processor ${PROCESSOR_FLAGS:-}
    processor_pids+=("$(eval echo "\$processor_${index}_pid")")
  done
}
ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
processor_ticks() { local sum=0; for pid in "${processor_pids[@]}"; do sum=$(( sum + $(ticks "$pid") )); done; echo "$sum"; }
hz="$(getconf CLK_TCK)"
if [[ "$mode" == stream ]]; then
  start_processors
  # Let the group settle before the load (every partition assigned).
  for _ in $(seq 150); do
    assigned=$(cat "$work"/processor-*.log | grep -c "partition assigned" || true)
    revoked=$(cat "$work"/processor-*.log | grep -c "partition revoked" || true)
    (( assigned - revoked == partitions )) && break
    sleep 0.2
  done
  sleep 2
fi
collector_before="$(ticks "$collector_pid")"; ch_before="$(ticks "$ch_pid")"; tansu_before="$(ticks "$tansu_pid")"
processors_before="$(processor_ticks)"
started="$(date +%s.%N)"; load_started="$started"
# Not --pregenerate: replayed requests repeat span IDs, which the ReplacingMergeTree rightly
# collapses, so the stored count would never reach the sent one.
"$weft" gen --endpoint "http://$grpc" --rate 0 --spans "$spans" --concurrency 8 --no-logs >"$work/gen.out" 2>"$work/gen.log"
acknowledged_at="$(date +%s.%N)"
cat "$work/gen.out"
# Only acknowledged spans are owed a row (a throttled request's spans were not taken).
sent="$(sed -n 's/.*: accepted \([0-9]*\) (.*/\1/p' "$work/gen.out")"
[[ -n "$sent" && "$sent" -gt 0 ]] || fail "weft gen accepted nothing"
if [[ "$mode" == backlog ]]; then
  # The whole load waits in the topic; the processors start now and drain it (their group
  # forming, and with two a rebalance while they drain, included).
  ch_before="$(ticks "$ch_pid")"; tansu_before="$(ticks "$tansu_pid")"
  started="$(date +%s.%N)"
  start_processors
  processors_before=0
fi
deadline=$(( $(date +%s) + ${WAIT_SECONDS:-600} ))
while :; do
  stored="$(ch "SELECT count() FROM (SELECT trace_id, span_id FROM weft.spans LIMIT 1 BY trace_id, span_id)")"
  (( stored >= sent )) && break
  (( $(date +%s) < deadline )) || fail "only $stored of $sent spans stored after ${WAIT_SECONDS:-600} s"
  sleep 0.2
done
stored_at="$(date +%s.%N)"
collector_cpu=$(( $(ticks "$collector_pid") - collector_before )); ch_cpu=$(( $(ticks "$ch_pid") - ch_before )); tansu_cpu=$(( $(ticks "$tansu_pid") - tansu_before ))
processors_cpu=$(( $(processor_ticks) - processors_before ))
ch "OPTIMIZE TABLE weft.spans FINAL" >/dev/null
rows="$(ch "SELECT count() FROM weft.spans")"
bytes="$(ch "SELECT sum(data_compressed_bytes) FROM system.columns WHERE database = 'weft' AND table = 'spans'")"
python3 - "$processors" "$partitions" "$sent" "$rows" "$bytes" "$load_started" "$started" "$acknowledged_at" "$stored_at" \
  "$collector_cpu" "$processors_cpu" "$ch_cpu" "$tansu_cpu" "$hz" "$mode" <<'PY'
import sys
processors, partitions, sent, rows, size = (int(v) for v in sys.argv[1:6])
load_started, started, acked, stored = (float(v) for v in sys.argv[6:10])
collector, processing, clickhouse, broker, hz = (int(v) for v in sys.argv[10:15])
us = lambda ticks: ticks / hz / sent * 1e6
print(f"mode={sys.argv[15]} processors={processors} partitions={partitions} spans={sent} stored_rows_after_merge={rows}")
print(f"acknowledged: {sent / (acked - load_started):,.0f} spans/s; stored in clickhouse: {sent / (stored - started):,.0f} spans/s ({stored - started:.1f} s)")
print(f"cpu per span: collector {us(collector):.1f} us, processors {us(processing):.1f} us, clickhouse {us(clickhouse):.1f} us, broker (tansu) {us(broker):.1f} us")
print(f"clickhouse bytes per span (compressed columns, after merge): {size / rows:.1f}")
PY
echo "largest columns (compressed bytes per span):"
ch "SELECT name, round(data_compressed_bytes / $rows, 1) FROM system.columns WHERE database = 'weft' AND table = 'spans' ORDER BY data_compressed_bytes DESC LIMIT 8 FORMAT TSV" | sed 's/^/  /'
# The modern profile on the same rows, when the test venv has chdb (a modern ClickHouse in
# process): the server here is 18.16, which gets the legacy profile.
venv_python="${WEFT_TEST_VENV:-$HOME/.cache/weft-test-venv}/bin/python"
if [[ -x "$venv_python" ]] && "$venv_python" -c 'import chdb' 2>/dev/null; then
  curl -sf "http://127.0.0.1:$ch_port/" --data-binary "SELECT * FROM weft.spans FORMAT Native" >"$work/spans.native"
  "$venv_python" tests/clickhouse/modern_bytes.py "$work/spans.native" crates/weft-clickhouse/src/golden/statements.sql
fi
