#!/usr/bin/env bash
# Starts the cluster's programs inside its network namespace, each in its own session with a
# pid file in ~/.cache/psf/cluster/run and a log in ~/.cache/psf/cluster/logs, each waited for:
#   scripts/cluster/daemons.sh [NAME...]   (default, in order: containerd etcd kube-apiserver
#                                           volumes kube-controller-manager kube-scheduler
#                                           kubelet kube-proxy coredns)
# A program whose pid file names a live process is left running.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/cluster/env.sh
. "$here/env.sh"
etc="$CLUSTER_DIR/etc"
pki="$CLUSTER_PKI"
mkdir -p "$etc" "$CLUSTER_RUN" "$CLUSTER_LOGS"

running() { local p; p=$(cat "$CLUSTER_RUN/$1.pid" 2>/dev/null) && [ -n "$p" ] && kill -0 "$p" 2>/dev/null; }

launch() { # name command...
  local name=$1
  shift
  if running "$name"; then say "$name already running (pid $(cat "$CLUSTER_RUN/$name.pid"))"; return; fi
  # nsenter --net only: the programs share the host's mount namespace, so what the kubelet
  # mounts for a pod is what runc sees (ip netns exec would give each its own).
  setsid nohup nsenter --net="/run/netns/$NETNS" "$@" >>"$CLUSTER_LOGS/$name.log" 2>&1 </dev/null &
  echo $! >"$CLUSTER_RUN/$name.pid"
}

wait_for() { # name seconds test-command...
  local name=$1 n=$2
  shift 2
  for _ in $(seq 1 "$n"); do
    if "$@" >/dev/null 2>&1; then say "$name ready"; return; fi
    running "$name" || { tail -20 "$CLUSTER_LOGS/$name.log" >&2; echo "cluster: $name exited (log: $CLUSTER_LOGS/$name.log)" >&2; exit 1; }
    sleep 1
  done
  tail -20 "$CLUSTER_LOGS/$name.log" >&2
  echo "cluster: $name not ready after $n s (log: $CLUSTER_LOGS/$name.log)" >&2
  exit 1
}
# An HTTPS health endpoint inside the namespace, with the admin's client certificate.
healthy() { in_netns curl -sf --cacert "$pki/ca.crt" --cert "$pki/admin.crt" --key "$pki/admin.key" "$1" -o /dev/null; }

containerd_() {
  local d="$CLUSTER_DIR/containerd"
  mkdir -p "$d/root" "$CLUSTER_RUN/containerd"
  cat >"$etc/containerd.toml" <<TOML
# The cluster's own containerd (Docker's, if any, is another daemon with other paths).
version = 2
root = "$d/root"
state = "$CLUSTER_RUN/containerd"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper"]
[grpc]
  address = "$CLUSTER_RUN/containerd.sock"
[ttrpc]
  address = "$CLUSTER_RUN/containerd.sock.ttrpc"
[plugins."io.containerd.internal.v1.opt"]
  path = "$d/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$CLUSTER_DIR/cni/net.d"
TOML
  launch containerd containerd --config "$etc/containerd.toml"
  wait_for containerd 30 ctr --address "$CLUSTER_RUN/containerd.sock" version
}

etcd_() {
  launch etcd "$CLUSTER_BIN/etcd" --name psf --data-dir "$CLUSTER_DIR/etcd" \
    --listen-client-urls http://127.0.0.1:2379 --advertise-client-urls http://127.0.0.1:2379 \
    --listen-peer-urls http://127.0.0.1:2380 --initial-advertise-peer-urls http://127.0.0.1:2380 \
    --initial-cluster psf=http://127.0.0.1:2380 --listen-metrics-urls http://127.0.0.1:2381 --log-level warn
  wait_for etcd 60 in_netns curl -sf http://127.0.0.1:2381/readyz
}

apiserver_() {
  launch kube-apiserver "$CLUSTER_BIN/kube-apiserver" \
    --etcd-servers=http://127.0.0.1:2379 --advertise-address="$NODE_IP" --secure-port=6443 \
    --service-cluster-ip-range="$SERVICE_CIDR" --service-node-port-range=30000-32767 \
    --tls-cert-file="$pki/apiserver.crt" --tls-private-key-file="$pki/apiserver.key" --client-ca-file="$pki/ca.crt" \
    --kubelet-client-certificate="$pki/apiserver-kubelet-client.crt" --kubelet-client-key="$pki/apiserver-kubelet-client.key" \
    --kubelet-certificate-authority="$pki/ca.crt" --kubelet-preferred-address-types=InternalIP \
    --service-account-issuer="https://kubernetes.default.svc.$CLUSTER_DOMAIN" \
    --service-account-key-file="$pki/sa.pub" --service-account-signing-key-file="$pki/sa.key" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction --allow-privileged=true
  wait_for kube-apiserver 120 healthy "https://$NODE_IP:6443/readyz"
}

controller_manager_() {
  local k="$pki/controller-manager.kubeconfig"
  # The host-path provisioner: claims of the default class (scripts/cluster/addons.sh) get a
  # directory under /tmp/hostpath_pv (the path is fixed in the provisioner; start.sh binds it
  # to ~/.cache/psf/cluster/volumes).
  launch kube-controller-manager "$CLUSTER_BIN/kube-controller-manager" \
    --kubeconfig="$k" --authentication-kubeconfig="$k" --authorization-kubeconfig="$k" \
    --bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
    --cluster-signing-cert-file="$pki/ca.crt" --cluster-signing-key-file="$pki/ca.key" \
    --root-ca-file="$pki/ca.crt" --service-account-private-key-file="$pki/sa.key" \
    --service-cluster-ip-range="$SERVICE_CIDR" --enable-hostpath-provisioner=true
  wait_for kube-controller-manager 60 in_netns curl -skf https://127.0.0.1:10257/healthz
}

scheduler_() {
  local k="$pki/scheduler.kubeconfig"
  launch kube-scheduler "$CLUSTER_BIN/kube-scheduler" \
    --kubeconfig="$k" --authentication-kubeconfig="$k" --authorization-kubeconfig="$k" \
    --bind-address=127.0.0.1 --leader-elect=false
  wait_for kube-scheduler 60 in_netns curl -skf https://127.0.0.1:10259/healthz
}

kubelet_() {
  # cgroup v1 or v2 as the host has it; cgroupfs, as there is no systemd to ask. The pods'
  # cgroups go under /psf-cluster, apart from Docker's.
  local v1=true
  [ "$(stat -fc %T /sys/fs/cgroup)" = cgroup2fs ] && v1=false
  if [ "$v1" = true ]; then
    local c
    for c in /sys/fs/cgroup/*/; do
      case "$c" in */unified/ | */systemd/) continue ;; esac
      [ -d "$c/psf-cluster" ] && continue
      mkdir "$c/psf-cluster"
      # A cpuset cgroup starts with no CPUs or memory nodes; its parent's are the right ones.
      if [ -f "$c/cpuset.cpus" ]; then cat "$c/cpuset.cpus" >"$c/psf-cluster/cpuset.cpus" && cat "$c/cpuset.mems" >"$c/psf-cluster/cpuset.mems"; fi
    done
  else
    mkdir -p /sys/fs/cgroup/psf-cluster
  fi
  mkdir -p "$CLUSTER_DIR/kubelet"
  cat >"$etc/kubelet.yaml" <<YAML
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: "$pki/ca.crt" }
authorization: { mode: Webhook }
tlsCertFile: "$pki/kubelet-serving.crt"
tlsPrivateKeyFile: "$pki/kubelet-serving.key"
address: "$NODE_IP"
healthzBindAddress: 127.0.0.1
containerRuntimeEndpoint: "unix://$CLUSTER_RUN/containerd.sock"
cgroupDriver: cgroupfs
cgroupRoot: /psf-cluster
failCgroupV1: false
failSwapOn: false
clusterDNS: ["$NODE_IP"]
clusterDomain: "$CLUSTER_DOMAIN"
resolvConf: "$etc/resolv.conf"
# A shared development machine: no evictions for its disk filling up with other work.
evictionHard: { "memory.available": "100Mi", "nodefs.available": "1%", "imagefs.available": "1%", "nodefs.inodesFree": "1%" }
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
YAML
  # Pods with dnsPolicy Default: the node's resolver is the cluster's DNS (nothing else is
  # reachable from the namespace).
  printf 'nameserver %s\n' "$NODE_IP" >"$etc/resolv.conf"
  launch kubelet "$CLUSTER_BIN/kubelet" --config="$etc/kubelet.yaml" --kubeconfig="$pki/kubelet.kubeconfig" \
    --hostname-override="$NODE_NAME" --node-ip="$NODE_IP" --root-dir="$CLUSTER_DIR/kubelet"
  wait_for kubelet 120 in_netns curl -sf http://127.0.0.1:10248/healthz
}

proxy_() {
  launch kube-proxy "$CLUSTER_BIN/kube-proxy" --kubeconfig="$pki/kube-proxy.kubeconfig" \
    --hostname-override="$NODE_NAME" --proxy-mode=iptables --cluster-cidr="$POD_CIDR" \
    --conntrack-max-per-core=0 --metrics-bind-address=127.0.0.1:10249 --healthz-bind-address=127.0.0.1:10256
  wait_for kube-proxy 60 in_netns curl -sf http://127.0.0.1:10256/healthz
}

# The host-path provisioner's directories: /tmp/hostpath_pv is fixed in kube-controller-manager,
# so it is bound to ~/.cache/psf/cluster/volumes (claims survive a stop; stop.sh unbinds it). The
# provisioner makes each directory root-only (0750) and a host path takes no fsGroup, so pods
# that run as a user (nginx, postgres) could not write: a watcher opens each new one (0777),
# as Rancher's local-path provisioner does.
volumes_() {
  mkdir -p "$CLUSTER_DIR/volumes" /tmp/hostpath_pv
  mountpoint -q /tmp/hostpath_pv || mount --bind "$CLUSTER_DIR/volumes" /tmp/hostpath_pv
  launch volume-modes bash -c 'while :; do find /tmp/hostpath_pv -mindepth 1 -maxdepth 1 -type d ! -perm 0777 -exec chmod 0777 {} + 2>/dev/null; sleep 0.3; done'
}

coredns_() {
  cat >"$etc/Corefile" <<COREFILE
.:53 {
    bind $NODE_IP
    errors
    health 127.0.0.1:8081
    ready 127.0.0.1:8181
    kubernetes $CLUSTER_DOMAIN in-addr.arpa ip6.arpa {
        kubeconfig $pki/coredns.kubeconfig psf-cluster
        pods insecure
        ttl 5
    }
    cache 5
    loadbalance
}
COREFILE
  launch coredns "$CLUSTER_BIN/coredns" -conf "$etc/Corefile"
  wait_for coredns 60 in_netns curl -sf http://127.0.0.1:8181/ready
}

names=("$@")
[ ${#names[@]} -gt 0 ] || names=(containerd etcd kube-apiserver volumes kube-controller-manager kube-scheduler kubelet kube-proxy coredns)
for n in "${names[@]}"; do
  case "$n" in
    containerd) containerd_ ;;
    etcd) etcd_ ;;
    kube-apiserver) apiserver_ ;;
    volumes) volumes_ ;;
    kube-controller-manager) controller_manager_ ;;
    kube-scheduler) scheduler_ ;;
    kubelet) kubelet_ ;;
    kube-proxy) proxy_ ;;
    coredns) coredns_ ;;
    *) echo "cluster: no program $n" >&2 && exit 1 ;;
  esac
done
