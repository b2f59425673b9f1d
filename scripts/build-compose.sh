#!/usr/bin/env bash
# Docker Compose as a Docker CLI plugin, built from Go modules (no binary download): the
# benchmark (`npm run bench`) compares PSF with `docker compose` on the same workloads.
#
# Builds github.com/docker/compose/v5's `cmd` package in a tiny wrapper module (its go.sum and
# `exclude` block copied from the compose module, GOFLAGS=-mod=mod) into
# ~/.cache/psf/compose/<version>/docker-compose, skipped when that binary is there, and installs
# it as ${DOCKER_CONFIG:-~/.docker}/cli-plugins/docker-compose so `docker compose version` works.
# GOPATH/GOMODCACHE/GOCACHE under ~/.cache/psf/go, only the Go module proxy.
#
# PSF_COMPOSE_VERSION picks the release (default below: the newest whose go.mod the Go here
# accepts; v5.7.x asks for go 1.26.10). A cold build takes about 5 minutes on 2 cores; log in
# ~/.cache/psf/compose/build.log.
# Exit: 0 installed, 1 build failed (reason printed).
set -euo pipefail
cache="${PSF_CACHE:-$HOME/.cache/psf}"
version="${PSF_COMPOSE_VERSION:-v5.6.0}"
module=github.com/docker/compose/v5
out="$cache/compose/$version"
log="$cache/compose/build.log"
plugins="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
mkdir -p "$out" "$plugins"

install_plugin() {
  if ! cmp -s "$out/docker-compose" "$plugins/docker-compose"; then
    cp "$out/docker-compose" "$plugins/docker-compose.partial"
    mv "$plugins/docker-compose.partial" "$plugins/docker-compose"
  fi
  echo "build-compose: installed $plugins/docker-compose ($("$plugins/docker-compose" version --short 2>/dev/null || echo "$version"))"
}

# One build at a time: the bench and a developer may start it together.
exec 9>"$cache/compose/.lock"
flock 9
if [ -x "$out/docker-compose" ]; then
  install_plugin
  exit 0
fi

if ! command -v go >/dev/null; then
  echo "build-compose: go is not installed (apt-get install golang-go)" >&2
  exit 1
fi
gocache="${PSF_GOPATH:-$cache/go}"
export GOPATH="$gocache" GOMODCACHE="$gocache/mod" GOCACHE="$gocache/build"
export GOFLAGS="-mod=mod -buildvcs=false" GOSUMDB=off GOTOOLCHAIN=local CGO_ENABLED=0
GOPROXY="$(go env GOPROXY | sed -E 's/[,|]direct$//')"
export GOPROXY

started=$SECONDS
echo "build-compose: building $module@$version with $(go env GOVERSION) (about 5 minutes cold; log: $log)"
src="$(mktemp -d /tmp/psf-compose-XXXX)"
trap 'rm -rf "$src"' EXIT
{
  dir="$(cd "$src" && go mod download -json "$module@$version" | node -pe 'const j=JSON.parse(require("fs").readFileSync(0,"utf8")); if (j.Error) { console.error(j.Error); process.exit(1) } j.Dir')"
  # The compose module's own checksums and excludes; `exclude` only counts in the main module.
  {
    echo "module psf.local/compose"
    echo
    sed -n 's/^go \(.*\)$/go \1/p' "$dir/go.mod"
    echo
    echo "require $module $version"
    echo
    awk '/^exclude \(/,/^\)/' "$dir/go.mod"
  } >"$src/go.mod"
  cp "$dir/go.sum" "$src/go.sum"
  chmod u+w "$src/go.sum"
  (cd "$src" && nice -n 10 go build -trimpath \
    -ldflags "-s -w -X $module/internal.Version=$version" \
    -o "$out/docker-compose.partial" "$module/cmd")
  mv "$out/docker-compose.partial" "$out/docker-compose"
} >"$log" 2>&1 || {
  echo "build-compose: the build of $module@$version failed after $((SECONDS - started)) s; last lines of $log:" >&2
  tail -15 "$log" >&2
  exit 1
}
echo "build-compose: built in $((SECONDS - started)) s"
install_plugin
