#!/usr/bin/env bash
# Builds psf/agent:<node version>, the runtime `psf agent` runs in as a container: Debian
# bookworm (debootstrap, like scripts/build-images.sh: no image registry needed) with git (to
# pull the checkout), the Docker CLI (health checks and restarts), ssh and CA certificates,
# plus this machine's Node.js binary (Debian's own is older than the project needs). The
# project checkout, its state, the toolchain and the passphrases are mounted when it runs
# (docs/agent.md): the agent pulls pushes into that checkout, so it cannot live in the image.
# Usage: scripts/agent-image.sh   (prints the tag)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cache="${PSF_CACHE:-$HOME/.cache/psf}"
node_bin="$(command -v node)"
tag="psf/agent:$("$node_bin" --version | tr -d v)"
# The Debian mirror apt already uses (the only one an air-gapped machine may reach).
mirror="$(bash "$root/scripts/debian-mirror.sh")"
dir="$(mktemp -d /tmp/psf-agent-image-XXXX)"
trap 'rm -rf "$dir"' EXIT
mkdir -p "$cache/debootstrap"
debootstrap --variant=minbase --cache-dir="$cache/debootstrap" \
  --include=git,docker.io,ca-certificates,openssh-client,libstdc++6 \
  bookworm "$dir/root" "$mirror" >"$dir/debootstrap.log" 2>&1 || {
  tail -20 "$dir/debootstrap.log" >&2
  exit 1
}
# Only the CLI of the docker.io package is used: the engine runs on the host.
rm -f "$dir"/root/usr/sbin/dockerd "$dir"/root/usr/bin/containerd* "$dir"/root/usr/sbin/runc
install -m 0755 "$node_bin" "$dir/root/usr/local/bin/node"
rm -rf "$dir"/root/var/cache/apt/archives/*.deb "$dir"/root/var/lib/apt/lists/* "$dir"/root/usr/share/doc "$dir"/root/usr/share/man
tar -C "$dir/root" -c . | docker import \
  -c 'WORKDIR /srv/psf' \
  -c 'ENV PATH=/srv/psf/node_modules/.bin:/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin' \
  -c 'ENTRYPOINT ["node", "/srv/psf/bin/psf.js"]' \
  -c 'CMD ["agent", "--help"]' \
  - "$tag" >/dev/null
echo "$tag"
