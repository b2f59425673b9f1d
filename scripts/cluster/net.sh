#!/usr/bin/env bash
# The cluster's network namespace:  scripts/cluster/net.sh up|down
# up: namespace $NETNS with loopback, a veth pair to the host (HOST_IP <-> NODE_IP), forwarding
# and bridge netfilter on inside it (pods, kube-proxy's rules and hostPorts live there, so the
# host's own iptables are never touched), and the CNI configuration (bridge + host-local IPAM
# + portmap) containerd reads. down: removes the namespace (and with it the veth pair).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/cluster/env.sh
. "$here/env.sh"

case "${1:-}" in
  up)
    if [ ! -e "/run/netns/$NETNS" ]; then
      ip netns add "$NETNS"
      ip link add "$VETH_HOST" type veth peer name "$VETH_NODE"
      ip link set "$VETH_NODE" netns "$NETNS"
      ip addr add "$HOST_IP/30" dev "$VETH_HOST"
      ip link set "$VETH_HOST" up
      in_netns ip link set lo up
      in_netns ip addr add "$NODE_IP/30" dev "$VETH_NODE"
      in_netns ip link set "$VETH_NODE" up
      in_netns ip route add default via "$HOST_IP"
    fi
    modprobe br_netfilter 2>/dev/null || true
    # These are per network namespace: set inside, nothing on the host changes.
    in_netns sysctl -qw net.ipv4.ip_forward=1 net.bridge.bridge-nf-call-iptables=1 net.ipv4.conf.all.route_localnet=1
    mkdir -p "$CLUSTER_DIR/cni/net.d" "$CLUSTER_DIR/cni/ipam"
    cat >"$CLUSTER_DIR/cni/net.d/10-psf.conflist" <<JSON
{
  "cniVersion": "0.4.0",
  "name": "psf",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "psfcni0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": "$CLUSTER_DIR/cni/ipam",
        "ranges": [[{ "subnet": "$POD_CIDR" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } }
  ]
}
JSON
    ;;
  down)
    if [ -e "/run/netns/$NETNS" ]; then ip netns del "$NETNS"; fi
    ip link del "$VETH_HOST" 2>/dev/null || true
    # The IPAM's leases belong to pods that are gone with the namespace.
    rm -rf "$CLUSTER_DIR/cni/ipam"
    ;;
  *) echo "usage: scripts/cluster/net.sh up|down" >&2 && exit 1 ;;
esac
