#!/usr/bin/env bash
# Build the pinned real Traefik v3 binary (Go tool dependency in tools/traefik)
# into ${OUT:-<repo>/.cache/bin}/traefik.
#
# Skips the build when the binary already exists and is newer than every input
# (tools/traefik/go.mod, go.sum, the ext stand-in module and this script).
# FORCE=1 rebuilds anyway. Measured on 2 cores with empty Go caches (module
# downloads included): 4.7 minutes and ~3 GB RAM; warm builds (Go build
# cache populated) take seconds.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tooldir="$repo/tools/traefik"

OUT="${OUT:-$repo/.cache/bin}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"
bin="$OUT/traefik"

inputs=(
  "$tooldir/go.mod"
  "$tooldir/go.sum"
  "$tooldir/ext/go.mod"
  "$tooldir/ext/ext.go"
  "$repo/scripts/build-traefik.sh"
)

if [[ "${FORCE:-0}" != "1" && -x "$bin" ]]; then
  fresh=1
  for f in "${inputs[@]}"; do
    if [[ ! "$bin" -nt "$f" ]]; then
      fresh=0
      break
    fi
  done
  if [[ "$fresh" == "1" ]]; then
    echo "build-traefik: $bin is up to date, skipped"
    exit 0
  fi
fi

cd "$tooldir"
version="$(awk '$1 == "github.com/traefik/traefik/v3" && $2 ~ /^v/ { print $2; exit }' go.mod)"
if [[ -z "$version" ]]; then
  echo "build-traefik: cannot find the github.com/traefik/traefik/v3 requirement in $tooldir/go.mod" >&2
  exit 1
fi

start=$SECONDS
tmp="$bin.tmp.$$"
trap 'rm -f "$tmp"' EXIT
# GOWORK=off: this module is deliberately not part of any go.work.
# -mod=readonly: go.mod/go.sum are complete (tidied); never rewrite them.
# CGO_ENABLED=0 and the version ldflag mirror Traefik's own release build.
GOWORK=off CGO_ENABLED=0 go build -mod=readonly -trimpath \
  -ldflags "-X github.com/traefik/traefik/v3/pkg/version.Version=$version" \
  -o "$tmp" github.com/traefik/traefik/v3/cmd/traefik
mv -f "$tmp" "$bin"
trap - EXIT
echo "build-traefik: built traefik $version into $bin in $((SECONDS - start))s"
