#!/usr/bin/env bash
# Pebble, Let's Encrypt's ACME test CA, for the acme ssl provider's tests (a real CA that
# validates HTTP-01 and DNS-01 challenges), built from its Go module through the module proxy into
#   ~/.cache/psf/toolchain/bin/pebble   (PSF_TOOLCHAIN_DIR)
# The version is scripts/pebble/go.mod's (go.sum pins every module). A stamp skips the build
# when that version is there.
# Exit: 0 when bin/pebble is installed, 1 otherwise.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${PSF_TOOLCHAIN_DIR:-$HOME/.cache/psf/toolchain}"
mod="$root/scripts/pebble"
mkdir -p "$dir/bin" "$dir/stamps"

version="$(sed -nE 's#^require github.com/letsencrypt/pebble/v2 (v[0-9.]+)$#\1#p' "$mod/go.mod")"
stamp="$version $(cat "$mod/go.mod" "$mod/go.sum" | sha256sum | cut -c1-16)"
if [ -x "$dir/bin/pebble" ] && [ "$(cat "$dir/stamps/pebble" 2>/dev/null)" = "$stamp" ]; then
  echo "pebble: $version already built ($dir/bin/pebble)"
  exit 0
fi
if ! command -v go >/dev/null; then
  echo "pebble: go is not installed (apt-get install golang-go)" >&2
  exit 1
fi

gocache="${PSF_GOPATH:-$HOME/.cache/psf/go}"
export GOPATH="$gocache" GOMODCACHE="$gocache/mod" GOCACHE="$gocache/build"
export GOFLAGS=-mod=readonly GOTOOLCHAIN=local CGO_ENABLED=0
GOPROXY="$(go env GOPROXY | sed -E 's/[,|]direct$//')"
export GOPROXY

start=$(date +%s)
echo "pebble: building $version (about a minute on 2 cores)"
(cd "$mod" && nice -n 10 go build -p 2 -trimpath -ldflags "-s -w" \
  -o "$dir/bin/pebble.new" github.com/letsencrypt/pebble/v2/cmd/pebble)
mv "$dir/bin/pebble.new" "$dir/bin/pebble"
echo "$stamp" >"$dir/stamps/pebble"
echo "pebble: $version in $(($(date +%s) - start)) s"
