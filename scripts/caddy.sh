#!/usr/bin/env bash
# Caddy itself, for the caddy proxy provider tests (the proxy contract with the real server),
# built from its Go module through the module proxy into
#   ~/.cache/psf/toolchain/bin/caddy   (PSF_TOOLCHAIN_DIR)
# The module is the image recipe's (images/caddy/go.mod): one pin for the image and the tests;
# it must be the version the provider's default image names (IMAGE in providers/proxy/caddy.ts;
# checked below). A stamp skips the build when that version is there.
# Exit: 0 when bin/caddy is installed, 1 otherwise.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${PSF_TOOLCHAIN_DIR:-$HOME/.cache/psf/toolchain}"
mod="$root/images/caddy"
mkdir -p "$dir/bin" "$dir/stamps"

version="$(sed -nE 's#^require github.com/caddyserver/caddy/v2 (v[0-9.]+)$#\1#p' "$mod/go.mod")"
pinned="$(sed -nE 's#^const IMAGE = "caddy:([0-9.]+)";$#v\1#p' "$root/providers/proxy/caddy.ts")"
if [ -z "$version" ] || [ "$version" != "$pinned" ]; then
  echo "caddy: images/caddy/go.mod requires ${version:-nothing}, the provider pins ${pinned:-nothing}; make them agree" >&2
  exit 1
fi
stamp="$version $(cat "$mod/go.mod" "$mod/go.sum" "$mod/main.go" | sha256sum | cut -c1-16)"
if [ -x "$dir/bin/caddy" ] && [ "$(cat "$dir/stamps/caddy" 2>/dev/null)" = "$stamp" ]; then
  echo "caddy: $version already built ($dir/bin/caddy)"
  exit 0
fi
if ! command -v go >/dev/null; then
  echo "caddy: go is not installed (apt-get install golang-go)" >&2
  exit 1
fi

gocache="${PSF_GOPATH:-$HOME/.cache/psf/go}"
export GOPATH="$gocache" GOMODCACHE="$gocache/mod" GOCACHE="$gocache/build"
# go.sum (checked in) pins every module; -mod=readonly refuses anything it does not cover.
export GOFLAGS=-mod=readonly GOTOOLCHAIN=local CGO_ENABLED=0
GOPROXY="$(go env GOPROXY | sed -E 's/[,|]direct$//')"
export GOPROXY

start=$(date +%s)
echo "caddy: building $version (a few minutes on 2 cores)"
# Caddy reads its version from the build info of its module: no -ldflags -X needed.
(cd "$mod" && nice -n 10 go build -p 2 -trimpath -ldflags "-s -w" \
  -o "$dir/bin/caddy.new" .)
mv "$dir/bin/caddy.new" "$dir/bin/caddy"
echo "$stamp" >"$dir/stamps/caddy"
echo "caddy: $("$dir/bin/caddy" version) in $(($(date +%s) - start)) s"
