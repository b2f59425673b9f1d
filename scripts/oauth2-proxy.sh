#!/usr/bin/env bash
# oauth2-proxy itself, for the oidc provider tests (the forward-auth server run against a real
# identity provider), built from its Go module through the module proxy into
#   ~/.cache/psf/toolchain/bin/oauth2-proxy   (PSF_TOOLCHAIN_DIR)
# The module is the image recipe's (images/oauth2-proxy/go.mod): one pin for the image and the
# tests; it must be the version the provider's default image names (OAUTH2_PROXY_IMAGE in
# providers/sso/oidc.ts; checked below). A stamp skips the build when that version is there.
# Exit: 0 when bin/oauth2-proxy is installed, 1 otherwise.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${PSF_TOOLCHAIN_DIR:-$HOME/.cache/psf/toolchain}"
mod="$root/images/oauth2-proxy"
mkdir -p "$dir/bin" "$dir/stamps"

version="$(sed -nE 's#^require github.com/oauth2-proxy/oauth2-proxy/v7 (v[0-9.]+)$#\1#p' "$mod/go.mod")"
pinned="$(sed -nE 's#.*"quay.io/oauth2-proxy/oauth2-proxy:(v[0-9.]+)".*#\1#p' "$root/providers/sso/oidc.ts")"
if [ -z "$version" ] || [ "$version" != "$pinned" ]; then
  echo "oauth2-proxy: images/oauth2-proxy/go.mod requires ${version:-nothing}, the provider pins ${pinned:-nothing}; make them agree" >&2
  exit 1
fi
stamp="$version $(cat "$mod/go.mod" "$mod/go.sum" | sha256sum | cut -c1-16)"
if [ -x "$dir/bin/oauth2-proxy" ] && [ "$(cat "$dir/stamps/oauth2-proxy" 2>/dev/null)" = "$stamp" ]; then
  echo "oauth2-proxy: $version already built ($dir/bin/oauth2-proxy)"
  exit 0
fi
if ! command -v go >/dev/null; then
  echo "oauth2-proxy: go is not installed (apt-get install golang-go)" >&2
  exit 1
fi

gocache="${PSF_GOPATH:-$HOME/.cache/psf/go}"
export GOPATH="$gocache" GOMODCACHE="$gocache/mod" GOCACHE="$gocache/build"
# go.sum (checked in) pins every module; -mod=readonly refuses anything it does not cover.
export GOFLAGS=-mod=readonly GOTOOLCHAIN=local CGO_ENABLED=0
GOPROXY="$(go env GOPROXY | sed -E 's/[,|]direct$//')"
export GOPROXY

start=$(date +%s)
echo "oauth2-proxy: building $version (a few minutes on 2 cores)"
# -ldflags as upstream's Makefile sets them (its version variable).
(cd "$mod" && nice -n 10 go build -p 2 -trimpath \
  -ldflags "-s -w -X github.com/oauth2-proxy/oauth2-proxy/v7/pkg/version.VERSION=$version" \
  -o "$dir/bin/oauth2-proxy.new" github.com/oauth2-proxy/oauth2-proxy/v7)
mv "$dir/bin/oauth2-proxy.new" "$dir/bin/oauth2-proxy"
echo "$stamp" >"$dir/stamps/oauth2-proxy"
echo "oauth2-proxy: $("$dir/bin/oauth2-proxy" --version) in $(($(date +%s) - start)) s"
