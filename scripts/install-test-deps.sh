#!/usr/bin/env bash
# Install the real OpenTelemetry SDK clients that Weft's integration tests spawn:
#   * a Python venv with tests/sdk/python/requirements.txt
#   * tests/sdk/node/node_modules via `npm ci` (from package-lock.json)
# and the browser the web UI's end-to-end tests drive:
#   * Debian's `chromium` at /usr/bin/chromium, via apt-get when missing (needs root or sudo)
# and the ClickHouse server the ClickHouse store's tests start on loopback:
#   * Debian's `clickhouse-server` (18.16) at /usr/sbin/clickhouse-server, likewise
# and the Kafka-protocol broker the distributed shape's tests start on loopback:
#   * tansu from crates.io, by scripts/install-tansu.sh, cached in ~/.cache/weft-tools
# Idempotent: each step is skipped when its lock/requirements file is unchanged
# since the last successful install (a sha256 stamp is kept next to the install).
#
# Environment:
#   WEFT_TEST_VENV   venv location (default: $HOME/.cache/weft-test-venv)
#   PYTHON           interpreter used to create the venv (default: python3)
#   WEFT_FORCE_INSTALL=1  reinstall even if the stamps match
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${WEFT_TEST_VENV:-$HOME/.cache/weft-test-venv}"
python="${PYTHON:-python3}"
force="${WEFT_FORCE_INSTALL:-0}"
py_req="$repo_root/tests/sdk/python/requirements.txt"
node_dir="$repo_root/tests/sdk/node"

log() { echo "[install-test-deps] $*"; }

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# Debian packages, as root or through sudo.
apt_install() {
    local sudo=""
    [[ "$(id -u)" == 0 ]] || sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

# ---------------------------------------------------------------- Python ----
py_stamp="$venv/.weft-requirements.sha256"
py_want="$(sha_of "$py_req")"
if [[ "$force" != 1 && -x "$venv/bin/python" && -f "$py_stamp" && "$(cat "$py_stamp")" == "$py_want" ]]; then
    log "python: venv $venv already has $(basename "$py_req") (sha256 ${py_want:0:12}), skipping"
else
    if [[ ! -x "$venv/bin/python" ]]; then
        command -v "$python" >/dev/null || { log "error: '$python' not found (set PYTHON=...)"; exit 1; }
        log "python: creating venv $venv with $("$python" --version 2>&1) ($(command -v "$python"))"
        mkdir -p "$(dirname "$venv")"
        "$python" -m venv "$venv"
    else
        log "python: reusing venv $venv ($("$venv/bin/python" --version 2>&1))"
    fi
    log "python: pip install -r $py_req"
    "$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$py_req"
    echo "$py_want" > "$py_stamp"
    log "python: installed: $("$venv/bin/python" -m pip freeze --disable-pip-version-check | grep -i '^opentelemetry' | tr '\n' ' ')"
fi

# ------------------------------------------------------------------ Node ----
command -v npm >/dev/null || { log "error: npm not found"; exit 1; }
node_stamp="$node_dir/node_modules/.weft-package-lock.sha256"
node_want="$(sha_of "$node_dir/package-lock.json")"
if [[ "$force" != 1 && -f "$node_stamp" && "$(cat "$node_stamp")" == "$node_want" ]]; then
    log "node: $node_dir/node_modules matches package-lock.json (sha256 ${node_want:0:12}), skipping"
else
    log "node: npm ci in $node_dir (node $(node --version), npm $(npm --version 2>/dev/null))"
    (cd "$node_dir" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
    echo "$node_want" > "$node_stamp"
fi

# -------------------------------------------------------------- Chromium ----
chromium="${WEFT_CHROMIUM:-/usr/bin/chromium}"
if [[ -x "$chromium" ]]; then
    log "chromium: $("$chromium" --version 2>/dev/null | head -1) at $chromium"
else
    command -v apt-get >/dev/null || { log "error: $chromium missing and no apt-get to install it; install Chromium and set WEFT_CHROMIUM"; exit 1; }
    log "chromium: apt-get install chromium"
    apt_install chromium fonts-dejavu-core
    log "chromium: installed $("$chromium" --version 2>/dev/null | head -1)"
fi

# ------------------------------------------------------------ ClickHouse ----
# Debian's server (18.16): the ClickHouse store's tests start their own on loopback.
clickhouse="${WEFT_CLICKHOUSE_SERVER:-/usr/sbin/clickhouse-server}"
if [[ -x "$clickhouse" ]]; then
    log "clickhouse: $clickhouse"
else
    command -v apt-get >/dev/null || { log "error: $clickhouse missing and no apt-get to install it; install clickhouse-server and set WEFT_CLICKHOUSE_SERVER"; exit 1; }
    log "clickhouse: apt-get install clickhouse-server"
    apt_install clickhouse-server
    # The package starts a system server on :8123/:9000 where it can; the tests start their own.
    log "clickhouse: installed $clickhouse"
fi

# ----------------------------------------------------------------- tansu ----
# The Kafka-protocol broker the distributed shape's tests start on loopback, built from
# crates.io once and cached outside the clone (the first build takes 15-25 minutes).
bash "$repo_root/scripts/install-tansu.sh"
tansu="${WEFT_TANSU:-${WEFT_TOOLS_DIR:-$HOME/.cache/weft-tools}/bin/tansu}"

log "done: python=$venv/bin/python node_sdk=$node_dir chromium=$chromium clickhouse=$clickhouse tansu=$tansu"
