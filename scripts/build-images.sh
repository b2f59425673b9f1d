#!/usr/bin/env bash
# Builds PSF's images from Debian packages with debootstrap + `docker import`, no registry needed:
#   postgres, nginx, borg, restic (the backup runners' defaults), demo (the e2e suite's app).
# A recipe is images/<name>/: `packages` (Debian packages), `changes` (Dockerfile lines for
# `docker import -c`: CMD, ENTRYPOINT, ENV, EXPOSE, USER, VOLUME, WORKDIR; no STOPSIGNAL),
# optional `rootfs/` (copied in) and `setup.sh` (run in the chroot).
# Each image is tagged psf/<name>:<recipe hash> and psf/<name>:ci (the stable name stacks use);
# borg and restic also get the providers' default tags. A build is skipped when its recipe hash
# is already an image, and re-imported from ~/.cache/psf/images/<name>-<hash>.tar when the
# engine lost it.
# Usage: scripts/build-images.sh [name...]   (default: all)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${PSF_CACHE:-$HOME/.cache/psf}"
mkdir -p "$cache/images" "$cache/debootstrap"

# The Debian mirror apt already uses (the only one an air-gapped machine may reach).
apt_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && awk '/^URIs:/ {print $2}' "$f"
  done
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }'
}
mirror="${PSF_DEBIAN_MIRROR:-$(apt_mirror | grep -v -e security -e '^$' | head -1 || true)}"
mirror="${mirror:-http://deb.debian.org/debian}"

if ! command -v debootstrap >/dev/null; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends debootstrap >/dev/null
fi
# One build at a time: two callers (the CLI and the e2e suite) would build the same image twice.
exec 9>"$cache/images/.lock"
flock 9

# Extra tags a provider uses as its default image.
declare -A default_tag=([borg]="psf/borg:1.2.4-bookworm" [restic]="psf/restic:0.14.0-bookworm")

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

# Names the image: the recipe's files (names, modes, content) and the steps that make it.
recipe_hash() {
  local files
  files="$(cd "$1" && find . -type f | LC_ALL=C sort)"
  (declare -f make_rootfs; cd "$1" && xargs stat -c '%n %a' <<<"$files" && xargs sha256sum <<<"$files") |
    sha256sum | cut -c1-12
}

build() {
  local name="$1" recipe="$root/images/$1"
  if [ ! -f "$recipe/packages" ] || [ ! -f "$recipe/changes" ]; then
    echo "build-images: no recipe images/$name (packages + changes)" >&2
    return 1
  fi
  local hash tag tar line changes=()
  hash="$(recipe_hash "$recipe")"
  tag="psf/$name:$hash" tar="$cache/images/$name-$hash.tar"
  while IFS= read -r line; do [ -n "$line" ] && changes+=(-c "$line"); done <"$recipe/changes"
  if docker image inspect "$tag" >/dev/null 2>&1; then
    echo "build-images: $tag is up to date"
  elif [ -f "$tar" ]; then
    echo "build-images: $tag from the cache"
    docker import "${changes[@]}" "$tar" "$tag" >/dev/null
  else
    local start=$SECONDS
    echo "build-images: $tag: debootstrap $(tr '\n' ' ' <"$recipe/packages")from $mirror"
    make_rootfs "$recipe" "$tar" "$cache/images/$name.log"
    # Older tarballs of this image are superseded (about 150-430 MB each).
    find "$cache/images" -maxdepth 1 -name "$name-*.tar" ! -name "$name-$hash.tar" -delete
    docker import "${changes[@]}" "$tar" "$tag" >/dev/null
    echo "build-images: $tag built in $((SECONDS - start)) s ($(du -m "$tar" | cut -f1) MB)"
  fi
  docker tag "$tag" "psf/$name:ci"
  [ -z "${default_tag[$name]:-}" ] || docker tag "$tag" "${default_tag[$name]}"
  # Superseded builds go (an image a container still uses stays until that container does).
  docker image ls --format '{{.Repository}}:{{.Tag}}' "psf/$name" |
    grep -E "^psf/$name:[0-9a-f]{12}\$" | grep -vx "$tag" | xargs -r docker image rm >/dev/null 2>&1 || true
}

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(postgres nginx borg restic demo)
for n in "${names[@]}"; do build "$n"; done
