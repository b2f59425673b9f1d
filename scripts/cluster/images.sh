#!/usr/bin/env bash
# Images for the cluster's containerd, without a registry:  scripts/cluster/images.sh [REF...]
#   - the pod sandbox ("pause") image PAUSE_IMAGE: an OCI image written here whose one layer is
#     Debian's static busybox, sleeping (a sandbox only holds the pod's namespaces open);
#   - PSF's images from the Docker engine (scripts/build-images.sh builds them): every psf/*:ci
#     image and the upstream names they stand in for, or the REFs given, through
#     `docker save | ctr images import`. A stamp of each image's id skips those already there.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/cluster/env.sh
. "$here/env.sh"
sock="$CLUSTER_RUN/containerd.sock"
ctr() { command ctr --address "$sock" --namespace k8s.io "$@"; }
stamps="$CLUSTER_DIR/containerd/psf-images"
mkdir -p "$stamps"

sha() { sha256sum "$1" | cut -d' ' -f1; }
pause_image() {
  if ctr images ls -q | grep -qx "$PAUSE_IMAGE"; then return; fi
  local busybox=/bin/busybox
  file -L "$busybox" 2>/dev/null | grep -q 'statically linked' ||
    { echo "cluster: $busybox is not static (apt-get install busybox-static)" >&2 && exit 1; }
  local t
  t=$(mktemp -d)
  mkdir -p "$t/root/bin" "$t/oci/blobs/sha256"
  cp "$busybox" "$t/root/bin/busybox"
  tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$t/root" -cf "$t/layer.tar" .
  local layer size config csize manifest msize
  layer=$(sha "$t/layer.tar") size=$(stat -c %s "$t/layer.tar")
  mv "$t/layer.tar" "$t/oci/blobs/sha256/$layer"
  printf '{"architecture":"amd64","os":"linux","config":{"Entrypoint":["/bin/busybox","sleep","2147483647"]},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' "$layer" >"$t/config.json"
  config=$(sha "$t/config.json") csize=$(stat -c %s "$t/config.json")
  mv "$t/config.json" "$t/oci/blobs/sha256/$config"
  printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%s},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:%s","size":%s}]}' \
    "$config" "$csize" "$layer" "$size" >"$t/manifest.json"
  manifest=$(sha "$t/manifest.json") msize=$(stat -c %s "$t/manifest.json")
  mv "$t/manifest.json" "$t/oci/blobs/sha256/$manifest"
  printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:%s","size":%s,"annotations":{"io.containerd.image.name":"%s"}}]}' \
    "$manifest" "$msize" "$PAUSE_IMAGE" >"$t/oci/index.json"
  echo '{"imageLayoutVersion":"1.0.0"}' >"$t/oci/oci-layout"
  tar -C "$t/oci" -cf "$t/pause.tar" .
  ctr images import "$t/pause.tar" >/dev/null
  rm -rf "$t"
  say "imported the sandbox image $PAUSE_IMAGE (busybox sleep)"
}

psf_images() {
  local refs=("$@")
  if [ ${#refs[@]} -eq 0 ]; then
    docker info >/dev/null 2>&1 || { say "no Docker engine answers: no PSF images imported (bash scripts/docker-engine.sh)" && return; }
    mapfile -t refs < <(docker images --format '{{.Repository}}:{{.Tag}}' | grep -E '^psf/[^:]+:ci$' | sort)
    local ups
    ups=$(cat "$here"/../../images/*/upstream 2>/dev/null | grep -v '[*#]' || true)
    for u in $ups; do docker image inspect "$u" >/dev/null 2>&1 && refs+=("$u"); done
  fi
  local todo=() r id
  for r in "${refs[@]}"; do
    id=$(docker image inspect --format '{{.Id}}' "$r" 2>/dev/null) || { echo "cluster: no image $r in the Docker engine" >&2 && return 1; }
    [ "$(cat "$stamps/${r//[\/:]/_}" 2>/dev/null)" = "$id" ] || todo+=("$r")
  done
  if [ ${#todo[@]} -eq 0 ]; then say "${#refs[@]} PSF images already in containerd"; return; fi
  local t0=$SECONDS
  docker save "${todo[@]}" | ctr images import - >/dev/null
  for r in "${todo[@]}"; do docker image inspect --format '{{.Id}}' "$r" >"$stamps/${r//[\/:]/_}"; done
  say "imported ${#todo[@]} images from the Docker engine in $((SECONDS - t0)) s: ${todo[*]}"
}

pause_image
psf_images "$@"
