#!/usr/bin/env bash
# OTLP ingest -> durable WAL -> queryable throughput of `weft serve` (release build), measured
# as spans/s and spans per second of the server's own CPU time (utime+stime from /proc, so the
# load generator's CPU is not counted). The generator replays pre-encoded requests of realistic
# spans. While it runs, a probe sends one small trace every 0.5 s over OTLP/HTTP and polls the
# Weft API until the trace is found: acknowledgement -> queryable latency under load.
#
#   scripts/bench-ingest.sh [grpc|http] [seconds] [concurrency] [extra weft serve flags...]
#   RATE=100000 scripts/bench-ingest.sh ...   # a fixed offered load instead of "as fast as acknowledged"
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
load_started="$(date +%s.%N)"
python3 - "$http" "$api" "$seconds" >"$work/probe" <<'PY' &
import json, os, sys, time, urllib.request
http, api, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
latencies = []
deadline = time.time() + seconds - 1
while time.time() < deadline:
    trace_id = os.urandom(16).hex()
    now = time.time_ns()
    body = json.dumps({"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "probe"}}]},
        "scopeSpans": [{"spans": [{"traceId": trace_id, "spanId": os.urandom(8).hex(), "name": "probe",
        "startTimeUnixNano": str(now), "endTimeUnixNano": str(now + 1000)}]}]}]}).encode()
    request = urllib.request.Request(f"http://{http}/v1/traces", body, {"Content-Type": "application/json"})
    opener.open(request).read()
    acknowledged = time.perf_counter()
    while True:
        try:
            opener.open(f"http://{api}/api/v1/traces/{trace_id}").read()
            break
        except urllib.error.HTTPError as error:
            if error.code != 404:
                raise
        time.sleep(0.002)
    latencies.append((time.perf_counter() - acknowledged) * 1000)
    time.sleep(0.5)
latencies.sort()
pick = lambda q: latencies[min(len(latencies) - 1, round(q * (len(latencies) - 1)))]
print(f"ack -> queryable (probe, n={len(latencies)}) p50 {pick(0.5):.1f} ms  p99 {pick(0.99):.1f} ms  max {latencies[-1]:.1f} ms")
PY
probe=$!
"$weft" gen --endpoint "$endpoint" --protocol "$protocol" --rate "${RATE:-0}" --duration "${seconds}s" \
  --concurrency "$concurrency" --traces-per-request 20 --pregenerate 400 2>/dev/null | tee "$work/gen"
# Queryable means the pipeline has put every acknowledged span into the store's memtable.
drain_started="$(date +%s.%N)"
for _ in $(seq 3000); do
  health="$(curl -s "http://$api/health")"
  python3 -c 'import json,sys; h=json.load(sys.stdin); sys.exit(0 if h["pipeline"]["queueDepthRecords"] == 0 else 1)' <<<"$health" && break
  sleep 0.1
done
drain_seconds="$(python3 -c "import time; print(time.time() - $drain_started)")"
after="$(cpu_ticks)"; thread_ticks >"$work/threads_after"
wait "$probe"
cat "$work/probe"
metrics="$(curl -s "http://$api/metrics")"
metric() { awk -v name="$1" '$1 == name {print $2}' <<<"$metrics"; }
accepted="$(metric "weft_receiver_accepted_spans_total{receiver=\"otlp_$protocol\"}")"
wal_bytes="$(metric weft_wal_appended_bytes_total)"
commits="$(metric weft_wal_group_commits_total)"
records="$(metric weft_wal_appended_records_total)"
python3 - "$accepted" "$wal_bytes" "$commits" "$records" "$before" "$after" "$ticks_per_second" "$seconds" "$work" "$drain_seconds" <<'PY'
import sys
accepted, wal_bytes, commits, records, before, after, hz, seconds = map(float, sys.argv[1:9])
work = sys.argv[9]
drain = float(sys.argv[10])
def threads(name):
    return {line.split()[0]: int(line.split()[1]) for line in open(f"{work}/{name}") if line.strip()}
thread_before, thread_after = threads("threads_before"), threads("threads_after")
thread_cpu = {name: (thread_after[name] - thread_before.get(name, 0)) / hz for name in thread_after}
cpu = (after - before) / hz
cpu_window = seconds + drain
print(f"accepted spans          {accepted:,.0f}")
print(f"wall time               {seconds:.0f} s   -> {accepted / seconds:,.0f} spans/s")
print(f"queryable after         {seconds + drain:.1f} s (backlog drained {drain:.1f} s after the load) -> {accepted / (seconds + drain):,.0f} spans/s ingest -> queryable")
print(f"server cpu              {cpu:.2f} s   -> {accepted / cpu:,.0f} spans per cpu-second (per core), store flushes and compaction included")
print(f"protobuf bytes per span {wal_bytes / accepted:.0f}")
print(f"batches per group commit {records / commits:.1f}")
ingest = sum(seconds_ for name, seconds_ in thread_cpu.items() if name != "weft-pipeline")
pipeline = thread_cpu.get("weft-pipeline", 0.0)
metric_store = sum(seconds_ for name, seconds_ in thread_cpu.items() if name.startswith("weft-metric-st"))
ingest -= thread_cpu.get("weft-store", 0.0) + thread_cpu.get("weft-compaction", 0.0) + metric_store
print(f"  ingest -> durable wal  {ingest:.2f} cpu-s -> {accepted / ingest:,.0f} spans per cpu-second (receivers, wal writer, runtime)")
print(f"  pipeline (decode+convert+memtable+stream metrics) {pipeline:.2f} cpu-s -> {accepted / max(pipeline, 1e-9):,.0f} spans per cpu-second")
store = thread_cpu.get("weft-store", 0.0) + thread_cpu.get("weft-compaction", 0.0)
print(f"  store (flush+compaction) {store:.2f} cpu-s -> {accepted / max(store, 1e-9):,.0f} spans per cpu-second")
print(f"  metric store (compaction+retention) {metric_store:.2f} cpu-s")
for name, seconds_ in sorted(thread_cpu.items(), key=lambda item: -item[1]):
    print(f"    thread {name:<18} {seconds_:6.2f} cpu-s")
PY
