#!/usr/bin/env bash
# Cuts a release: scripts/release.sh vX.Y.Z
#
# A release is two tags on one commit of main: vX.Y.Z for the root module
# (what Traefik's plugin catalog and `go get` resolve) and caddymodule/vX.Y.Z
# for the Caddy module, a Go module of its own, whose go.mod must require the
# root module at the same version (its replace directive is for development
# and is ignored by xcaddy). CHANGELOG.md must have the version's section.
set -euo pipefail
version=${1:?usage: scripts/release.sh vX.Y.Z}
[[ "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+$ ]] || { echo "release: $version is not vX.Y.Z" >&2; exit 2; }
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
grep -q "^## $version " CHANGELOG.md || { echo "release: CHANGELOG.md has no '## $version' section" >&2; exit 1; }
[[ -z "$(git status --porcelain --untracked-files=no)" ]] || { echo "release: the work tree has changes" >&2; exit 1; }
for tag in "$version" "caddymodule/$version"; do
  if git rev-parse -q --verify "refs/tags/$tag" >/dev/null; then
    echo "release: tag $tag exists" >&2
    exit 1
  fi
done
(cd caddymodule && GOWORK=off go mod edit -require="github.com/stsgate/stsgate@$version")
if [[ -n "$(git status --porcelain caddymodule/go.mod)" ]]; then
  git commit -qm "release $version" caddymodule/go.mod
fi
git tag -a "$version" -m "stsgate $version"
git tag -a "caddymodule/$version" -m "stsgate Caddy module $version"
echo "release: tagged $version and caddymodule/$version at $(git rev-parse --short HEAD); push both tags"
