#!/usr/bin/env bash
# Applies manifests of scripts/cluster/manifests with the cluster's values filled in
# (${NODE_IP}, ${PAUSE_IMAGE}, ${CHECK_HOST}):  scripts/cluster/apply.sh NAME... [-- kubectl args]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/cluster/env.sh
. "$here/env.sh"
CHECK_HOST="${CHECK_HOST:-check.psf-cluster.localhost}"
for m in "$@"; do
  sed -e "s|\${NODE_IP}|$NODE_IP|g" -e "s|\${PAUSE_IMAGE}|$PAUSE_IMAGE|g" -e "s|\${CHECK_HOST}|$CHECK_HOST|g" \
    "$here/manifests/$m.yaml" | kctl apply -f - >/dev/null
done
