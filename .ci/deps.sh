#!/bin/sh
# Installs the Debian 12 packages spindle needs to build, test and benchmark, if missing:
# the compiler and build tools, Boost, Google Benchmark, OpenSSL (TLS), libcurl (http::fetch),
# liburing (the io_uring backend), fio (bench_files compares file reads against it),
# and the programs the tests and benchmarks run as peers (python3 for the asyncio twins and
# with websockets for the WebSocket tests, openssl, curl, nginx, wrk, gdb for its extension's test). Extra packages (CI's clang and valgrind) can be named in $EXTRA.
set -eu
pkgs="g++ meson ninja-build pkg-config python3 python3-websockets libboost1.81-dev libboost-context1.81-dev libboost-test1.81-dev libboost-json1.81-dev libboost-url1.81-dev zlib1g-dev libbenchmark-dev libssl-dev libcurl4-openssl-dev openssl curl nginx-light wrk libpq-dev libsqlite3-dev liburing-dev fio postgresql redis-server redis-tools gdb ${EXTRA:-}"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing
fi
