#!/usr/bin/env bash
# Stops everything scripts/cluster/daemons.sh started, by the pids it recorded: the node's
# programs first, then every pod's containers (killed and removed through containerd, their
# network namespaces unmounted), containerd's leftover shims, the control plane; then unmounts
# what was mounted under ~/.cache/psf/cluster and /tmp/hostpath_pv, removes the cluster's
# cgroups and its network namespace. Cluster state (etcd, claims' data, images) stays for the
# next start, which recreates the pods as after a reboot.
set -uo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/cluster/env.sh
. "$here/env.sh"
sock="$CLUSTER_RUN/containerd.sock"

stop_pid() { # name
  local f="$CLUSTER_RUN/$1.pid" p
  p=$(cat "$f" 2>/dev/null) || return 0
  if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
    kill "$p" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$p" 2>/dev/null && kill -9 "$p" 2>/dev/null
    say "stopped $1 (pid $p)"
  fi
  rm -f "$f"
}

for n in kubelet kube-proxy coredns kube-scheduler kube-controller-manager volume-modes; do stop_pid "$n"; done

# The pods: kill and remove every container; the sandboxes' network namespaces are bind
# mounts under /run/netns that only containerd's CRI would remove.
netns=()
if [ -S "$sock" ] && ctr --address "$sock" version >/dev/null 2>&1; then
  c() { ctr --address "$sock" --namespace k8s.io "$@"; }
  for id in $(c containers ls -q); do
    ns=$(c containers info "$id" 2>/dev/null | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{const n=(JSON.parse(s).Spec.linux.namespaces||[]).find(x=>x.type==="network");if(n&&n.path)console.log(n.path)}catch{}})')
    [ -n "$ns" ] && netns+=("$ns")
    c tasks kill -s SIGKILL "$id" >/dev/null 2>&1
  done
  sleep 1
  for id in $(c containers ls -q); do
    c tasks rm -f "$id" >/dev/null 2>&1
    c containers rm "$id" >/dev/null 2>&1
  done
fi
stop_pid containerd
# A shim outlives its containerd; ours are the ones started with our containerd's socket.
for p in $(pgrep -f containerd-shim-runc-v2 || true); do
  tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "-address $sock" && kill -9 "$p" 2>/dev/null
done
stop_pid kube-apiserver
stop_pid etcd

# Mounts: the pods' (volumes, secrets, rootfs, shm, netns) and the provisioner's directory.
for ns in $(printf '%s\n' "${netns[@]}" | sort -u); do
  umount "$ns" 2>/dev/null
  rm -f "$ns"
done
findmnt -rn -o TARGET | grep -E "^($CLUSTER_DIR/|/tmp/hostpath_pv$)" | sort -r | while read -r m; do
  umount "$m" 2>/dev/null || umount -l "$m"
done

# The pods' cgroups (kubelet's cgroupRoot /psf-cluster), deepest first; empty once nothing runs.
for root in /sys/fs/cgroup/*/psf-cluster /sys/fs/cgroup/psf-cluster; do
  [ -d "$root" ] && find "$root" -depth -type d -exec rmdir {} + 2>/dev/null
done

bash "$here/net.sh" down
say "stopped"
