#!/usr/bin/env bash
# Lints the GitHub workflows with actionlint, built on first use from the Go module proxy into
# the toolchain's bin (PSF_TOOLCHAIN_DIR). Arguments go to actionlint (default: every workflow).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${PSF_TOOLCHAIN_DIR:-$HOME/.cache/psf/toolchain}/bin"
gocache="${PSF_GOPATH:-$HOME/.cache/psf/go}"
version=v1.7.12
if [ "$("$bin/actionlint" -version 2>/dev/null | head -1)" != "$version" ]; then
  command -v go >/dev/null || { echo "actionlint: go is not installed (apt-get install golang-go)" >&2; exit 1; }
  mkdir -p "$bin"
  t0=$SECONDS
  GOBIN="$bin" GOPATH="$gocache" GOMODCACHE="$gocache/mod" GOCACHE="$gocache/build" GOFLAGS=-mod=mod GOSUMDB=off \
    GOTOOLCHAIN=local go install -trimpath -ldflags "-s -w" "github.com/rhysd/actionlint/cmd/actionlint@$version"
  echo "actionlint: built $version in $((SECONDS - t0)) s" >&2
fi
cd "$root" && exec "$bin/actionlint" "$@"
