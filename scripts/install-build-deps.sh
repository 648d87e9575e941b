#!/usr/bin/env bash
# Installs what building Weft needs beyond the Rust toolchain and Node: CMake and libcurl's
# headers, which the Kafka client (rdkafka with librdkafka built by CMake) compiles against.
# Debian's packages, through apt-get (as root or with sudo); does nothing when they are there.
set -euo pipefail
missing=()
command -v cmake >/dev/null || missing+=(cmake)
[[ -f /usr/include/x86_64-linux-gnu/curl/curl.h || -f /usr/include/curl/curl.h ]] || missing+=(libcurl4-openssl-dev)
if (( ${#missing[@]} == 0 )); then
    echo "[install-build-deps] cmake $(cmake --version | head -1 | awk '{print $3}') and libcurl headers present"
    exit 0
fi
command -v apt-get >/dev/null || { echo "[install-build-deps] error: install ${missing[*]} (no apt-get here)"; exit 1; }
sudo=""
[[ "$(id -u)" == 0 ]] || sudo="sudo"
echo "[install-build-deps] apt-get install ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "[install-build-deps] installed ${missing[*]}"
