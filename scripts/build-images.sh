#!/usr/bin/env bash
# Builds PSF's images from Debian packages with debootstrap + `docker import`, no registry needed:
#   postgres, nginx, borg, restic (the backup runners' defaults), demo (the e2e suite's app).
# Each image is tagged psf/<name>:<recipe hash> and psf/<name>:ci; borg and restic also get
# the providers' default tags. A build is skipped when its recipe hash is already an image,
# and re-imported from ~/.cache/psf/images when the engine lost it.
# Usage: scripts/build-images.sh [name...]   (default: all)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${PSF_CACHE:-$HOME/.cache/psf}"
mirror="${PSF_DEBIAN_MIRROR:-$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -1)}"
mirror="${mirror:-http://deb.debian.org/debian}"
mkdir -p "$cache/images" "$cache/debootstrap"
command -v debootstrap >/dev/null || { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null; }

# Extra tags a provider uses as its default image.
declare -A default_tag=([borg]="psf/borg:1.2.4-bookworm" [restic]="psf/restic:0.14.0-bookworm")

build() {
  local name="$1" recipe="$root/images/$1"
  [ -d "$recipe" ] || { echo "build-images: no recipe images/$name" >&2; return 1; }
  local hash
  hash="$( (cat "$0"; cd "$recipe" && find . -type f | LC_ALL=C sort | xargs sha256sum) | sha256sum | cut -c1-12)"
  local tag="psf/$name:$hash" tar="$cache/images/$name-$hash.tar"
  local changes=(-c "CMD $(cat "$recipe/cmd")")
  [ -f "$recipe/entrypoint" ] && changes+=(-c "ENTRYPOINT $(cat "$recipe/entrypoint")")
  if docker image inspect "$tag" >/dev/null 2>&1; then
    echo "build-images: $tag is up to date"
  elif [ -f "$tar" ]; then
    echo "build-images: $tag from the cache"
    docker import "${changes[@]}" "$tar" "$tag" >/dev/null
  else
    local start=$SECONDS dir
    dir="$(mktemp -d /tmp/psf-image-XXXX)"
    echo "build-images: $tag: debootstrap $(tr '\n' ' ' <"$recipe/packages")"
    debootstrap --variant=minbase --cache-dir="$cache/debootstrap" \
      --include="$(tr ' \n' ',,' <"$recipe/packages" | sed 's/,*$//')" bookworm "$dir" "$mirror" >"$cache/images/$name.log" 2>&1 ||
      { tail -20 "$cache/images/$name.log" >&2; return 1; }
    [ -d "$recipe/rootfs" ] && cp -a "$recipe/rootfs/." "$dir/"
    [ -f "$recipe/setup.sh" ] && chroot "$dir" /bin/sh -e <"$recipe/setup.sh"
    # Package caches and docs are not needed at run time.
    rm -rf "$dir"/var/cache/apt/archives/*.deb "$dir"/var/lib/apt/lists/* "$dir"/usr/share/doc "$dir"/usr/share/man
    tar -C "$dir" -cf "$tar.partial" . && mv "$tar.partial" "$tar"
    rm -rf "$dir"
    docker import "${changes[@]}" "$tar" "$tag" >/dev/null
    echo "build-images: $tag built in $((SECONDS - start)) s"
  fi
  docker tag "$tag" "psf/$name:ci"
  [ -n "${default_tag[$name]:-}" ] && docker tag "$tag" "${default_tag[$name]}"
  return 0
}

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(postgres nginx borg restic demo)
for n in "${names[@]}"; do build "$n"; done
