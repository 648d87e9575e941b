#!/usr/bin/env bash
# The distributed shape on one machine, all on loopback: a Kafka-protocol broker (tansu), a
# ClickHouse server, one `weft collector`, two `weft processor`s in one consumer group and a
# `weft query` node, over a spans topic and a logs topic. Logs and data go to
# $WEFT_CLUSTER_DIR (default ./weft-cluster); stop it all with scripts/distributed-down.sh.
#
#   scripts/distributed-up.sh            # builds weft (release) first
#   WEFT_BIN=target/debug/weft scripts/distributed-up.sh
#
# Ports: broker 127.0.0.1:9092, ClickHouse HTTP 127.0.0.1:8123, collector OTLP gRPC :4317,
# OTLP HTTP :4318, Zipkin :9411, query API and UI :16686, processors' /metrics :16687/:16688.
#
# Needs: tansu (scripts/install-tansu.sh caches it in ~/.cache/weft-tools) and
# clickhouse-server (scripts/install-test-deps.sh installs Debian's).
set -euo pipefail
repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cluster="${WEFT_CLUSTER_DIR:-$PWD/weft-cluster}"
partitions="${WEFT_PARTITIONS:-4}"
topic="${WEFT_KAFKA_TOPIC:-weft-spans}"
logs_topic="${WEFT_KAFKA_LOGS_TOPIC:-weft-logs}"
logs_partitions="${WEFT_LOGS_PARTITIONS:-2}"
tansu="${WEFT_TANSU:-$HOME/.cache/weft-tools/bin/tansu}"
clickhouse="${WEFT_CLICKHOUSE_SERVER:-/usr/sbin/clickhouse-server}"
mkdir -p "$cluster"/{clickhouse,tansu,logs}

log() { echo "[distributed-up] $*"; }

if [[ -z "${WEFT_BIN:-}" ]]; then
    log "building weft (release)"
    (cd "$repo_root" && cargo build --release -q -p weft)
    WEFT_BIN="${CARGO_TARGET_DIR:-$repo_root/target}/release/weft"
fi
[[ -x "$tansu" ]] || { log "error: no tansu at $tansu; run scripts/install-tansu.sh"; exit 1; }
[[ -x "$clickhouse" ]] || { log "error: no clickhouse-server at $clickhouse; run scripts/install-test-deps.sh"; exit 1; }

wait_for_port() { # port what
    for _ in $(seq 1 300); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.1
    done
    log "error: $2 did not open port $1 (see $cluster/logs)"; exit 1
}

start() { # name command...
    local name="$1"; shift
    "$@" >"$cluster/logs/$name.out" 2>"$cluster/logs/$name.log" &
    echo $! >"$cluster/$name.pid"
    log "started $name (pid $!)"
}

ch="$cluster/clickhouse"
cat >"$ch/config.xml" <<EOF
<?xml version="1.0"?>
<yandex>
    <logger><level>warning</level><console>1</console></logger>
    <http_port>8123</http_port>
    <tcp_port>9000</tcp_port>
    <listen_host>127.0.0.1</listen_host>
    <path>$ch/data/</path>
    <tmp_path>$ch/tmp/</tmp_path>
    <user_files_path>$ch/user_files/</user_files_path>
    <format_schema_path>$ch/format_schemas/</format_schema_path>
    <users_config>users.xml</users_config>
    <default_profile>default</default_profile>
    <default_database>default</default_database>
    <mark_cache_size>268435456</mark_cache_size>
</yandex>
EOF
cat >"$ch/users.xml" <<'EOF'
<?xml version="1.0"?>
<yandex>
    <profiles><default></default></profiles>
    <users><default><password></password><networks><ip>127.0.0.1</ip></networks><profile>default</profile><quota>default</quota></default></users>
    <quotas><default></default></quotas>
</yandex>
EOF
(cd "$ch" && start clickhouse "$clickhouse" --config-file="$ch/config.xml")
wait_for_port 8123 clickhouse

# Tansu resolves a sqlite:// path against its working directory.
(cd "$cluster/tansu" && RUST_LOG="${TANSU_LOG:-warn}" start tansu "$tansu" broker \
    --listener-url tcp://127.0.0.1:9092 \
    --advertised-listener-url tcp://127.0.0.1:9092 \
    --storage-engine sqlite://tansu.db)
wait_for_port 9092 tansu
for topic_and_partitions in "$topic:$partitions" "$logs_topic:$logs_partitions"; do
    name="${topic_and_partitions%:*}"; count="${topic_and_partitions##*:}"
    if "$tansu" topic create "$name" --partitions "$count" --broker tcp://127.0.0.1:9092 >>"$cluster/logs/tansu-topic.log" 2>&1; then
        log "created topic $name with $count partitions"
    else
        log "topic $name not created (it may exist already; see $cluster/logs/tansu-topic.log)"
    fi
done

common=(--kafka-brokers 127.0.0.1:9092 --kafka-topic "$topic" --kafka-logs-topic "$logs_topic"
        --clickhouse-url http://127.0.0.1:8123)
start collector "$WEFT_BIN" collector "${common[@]}" \
    --otlp-grpc-listen 127.0.0.1:4317 --otlp-http-listen 127.0.0.1:4318 \
    --zipkin-listen 127.0.0.1:9411 --http-listen 127.0.0.1:16689
start processor-1 "$WEFT_BIN" processor "${common[@]}" --http-listen 127.0.0.1:16687
start processor-2 "$WEFT_BIN" processor "${common[@]}" --http-listen 127.0.0.1:16688
start query "$WEFT_BIN" query "${common[@]}" --http-listen 127.0.0.1:16686
wait_for_port 4317 collector
wait_for_port 16686 query
log "ready: send OTLP to 127.0.0.1:4317 (gRPC) or http://127.0.0.1:4318/v1/traces; UI at http://127.0.0.1:16686"
log "e.g. $WEFT_BIN gen --endpoint http://127.0.0.1:4317 --rate 200"
