#!/usr/bin/env bash
# OTLP ingest -> durable WAL throughput of `weft serve` (release build), measured as spans/s and
# spans per second of the server's own CPU time (utime+stime from /proc, so the load generator's
# CPU is not counted). The generator replays pre-encoded requests of realistic spans.
#
#   scripts/bench-ingest.sh [grpc|http] [seconds] [concurrency] [extra weft serve flags...]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
protocol="${1:-grpc}"; seconds="${2:-20}"; concurrency="${3:-8}"; shift $(( $# < 3 ? $# : 3 ))
cargo build --release --locked -p weft >/dev/null 2>&1 || cargo build --release --locked -p weft
target="${CARGO_TARGET_DIR:-$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')}"
weft="$target/release/weft"
work="$(mktemp -d)"
trap 'kill "$server" 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

"$weft" serve --data-dir "$work/data" --otlp-grpc-listen 127.0.0.1:0 --otlp-http-listen 127.0.0.1:0 \
  --zipkin-listen 127.0.0.1:0 --http-listen 127.0.0.1:0 "$@" >"$work/out" 2>"$work/log" &
server=$!
for _ in $(seq 100); do grep -q "weft listening" "$work/out" 2>/dev/null && break; sleep 0.1; done
line="$(head -1 "$work/out")"
addr() { sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<<"$line"; }
grpc="$(addr otlp_grpc)"; http="$(addr otlp_http)"; api="$(addr http)"
endpoint="http://$grpc"; [[ "$protocol" == http ]] && endpoint="http://$http"

# CPU ticks per thread name (weft-worker = receivers on the async runtime, weft-wal-writer,
# weft-pipeline), so ingest -> durable and the pipeline can be told apart.
thread_ticks() {
  for task in /proc/"$server"/task/*; do
    # comm may hold spaces; the fields after the closing parenthesis are fixed.
    python3 -c 'import sys; s=open(sys.argv[1]+"/stat").read(); name=s[s.index("(")+1:s.rindex(")")]; f=s[s.rindex(")")+2:].split(); print(name, int(f[11])+int(f[12]))' "$task" 2>/dev/null || true
  done | awk '{sum[$1]+=$2} END {for (name in sum) print name, sum[name]}' | sort
}
cpu_ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
ticks_per_second="$(getconf CLK_TCK)"
before="$(cpu_ticks)"; thread_ticks >"$work/threads_before"
"$weft" gen --endpoint "$endpoint" --protocol "$protocol" --rate 0 --duration "${seconds}s" \
  --concurrency "$concurrency" --traces-per-request 20 --pregenerate 400 2>/dev/null | tee "$work/gen"
after="$(cpu_ticks)"; thread_ticks >"$work/threads_after"
metrics="$(curl -s "http://$api/metrics")"
metric() { awk -v name="$1" '$1 == name {print $2}' <<<"$metrics"; }
accepted="$(metric "weft_receiver_accepted_spans_total{receiver=\"otlp_$protocol\"}")"
wal_bytes="$(metric weft_wal_appended_bytes_total)"
commits="$(metric weft_wal_group_commits_total)"
records="$(metric weft_wal_appended_records_total)"
python3 - "$accepted" "$wal_bytes" "$commits" "$records" "$before" "$after" "$ticks_per_second" "$seconds" "$work" <<'PY'
import sys
accepted, wal_bytes, commits, records, before, after, hz, seconds = map(float, sys.argv[1:9])
work = sys.argv[9]
def threads(name):
    return {line.split()[0]: int(line.split()[1]) for line in open(f"{work}/{name}") if line.strip()}
thread_before, thread_after = threads("threads_before"), threads("threads_after")
thread_cpu = {name: (thread_after[name] - thread_before.get(name, 0)) / hz for name in thread_after}
cpu = (after - before) / hz
print(f"accepted spans          {accepted:,.0f}")
print(f"wall time               {seconds:.0f} s   -> {accepted / seconds:,.0f} spans/s")
print(f"server cpu              {cpu:.2f} s   -> {accepted / cpu:,.0f} spans per cpu-second (per core)")
print(f"protobuf bytes per span {wal_bytes / accepted:.0f}")
print(f"batches per group commit {records / commits:.1f}")
ingest = sum(seconds_ for name, seconds_ in thread_cpu.items() if name != "weft-pipeline")
pipeline = thread_cpu.get("weft-pipeline", 0.0)
print(f"  ingest -> durable wal  {ingest:.2f} cpu-s -> {accepted / ingest:,.0f} spans per cpu-second (receivers, wal writer, runtime)")
print(f"  pipeline (decode+convert) {pipeline:.2f} cpu-s -> {accepted / max(pipeline, 1e-9):,.0f} spans per cpu-second")
for name, seconds_ in sorted(thread_cpu.items(), key=lambda item: -item[1]):
    print(f"    thread {name:<18} {seconds_:6.2f} cpu-s")
PY
