#!/usr/bin/env bash
# make bench: the side-by-side load run (BENCH_OUT=BENCHMARKS.md, which make
# bench sets, also writes it into that file).
#
# Builds what is missing (bin/caddy, which `make build` normally builds
# first; the pinned MinIO and Traefik into .cache/bin) and the e2e test
# binary, then runs its BenchmarkGateways (e2e/bench_main_test.go): MinIO,
# an OpenID provider, Caddy with sts_token and Traefik with the plugin on
# loopback, started by the end-to-end tests' harness, closed-loop load
# through each and straight at MinIO, a soak and the cache burst. The
# Markdown table goes to stdout and, when BENCH_OUT names a file, into it
# between its stsbench markers; progress goes to stderr.
#
#   BENCH_DURATION     measured time per row            (default 10s)
#   BENCH_CONCURRENCY  closed-loop workers              (default 16)
#   BENCH_SOAK         soak per gateway, 0 to skip      (default 60s)
#   BENCH_OUT          Markdown file to update          (default: none, stdout only)
#
#   BENCH_DURATION=3s BENCH_SOAK=10s scripts/bench.sh    a quick look
#   scripts/bench.sh -pprof .cache/pprof                 extra options (bench_main_test.go)
#
# A full run takes about 6 minutes once everything is built. Other load on the machine shows in the
# numbers; the report records the load average.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
bindir=$root/.cache/bin
mkdir -p "$bindir"
# Each module builds with exactly its own go.mod, as make does.
export GOWORK=off

duration=${BENCH_DURATION:-10s}
concurrency=${BENCH_CONCURRENCY:-16}
soak=${BENCH_SOAK:-60s}
out=${BENCH_OUT:--}
[[ "$out" == - || "$out" == /* ]] || out=$root/$out

if [[ ! -x bin/caddy ]]; then
  echo "bench: building bin/caddy"
  (cd caddymodule && go build -o "$root/bin/caddy" ./cmd/caddy)
fi
scripts/build-minio.sh
scripts/build-traefik.sh
echo "bench: building the e2e test binary"
(cd e2e && go test -tags stsbench -c -o "$bindir/e2e.test" .)

command="BENCH_DURATION=$duration BENCH_CONCURRENCY=$concurrency BENCH_SOAK=$soak scripts/bench.sh${*:+ $*}"
# From e2e/, as go test runs it: the harness finds bin/caddy, .cache/bin/minio
# and .cache/bin/traefik from there (or from STSGATE_CADDY, _MINIO, _TRAEFIK).
cd e2e
export STSGATE_REQUIRE_BINARIES=1
exec "$bindir/e2e.test" -test.run '^$' -test.bench '^BenchmarkGateways$' -test.benchtime 1x -test.timeout 0 \
  -- \
  -duration "$duration" \
  -c "$concurrency" \
  -soak "$soak" \
  -out "$out" \
  -command "$command" \
  "$@"
