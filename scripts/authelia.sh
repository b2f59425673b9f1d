#!/usr/bin/env bash
# Authelia itself, for the authelia provider tests (`authelia validate-config`,
# `authelia crypto hash validate`, and the server run against a throwaway PostgreSQL), built
# from its Go module through the module proxy into
#   ~/.cache/psf/toolchain/bin/authelia   (PSF_TOOLCHAIN_DIR)
# scripts/authelia/go.mod pins the version the provider's image uses (AUTHELIA_IMAGE in
# providers/sso/authelia.ts; checked below) and the Go toolchain that release is built with.
# The toolchain matters: Authelia 4.38.17 built with Go 1.26 loses in-memory sessions (two
# people signing in in turn are signed out about one request in seven); with its own Go 1.23.2
# it does not. The toolchain comes from the module proxy too (golang.org/toolchain), verified
# by the checksum database the proxy serves.
# A stamp skips the build when that version is already there. The web assets Authelia embeds
# (internal/server/public_html) are in the module zip.
# Exit: 0 when bin/authelia is installed, 1 otherwise.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${PSF_TOOLCHAIN_DIR:-$HOME/.cache/psf/toolchain}"
mod="$root/scripts/authelia"
mkdir -p "$dir/bin" "$dir/stamps"

version="$(sed -nE 's#^require github.com/authelia/authelia/v4 (v[0-9.]+)$#\1#p' "$mod/go.mod")"
toolchain="$(sed -nE 's#^toolchain (go[0-9.]+)$#\1#p' "$mod/go.mod")"
pinned="$(sed -nE 's#.*"authelia/authelia:([0-9.]+)".*#v\1#p' "$root/providers/sso/authelia.ts")"
if [ -z "$version" ] || [ "$version" != "$pinned" ]; then
  echo "authelia: scripts/authelia/go.mod requires ${version:-nothing}, the provider pins ${pinned:-nothing}; make them agree" >&2
  exit 1
fi
stamp="$version $toolchain $(cat "$mod/go.mod" "$mod/go.sum" | sha256sum | cut -c1-16)"
if [ -x "$dir/bin/authelia" ] && [ "$(cat "$dir/stamps/authelia" 2>/dev/null)" = "$stamp" ]; then
  echo "authelia: $version already built ($dir/bin/authelia)"
  exit 0
fi
if ! command -v go >/dev/null; then
  echo "authelia: go is not installed (apt-get install golang-go)" >&2
  exit 1
fi

gocache="${PSF_GOPATH:-$HOME/.cache/psf/go}"
export GOPATH="$gocache" GOMODCACHE="$gocache/mod" GOCACHE="$gocache/build"
# go.sum (checked in) pins every module; -mod=readonly refuses anything it does not cover. The
# checksum database is only asked about the toolchain download.
export GOFLAGS=-mod=readonly GOTOOLCHAIN="$toolchain" GOSUMDB=sum.golang.org
GOPROXY="$(GOTOOLCHAIN=local go env GOPROXY | sed -E 's/[,|]direct$//')"
export GOPROXY

start=$(date +%s)
echo "authelia: building $version with $toolchain (a few minutes on 2 cores)"
pkg=github.com/authelia/authelia/v4/internal/utils
(cd "$mod" && nice -n 10 go build -p 2 -trimpath \
  -ldflags "-s -w -X $pkg.BuildTag=$version -X '$pkg.BuildState=tagged clean'" \
  -o "$dir/bin/authelia.new" github.com/authelia/authelia/v4/cmd/authelia)
mv "$dir/bin/authelia.new" "$dir/bin/authelia"
echo "$stamp" >"$dir/stamps/authelia"
echo "authelia: $("$dir/bin/authelia" --version) in $(($(date +%s) - start)) s"
