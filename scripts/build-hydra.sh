#!/usr/bin/env bash
# Builds the pinned Ory Hydra (tools/hydra, a Go tool dependency) into
# ${OUT:-<repo>/.cache/bin}/hydra: the certified OIDC provider of the
# end-to-end tests. Skipped when the binary is newer than tools/hydra/go.mod,
# go.sum and this script; FORCE=1 rebuilds.
#
# Hydra needs cgo (SQLite, for its in-memory database): CGO_ENABLED=1 and
# the sqlite tags. Measured on 2 cores with empty Go caches: 54 s (another
# machine took 11 minutes); seconds warm.
set -euo pipefail
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tooldir="$repo/tools/hydra"
OUT="${OUT:-$repo/.cache/bin}"
mkdir -p "$OUT"
bin="$OUT/hydra"
if [[ "${FORCE:-0}" != "1" && -x "$bin" && "$bin" -nt "$tooldir/go.mod" && "$bin" -nt "$tooldir/go.sum" && "$bin" -nt "$0" ]]; then
  echo "build-hydra: $bin is up to date, skipped"
  exit 0
fi
echo "build-hydra: building Ory Hydra into $bin (cold: a minute or more)"
start=$SECONDS
tmp="$bin.tmp.$$"
trap 'rm -f "$tmp"' EXIT
cd "$tooldir"
GOWORK=off CGO_ENABLED=1 go build -mod=readonly -trimpath \
  -tags sqlite,sqlite_omit_load_extension -o "$tmp" github.com/ory/hydra/v2
mv -f "$tmp" "$bin"
trap - EXIT
echo "build-hydra: built in $((SECONDS - start))s"
