#!/usr/bin/env bash
# Lints .github/workflows with actionlint, built from the Go module proxy into the toolchain cache.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
bin="${PSF_TOOLCHAIN_DIR:-$HOME/.cache/psf/toolchain}/bin"
version=v1.7.7
if [ "$("$bin/actionlint" -version 2>/dev/null | head -1)" != "$version" ]; then
  mkdir -p "$bin"
  GOBIN="$bin" GOFLAGS=-mod=mod GOSUMDB=off go install "github.com/rhysd/actionlint/cmd/actionlint@$version"
fi
cd "$root" && "$bin/actionlint" "$@"
