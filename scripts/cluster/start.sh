#!/usr/bin/env bash
# Starts the single-node cluster (scripts/cluster.sh start): builds what is not built, makes
# the PKI and the network namespace, starts the control plane, loads images into containerd,
# applies the add-ons (default storage class, CoreDNS's RBAC, Traefik and its IngressClass),
# starts the node's programs, waits for the node to be Ready and Traefik to serve, and runs
# scripts/cluster/check.sh. Prints how long it took (also in ~/.cache/psf/cluster/start-times.log).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/cluster/env.sh
. "$here/env.sh"
t0=$SECONDS
for cmd in containerd runc ctr nsenter ip curl openssl iptables; do
  command -v "$cmd" >/dev/null || { echo "cluster: $cmd is missing (apt-get install containerd runc containernetworking-plugins iptables curl openssl)" >&2 && exit 1; }
done
[ -x /usr/lib/cni/bridge ] || { echo "cluster: CNI plugins missing (apt-get install containernetworking-plugins)" >&2 && exit 1; }
[ "$(id -u)" = 0 ] || { echo "cluster: needs root (network namespace, mounts, cgroups)" >&2 && exit 1; }

if ! bash "$here/build.sh" --cached; then
  say "building the cluster's programs from Go modules (first run: ~1 h on 2 busy cores; log: $CLUSTER_LOGS/build.log)"
fi
mkdir -p "$CLUSTER_LOGS"
bash "$here/build.sh" 2>&1 | tee -a "$CLUSTER_LOGS/build.log" | grep -E '^cluster: ' || true
bash "$here/build.sh" --cached || { echo "cluster: the build failed (log: $CLUSTER_LOGS/build.log)" >&2 && exit 1; }
built=$SECONDS

bash "$here/certs.sh" >/dev/null
bash "$here/net.sh" up
bash "$here/daemons.sh" containerd etcd kube-apiserver
bash "$here/apply.sh" storage coredns-rbac traefik
bash "$here/images.sh"
bash "$here/daemons.sh" volumes kube-controller-manager kube-scheduler kubelet kube-proxy coredns
kctl wait --for=condition=Ready "node/$NODE_NAME" --timeout=180s >/dev/null
say "node $NODE_NAME Ready"
kctl -n psf-ingress rollout status deployment/traefik --timeout=180s >/dev/null
say "traefik serving on https://$NODE_IP:443 (IngressClass traefik)"
bash "$here/check.sh"
took=$((SECONDS - t0))
echo "$(date -u +%FT%TZ) start ${took} s (builds $((built - t0)) s)" >>"$CLUSTER_DIR/start-times.log"
say "up in $took s (builds $((built - t0)) s). KUBECONFIG=$KUBECONFIG_FILE; stop: npm run cluster -- stop"
