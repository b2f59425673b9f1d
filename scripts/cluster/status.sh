#!/usr/bin/env bash
# What runs of the cluster: each program with its pid, and the node as the API server reports
# it. Exit 0 when every program runs and the node is Ready, 3 otherwise.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/cluster/env.sh
. "$here/env.sh"
ok=0
for n in containerd etcd kube-apiserver volume-modes kube-controller-manager kube-scheduler kubelet kube-proxy coredns; do
  p=$(cat "$CLUSTER_RUN/$n.pid" 2>/dev/null || true)
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then echo "$n: running (pid $p)"; else echo "$n: stopped" && ok=3; fi
done
if [ "$ok" = 0 ] && ready=$(kctl get node "$NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) && [ "$ready" = True ]; then
  echo "node $NODE_NAME: Ready; API server https://$NODE_IP:6443, ingress https://$NODE_IP:443"
  echo "KUBECONFIG=$KUBECONFIG_FILE"
else
  echo "node $NODE_NAME: not Ready"
  ok=3
fi
exit $ok
