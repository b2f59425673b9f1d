#!/usr/bin/env bash
# Builds PSF's images locally with `docker import`, no image registry needed. A recipe is
# images/<name>/ with `changes` (Dockerfile lines for `docker import -c`: CMD, ENTRYPOINT, ENV,
# EXPOSE, USER, VOLUME, WORKDIR; no STOPSIGNAL) and one of:
#   Debian: `packages` (Debian packages, debootstrap'ed), optional `rootfs/` (copied in) and
#           `setup.sh` (run in the chroot): postgres, mariadb, nginx, borg, restic, openldap, demo.
#   Go:     `go-build` (below) and a Go module (`go.mod`, `go.sum`, its own main package or a
#           wrapper requiring the command's module): one static binary (CGO_ENABLED=0,
#           -trimpath, -ldflags "-s -w ..."), built through the Go module proxy with
#           GOPATH/GOMODCACHE/GOCACHE under ~/.cache/psf/go, in an otherwise minimal root:
#           authelia, miniflux, whoami.
# An optional `upstream` lists the image references the recipe stands in for, one a line
# (exact references, or a prefix ending in `*` that the CLI tags on demand); psf up builds the
# recipe when the stack names one of them, the engine lacks it and no registry answers.
#
# `go-build`, one `key value` a line (# comments):
#   module DIR     the Go module to build in, relative to the project (default: the recipe)
#   package PKG    the main package (default: .)
#   binary PATH    where the binary goes in the image (required)
#   ldflags FLAGS  -ldflags after "-s -w" (quoted values as `go build` reads them)
#   tags TAGS      build tags (e.g. timetzdata: the time zone database inside the binary)
#   users U...     /etc/passwd and /etc/group entries, name:uid (group = uid)
#   include X...   ca-certificates (the host's bundle as /etc/ssl/certs/ca-certificates.crt),
#                  tmp (/tmp, mode 1777), busybox (Debian's static busybox as /bin/sh and its
#                  applets: a shell for the docker target's reload step, which writes changed
#                  files with sh and cmp)
#   about TEXT     how long a cold build takes, for the progress line
#   prebuild MOD SCRIPT
#                  build against a writable copy of module MOD (at the version go.mod requires,
#                  through a `replace`), after running the recipe's SCRIPT in that copy (Authelia:
#                  its web portal, which the module zip lacks)
#
# Each image is tagged psf/<name>:<recipe hash>, psf/<name>:ci (the stable name stacks use)
# and every exact reference in `upstream` (unless the engine holds another image under that
# name). A build is skipped when its recipe hash is already an image, and re-imported from
# ~/.cache/psf/images/<name>-<hash>.tar when the engine lost it. One line per image, with the
# time it took; a cold build first says what it builds and about how long that takes.
# Usage: scripts/build-images.sh [name...]   (default: every recipe)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${PSF_CACHE:-$HOME/.cache/psf}"
mkdir -p "$cache/images" "$cache/debootstrap"

# The Debian mirror apt already uses (the only one an air-gapped machine may reach).
mirror="$(bash "$root/scripts/debian-mirror.sh")"

# One build at a time: two callers (the CLI and the e2e suite) would build the same image twice.
exec 9>"$cache/images/.lock"
if ! flock -n 9; then
  echo "build-images: waiting for another build to finish ($cache/images/.lock)"
  flock 9
fi

# The image's root filesystem as a tarball: Debian packages, the recipe's files, its setup.
# Its code is part of the image's name (recipe_hash), so change it only for a new image.
make_rootfs() {
  local recipe="$1" tar="$2" log="$3" dir
  dir="$(mktemp -d /tmp/psf-image-XXXX)"
  if ! debootstrap --variant=minbase --cache-dir="$cache/debootstrap" \
    --include="$(tr ' \n' ',,' <"$recipe/packages" | sed 's/,*$//')" bookworm "$dir" "$mirror" >"$log" 2>&1; then
    tail -20 "$log" >&2
    rm -rf "$dir"
    return 1
  fi
  [ -d "$recipe/rootfs" ] && cp -a "$recipe/rootfs/." "$dir/"
  [ -f "$recipe/setup.sh" ] && chroot "$dir" /bin/sh -e <"$recipe/setup.sh"
  # Package caches and docs are not needed at run time.
  rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc "$dir"/usr/share/man
  tar -C "$dir" -cf "$tar.partial" . && mv "$tar.partial" "$tar"
  rm -rf "$dir"
}

# The value of `key` in a recipe's go-build file, else the default given.
go_key() {
  local v
  v="$(sed -nE "s/^$2[[:space:]]+//p" "$1/go-build" | tail -1)"
  echo "${v:-${3:-}}"
}

# The Go module a recipe builds in, and the toolchain its go.mod pins (`toolchain`, which the go
# command would not switch down to by itself); none: GOTOOLCHAIN=auto, the local Go unless
# go.mod needs a newer one.
go_module() {
  local m
  m="$(go_key "$1" module)"
  if [ -n "$m" ]; then echo "$root/$m"; else echo "$1"; fi
}
go_toolchain() { sed -nE 's#^toolchain (go[0-9.]+)$#\1#p' "$(go_module "$1")/go.mod"; }

# A Go recipe's root filesystem as a tarball: its static binary and what go-build includes.
# Its code is part of the image's name (recipe_hash), so change it only for a new image.
make_go_rootfs() {
  local recipe="$1" tar="$2" log="$3" dir module toolchain binary proxy gocache u name id a
  module="$(go_module "$recipe")" toolchain="$(go_toolchain "$recipe")"
  binary="$(go_key "$recipe" binary)"
  [ -n "$binary" ] || { echo "build-images: $recipe/go-build names no binary" >&2 && return 1; }
  gocache="${PSF_GOPATH:-$cache/go}"
  proxy="$(GOTOOLCHAIN=local go env GOPROXY | sed -E 's/[,|]direct$//')"
  dir="$(mktemp -d /tmp/psf-image-XXXX)"
  # go.sum (checked in) pins every module; -mod=readonly refuses anything it does not cover. The
  # checksum database is only asked about a toolchain download.
  gorun() { # dir command...
    local at="$1"
    shift
    (cd "$at" && GOPATH="$gocache" GOMODCACHE="$gocache/mod" GOCACHE="$gocache/build" \
      GOFLAGS="-mod=readonly -buildvcs=false" GOTOOLCHAIN="${toolchain:-auto}" GOSUMDB=sum.golang.org \
      GOPROXY="$proxy" CGO_ENABLED=0 "$@")
  }
  local pre pre_mod pre_dir
  : >"$log"
  pre="$(go_key "$recipe" prebuild)"
  if [ -n "$pre" ]; then
    pre_mod="${pre%% *}"
    # A writable copy of the module as go.mod requires it, the script run in it, and a copy of
    # the build module that replaces the original with it.
    if ! pre_dir="$(gorun "$module" go mod download -json "$pre_mod" | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).Dir')" ||
      ! cp -r "$pre_dir" "$dir.src" || ! chmod -R u+w "$dir.src" ||
      ! (cd "$dir.src" && bash "$recipe/${pre#* }") >>"$log" 2>&1 ||
      ! cp -r "$module" "$dir.mod" || ! (cd "$dir.mod" && go mod edit -replace "$pre_mod=$dir.src"); then
      tail -20 "$log" >&2
      rm -rf "$dir" "$dir.src" "$dir.mod"
      return 1
    fi
    module="$dir.mod"
  fi
  if ! gorun "$module" nice -n 10 go build -trimpath -tags "$(go_key "$recipe" tags)" \
    -ldflags "-s -w $(go_key "$recipe" ldflags)" -o "$dir$binary" "$(go_key "$recipe" package .)" \
    >>"$log" 2>&1; then
    tail -20 "$log" >&2
    rm -rf "$dir" "$dir.src" "$dir.mod"
    return 1
  fi
  rm -rf "$dir.src" "$dir.mod"
  if file "$dir$binary" | grep -q 'dynamically linked'; then
    echo "build-images: $binary is not a static binary: $(file -b "$dir$binary")" >&2
    rm -rf "$dir"
    return 1
  fi
  mkdir -p "$dir/etc"
  : >"$dir/etc/passwd" && : >"$dir/etc/group"
  for u in $(go_key "$recipe" users); do
    name="${u%%:*}" id="${u#*:}"
    if [ "$id" = 0 ]; then a=/root; else a=/; fi
    echo "$name:x:$id:$id:$name:$a:/sbin/nologin" >>"$dir/etc/passwd"
    echo "$name:x:$id:" >>"$dir/etc/group"
  done
  for a in $(go_key "$recipe" include); do
    case "$a" in
      ca-certificates)
        mkdir -p "$dir/etc/ssl/certs"
        if ! cp /etc/ssl/certs/ca-certificates.crt "$dir/etc/ssl/certs/"; then
          echo "build-images: no CA bundle on this host (apt-get install ca-certificates)" >&2
          rm -rf "$dir"
          return 1
        fi
        ;;
      tmp) mkdir -m 1777 "$dir/tmp" ;;
      busybox)
        if ! file -L /bin/busybox 2>/dev/null | grep -q 'statically linked'; then
          echo "build-images: no static busybox on this host (apt-get install busybox-static)" >&2
          rm -rf "$dir"
          return 1
        fi
        mkdir -p "$dir/bin"
        cp /bin/busybox "$dir/bin/busybox"
        for u in $(/bin/busybox --list); do
          [ -e "$dir/bin/$u" ] || ln -s busybox "$dir/bin/$u"
        done
        ;;
      *) echo "build-images: $recipe/go-build: unknown include $a" >&2 && rm -rf "$dir" && return 1 ;;
    esac
  done
  tar -C "$dir" --numeric-owner --owner=0 --group=0 -cf "$tar.partial" . && mv "$tar.partial" "$tar"
  rm -rf "$dir"
}

# Names the image: the recipe's files (names, modes, content; not `upstream`, which only names
# it) and the steps that make it; for a Go recipe also its module (when elsewhere) and Go version.
recipe_hash() {
  local files
  files="$(cd "$1" && find . -type f ! -name upstream | LC_ALL=C sort)"
  (
    if [ -f "$1/go-build" ]; then
      declare -f make_go_rootfs go_key go_module go_toolchain
      local module toolchain
      module="$(go_module "$1")" toolchain="$(go_toolchain "$1")"
      echo "${toolchain:-$(GOTOOLCHAIN=local go env GOVERSION 2>/dev/null || echo no-go)}"
      [ "$module" = "$1" ] || (cd "$module" && find . -type f | LC_ALL=C sort | xargs sha256sum)
    else
      declare -f make_rootfs
    fi
    cd "$1" && xargs stat -c '%n %a' <<<"$files" && xargs sha256sum <<<"$files"
  ) | sha256sum | cut -c1-12
}

# What a cold build of a recipe does and about how long it takes (the last one, else the recipe's
# estimate), for the line printed before it starts.
describe() {
  local name="$1" recipe="$2" last about
  last="$(cat "$cache/images/$name.seconds" 2>/dev/null || true)"
  if [ -f "$recipe/go-build" ]; then
    local toolchain
    toolchain="$(go_toolchain "$recipe")"
    printf 'go build %s with %s' "$(go_key "$recipe" package .)" "${toolchain:-$(GOTOOLCHAIN=local go env GOVERSION)}"
    about="$(go_key "$recipe" about)"
  else
    printf 'debootstrap %sfrom %s' "$(tr '\n' ' ' <"$recipe/packages")" "$mirror"
    about="a few minutes"
  fi
  if [ -n "$last" ]; then echo " (the last build took $last s)"; else echo " (about ${about:-a few minutes})"; fi
}

build() {
  local name="$1" recipe="$root/images/$1"
  if [ ! -f "$recipe/changes" ] || { [ ! -f "$recipe/packages" ] && [ ! -f "$recipe/go-build" ]; }; then
    echo "build-images: no recipe images/$name (changes + packages, or changes + go-build + go.mod)" >&2
    return 1
  fi
  if [ -f "$recipe/go-build" ]; then
    if ! command -v go >/dev/null; then
      echo "build-images: $name is built with Go, which is not installed (apt-get install golang-go)" >&2
      return 1
    fi
    if grep -nvE '^(#.*|[[:space:]]*|(module|package|binary|ldflags|tags|users|include|about|prebuild)[[:space:]].*)$' "$recipe/go-build" >&2; then
      echo "build-images: images/$name/go-build: unknown lines above (keys: see the top of this script)" >&2
      return 1
    fi
  fi
  local start=$SECONDS hash tag tar line how changes=()
  hash="$(recipe_hash "$recipe")"
  tag="psf/$name:$hash" tar="$cache/images/$name-$hash.tar"
  while IFS= read -r line; do [ -n "$line" ] && changes+=(-c "$line"); done <"$recipe/changes"
  changes+=(-c "LABEL psf.recipe=$name")
  if docker image inspect "$tag" >/dev/null 2>&1; then
    how="is up to date ($((SECONDS - start)) s)"
  elif [ -f "$tar" ]; then
    docker import "${changes[@]}" "$tar" "$tag" >/dev/null
    how="from the cache in $((SECONDS - start)) s"
  else
    echo "build-images: $tag: $(describe "$name" "$recipe")"
    if [ -f "$recipe/go-build" ]; then
      make_go_rootfs "$recipe" "$tar" "$cache/images/$name.log"
    else
      if ! command -v debootstrap >/dev/null; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null
      fi
      make_rootfs "$recipe" "$tar" "$cache/images/$name.log"
    fi
    # Older tarballs of this image are superseded (Debian: about 150-430 MB each).
    find "$cache/images" -maxdepth 1 -name "$name-*.tar" ! -name "$name-$hash.tar" -delete
    docker import "${changes[@]}" "$tar" "$tag" >/dev/null
    echo "$((SECONDS - start))" >"$cache/images/$name.seconds"
    how="built in $((SECONDS - start)) s ($(du -m "$tar" | cut -f1) MB)"
  fi
  local refs=("psf/$name:ci") tags=() kept=() ref id own
  if [ -f "$recipe/upstream" ]; then
    while read -r ref _; do
      case "$ref" in '' | '#'* | *'*') continue ;; esac
      refs+=("$ref")
    done <"$recipe/upstream"
  fi
  id="$(docker image inspect --format '{{.Id}}' "$tag")"
  # The images these names pointed at before (an earlier import of the same or another build).
  local before
  before="$(docker image inspect --format '{{.Id}}' "${refs[@]}" 2>/dev/null | sort -u | grep -vx "$id" || true)"
  for ref in "${refs[@]}"; do
    # An image of that name that no recipe built (a real upstream pull) stays.
    own="$(docker image inspect --format '{{.Id}} {{index .Config.Labels "psf.recipe"}}' "$ref" 2>/dev/null || true)"
    if [ -n "$own" ] && [ "${own%% *}" != "$id" ] && [ "${own#* }" != "$name" ] && [ "${ref%%/*}" != psf ]; then
      kept+=("$ref")
      continue
    fi
    docker tag "$tag" "$ref"
    tags+=("$ref")
  done
  [ ${#kept[@]} -eq 0 ] || how="$how; left ${kept[*]} alone (the engine's own)"
  echo "build-images: $tag $how; tagged ${tags[*]}"
  # Superseded builds go (an image a container still uses stays until that container does).
  docker image ls --format '{{.Repository}}:{{.Tag}}' "psf/$name" |
    grep -E "^psf/$name:[0-9a-f]{12}\$" | grep -vx "$tag" | xargs -r docker image rm >/dev/null 2>&1 || true
  for id in $before; do
    [ -n "$(docker image inspect --format '{{.RepoTags}}' "$id" 2>/dev/null | tr -d '[]')" ] ||
      docker image rm "$id" >/dev/null 2>&1 || true
  done
}

names=("$@")
if [ ${#names[@]} -eq 0 ]; then
  for d in "$root"/images/*/; do [ -f "$d/changes" ] && names+=("$(basename "$d")"); done
fi
for n in "${names[@]}"; do build "$n"; done
