#!/usr/bin/env bash
# A single-node Kubernetes cluster built here (`npm run cluster`), state in ~/.cache/psf/cluster:
#   scripts/cluster.sh [start]   build what is missing, start, wait until the node is Ready and
#                                a pod with a claim serves through the ingress (scripts/cluster/)
#   scripts/cluster.sh stop      stop everything it started, unmount what it mounted
#   scripts/cluster.sh status    what runs; exit 0 when the node is Ready
#   scripts/cluster.sh build     only build the programs (--cached: say whether they are built)
#   scripts/cluster.sh reset     stop, then forget the cluster's objects and claims' data
#                                (keeps the builds, the images and the PKI)
# Cold, the builds take about an hour on 2 busy cores; a warm start takes about a minute. See
# docs/kubernetes.md, "Try it on a local cluster".
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)/cluster"
case "${1:-start}" in
  start) exec bash "$here/start.sh" ;;
  stop) exec bash "$here/stop.sh" ;;
  status) exec bash "$here/status.sh" ;;
  build) shift && exec bash "$here/build.sh" "$@" ;;
  reset)
    bash "$here/stop.sh"
    # shellcheck source=scripts/cluster/env.sh
    . "$here/env.sh"
    rm -rf "$CLUSTER_DIR/etcd" "$CLUSTER_DIR/volumes" "$CLUSTER_DIR/kubelet"
    say "reset: etcd data, claims and kubelet state removed"
    ;;
  *) echo "usage: npm run cluster -- [start|stop|status|build|reset]" >&2 && exit 1 ;;
esac
