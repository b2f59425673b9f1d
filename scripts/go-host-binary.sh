#!/usr/bin/env bash
# A program of an image recipe built for this host, for the provider tests that run the real
# thing (caddy and traefik: the proxy contract; oauth2-proxy: the oidc provider's forward auth):
#   scripts/go-host-binary.sh NAME            builds images/NAME's command into
#                                             ~/.cache/psf/toolchain/bin/NAME (PSF_TOOLCHAIN_DIR)
#   scripts/go-host-binary.sh --cached NAME   only says whether that build is already there
# The build is the image's (scripts/build-images.sh reads the same go-build: package, ldflags,
# prebuild), from the recipe's Go module through the module proxy: one pin for the image and the
# tests. That pin must be the version the provider's default image names (checked below). A
# stamp (the version and a hash of what the build reads) skips a build that is already there.
# Exit: 0 when bin/NAME is installed (--cached: is current), 1 otherwise.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cached_only=0
if [ "${1:-}" = "--cached" ]; then cached_only=1 && shift; fi
name="${1:?usage: scripts/go-host-binary.sh [--cached] NAME}"
dir="${PSF_TOOLCHAIN_DIR:-$HOME/.cache/psf/toolchain}"
mod="$root/images/$name"

# Per program: its Go module, where its provider pins the image, and how it tells its version.
case "$name" in
  caddy)
    module=github.com/caddyserver/caddy/v2
    pinned="$(sed -nE 's#^const IMAGE = "caddy:([0-9.]+)";$#v\1#p' "$root/providers/proxy/caddy.ts")"
    version_args=(version)
    ;;
  oauth2-proxy)
    module=github.com/oauth2-proxy/oauth2-proxy/v7
    pinned="$(sed -nE 's#.*"quay.io/oauth2-proxy/oauth2-proxy:(v[0-9.]+)".*#\1#p' "$root/providers/sso/oidc.ts")"
    version_args=(--version)
    ;;
  traefik)
    module=github.com/traefik/traefik/v3
    pinned="$(sed -nE 's#^const IMAGE = "traefik:(v[0-9.]+)";$#\1#p' "$root/providers/proxy/traefik.ts")"
    version_args=(version)
    ;;
  *)
    echo "go-host-binary: no host build for $name (caddy, oauth2-proxy, traefik)" >&2
    exit 1
    ;;
esac

key() { sed -nE "s/^$1[[:space:]]+//p" "$mod/go-build" | tail -1; }
version="$(sed -nE "s#^require $module (v[0-9.]+)\$#\\1#p" "$mod/go.mod")"
if [ -z "$version" ] || [ "$version" != "$pinned" ]; then
  echo "$name: images/$name/go.mod requires ${version:-nothing}, the provider pins ${pinned:-nothing}; make them agree" >&2
  exit 1
fi
package="$(key package)" prebuild="$(key prebuild)" ldflags="$(key ldflags)"
[ "$(key module)" = "" ] || { echo "$name: go-build's module key is not supported here" >&2 && exit 1; }

# What the build reads: go.mod, go.sum, the recipe's own main package, then what a recipe has
# beyond that (local replacements, the prebuild script). The stamps of caddy and oauth2-proxy
# are those their former scripts wrote, so a cached build of theirs stays valid.
stamp_files=("$mod/go.mod" "$mod/go.sum")
while IFS= read -r f; do stamp_files+=("$f"); done < <(
  cd "$mod" && find . -maxdepth 1 -name '*.go' ! -name tools.go | LC_ALL=C sort | sed "s#^\.#$mod#"
  for d in $(sed -nE 's#^(replace[[:space:]]+)?[^ ]+ => (\./[^ ]+)$#\2#p' go.mod); do
    find "$d" -type f | LC_ALL=C sort | sed "s#^\.#$mod#"
  done
  [ -z "$prebuild" ] || echo "$mod/${prebuild#* }"
)
stamp="$version $(cat "${stamp_files[@]}" | sha256sum | cut -c1-16)"
if [ -x "$dir/bin/$name" ] && [ "$(cat "$dir/stamps/$name" 2>/dev/null)" = "$stamp" ]; then
  [ "$cached_only" = 1 ] || echo "$name: $version already built ($dir/bin/$name)"
  exit 0
fi
[ "$cached_only" = 0 ] || exit 1
if ! command -v go >/dev/null; then
  echo "$name: go is not installed (apt-get install golang-go)" >&2
  exit 1
fi
mkdir -p "$dir/bin" "$dir/stamps"

gocache="${PSF_GOPATH:-$HOME/.cache/psf/go}"
export GOPATH="$gocache" GOMODCACHE="$gocache/mod" GOCACHE="$gocache/build"
# go.sum (checked in) pins every module; -mod=readonly refuses anything it does not cover.
export GOFLAGS=-mod=readonly GOTOOLCHAIN=local CGO_ENABLED=0
GOPROXY="$(go env GOPROXY | sed -E 's/[,|]direct$//')"
export GOPROXY

work="$(mktemp -d /tmp/psf-host-binary-XXXX)"
trap 'rm -rf "$work"' EXIT
build_in="$mod"
if [ -n "$prebuild" ]; then
  # As build-images.sh: a writable copy of the module, the recipe's script run in it, and a
  # copy of the recipe's module that replaces the original with it.
  pre_mod="${prebuild%% *}"
  pre_dir="$(cd "$mod" && go mod download -json "$pre_mod" | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).Dir')"
  cp -r "$pre_dir" "$work/src" && chmod -R u+w "$work/src"
  (cd "$work/src" && bash "$mod/${prebuild#* }")
  cp -r "$mod" "$work/mod"
  (cd "$work/mod" && go mod edit -replace "$pre_mod=$work/src")
  build_in="$work/mod"
fi

start=$(date +%s)
echo "$name: building $version ($(key about || true))"
(cd "$build_in" && nice -n 10 go build -p 2 -trimpath -ldflags "-s -w $ldflags" \
  -o "$dir/bin/$name.new" "${package:-.}")
mv "$dir/bin/$name.new" "$dir/bin/$name"
echo "$stamp" >"$dir/stamps/$name"
echo "$name: $("$dir/bin/$name" "${version_args[@]}" | head -3 | tr '\n' ' ')in $(($(date +%s) - start)) s"
