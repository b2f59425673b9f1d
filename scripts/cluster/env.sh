# Shared settings of scripts/cluster/*.sh (sourced).
# shellcheck shell=bash disable=SC2034
CLUSTER_DIR="${PSF_CLUSTER_DIR:-$HOME/.cache/psf/cluster}"
CLUSTER_BIN="$CLUSTER_DIR/bin"
CLUSTER_PKI="$CLUSTER_DIR/pki"
CLUSTER_RUN="$CLUSTER_DIR/run"
CLUSTER_LOGS="$CLUSTER_DIR/logs"
KUBECONFIG_FILE="$CLUSTER_DIR/kubeconfig"
ETCD_VERSION=v3.6.16
K8S_VERSION=v1.34.4
COREDNS_VERSION=v1.12.4
CLUSTER_PROGRAMS=(etcd kube-apiserver kubectl kube-scheduler kube-controller-manager kubelet kube-proxy coredns)

# The cluster lives in a network namespace of its own, joined to the host by a veth pair:
# the host side HOST_IP, the node (every component, the pod bridge) NODE_IP. The API server,
# the ingress controller's ports and NodePorts are reachable from the host at NODE_IP only.
NETNS=psf-cluster
VETH_HOST=psfk8s0
VETH_NODE=psfk8s1
HOST_IP=192.168.233.1
NODE_IP=192.168.233.2
NODE_NAME=psf-node
POD_CIDR=10.244.0.0/24
SERVICE_CIDR=10.96.0.0/16
SERVICE_API_IP=10.96.0.1
CLUSTER_DOMAIN=cluster.local
PAUSE_IMAGE=registry.k8s.io/pause:3.10

in_netns() { nsenter --net="/run/netns/$NETNS" "$@"; }
kctl() { "$CLUSTER_BIN/kubectl" --kubeconfig "$KUBECONFIG_FILE" "$@"; }
say() { echo "cluster: $*"; }
