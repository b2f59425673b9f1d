#!/usr/bin/env bash
# Builds the cluster's programs from Go modules through the module proxy, into
# ~/.cache/psf/cluster/bin (PSF_CLUSTER_DIR):
#   etcd                 go.etcd.io/etcd/server/v3 (ETCD_VERSION)
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl
#                        k8s.io/kubernetes (K8S_VERSION) through a wrapper module: the
#                        kubernetes module replaces its 31 k8s.io/* modules by ./staging folders,
#                        which a dependency's replaces cannot reach, so the wrapper replaces each
#                        by its published release k8s.io/<name> v0.<minor>.<patch>.
#   coredns              github.com/coredns/coredns (COREDNS_VERSION) with the plugins of
#                        scripts/cluster/coredns/main.go, its k8s.io modules at the cluster's.
# Each program has a stamp (module, version, ldflags): a warm run builds nothing.
#   scripts/cluster/build.sh [--cached] [PROGRAM...]   (--cached: only says whether all are built)
# Shared Go cache as scripts/toolchain.sh. Exit 0 when every asked program is built, 1 otherwise.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/cluster/env.sh
. "$here/env.sh"
cached_only=0
if [ "${1:-}" = "--cached" ]; then cached_only=1 && shift; fi
programs=("$@")
[ ${#programs[@]} -gt 0 ] || programs=("${CLUSTER_PROGRAMS[@]}")
mkdir -p "$CLUSTER_BIN" "$CLUSTER_DIR/stamps" "$CLUSTER_DIR/src"

stamp_of() { # program
  case "$1" in
    etcd) echo "go.etcd.io/etcd/server/v3 $ETCD_VERSION" ;;
    coredns) echo "github.com/coredns/coredns $COREDNS_VERSION $(sha256sum <"$here/coredns/main.go" | cut -c1-12)" ;;
    *) echo "k8s.io/kubernetes $K8S_VERSION $(k8s_ldflags)" ;;
  esac
}
k8s_ldflags() {
  local minor=${K8S_VERSION#v1.}
  minor=${minor%%.*}
  local f=""
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    f+=" -X $p.gitVersion=$K8S_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  echo "${f# }"
}
is_built() { [ -x "$CLUSTER_BIN/$1" ] && [ "$(cat "$CLUSTER_DIR/stamps/$1" 2>/dev/null)" = "$(stamp_of "$1")" ]; }

if [ "$cached_only" = 1 ]; then
  for p in "${programs[@]}"; do is_built "$p" || exit 1; done
  exit 0
fi

go_env() {
  if ! command -v go >/dev/null; then echo "cluster: go is not installed (apt-get install golang-go)" >&2 && exit 1; fi
  local gocache="${PSF_GOPATH:-$HOME/.cache/psf/go}"
  export GOPATH="$gocache" GOMODCACHE="$gocache/mod" GOCACHE="$gocache/build"
  # As scripts/toolchain.sh: the wrappers write their own go.sum; no checksum database, no direct.
  export GOFLAGS=-mod=mod GOSUMDB=off GOTOOLCHAIN=local
  GOPROXY="$(go env GOPROXY | sed -E 's/[,|]direct$//')"
  export GOPROXY
}

moddir() { (cd "$CLUSTER_DIR/src" && go mod download -json "$1@$2") | node -pe 'JSON.parse(require("fs").readFileSync(0,"utf8")).Dir'; }

etcd_wrapper() {
  local w="$CLUSTER_DIR/src/etcd"
  [ -f "$w/.ready" ] && [ "$(cat "$w/.ready")" = "$ETCD_VERSION" ] && return
  rm -rf "$w" && mkdir -p "$w"
  (cd "$w" && go mod init psf.local/cluster-etcd >/dev/null 2>&1 &&
    go mod edit -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION" &&
    printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >tools.go &&
    go mod tidy)
  echo "$ETCD_VERSION" >"$w/.ready"
}

k8s_wrapper() {
  local w="$CLUSTER_DIR/src/kubernetes"
  [ -f "$w/.ready" ] && [ "$(cat "$w/.ready")" = "$K8S_VERSION" ] && return
  local mdir staging="v0.${K8S_VERSION#v1.}"
  mdir=$(moddir k8s.io/kubernetes "$K8S_VERSION")
  rm -rf "$w" && mkdir -p "$w"
  (cd "$w" && go mod init psf.local/cluster-kubernetes >/dev/null 2>&1 && go mod edit -require="k8s.io/kubernetes@$K8S_VERSION")
  # The kubernetes module's own go version, so GODEBUG defaults are those its release builds with.
  (cd "$w" && go mod edit -go="$(go mod edit -json "$mdir/go.mod" | node -pe 'JSON.parse(require("fs").readFileSync(0,"utf8")).Go')")
  local n=0 r
  while read -r r; do
    (cd "$w" && go mod edit "$r") && n=$((n + 1))
  done < <(go mod edit -json "$mdir/go.mod" | node -e "
    const j=JSON.parse(require('fs').readFileSync(0,'utf8'));
    for (const r of j.Replace||[]) {
      const to = r.New.Version ? r.New.Path+'@'+r.New.Version
        : r.New.Path.startsWith('./staging/') ? r.Old.Path+'@$staging' : null;
      if (to) console.log('-replace='+r.Old.Path+(r.Old.Version?'@'+r.Old.Version:'')+'='+to);
    }")
  echo "cluster: wrapper replaces $n modules (the kubernetes module's ./staging ones by $staging)"
  {
    printf '//go:build tools\n\npackage tools\n\nimport (\n'
    for p in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do printf '\t_ "k8s.io/kubernetes/cmd/%s"\n' "$p"; done
    printf ')\n'
  } >"$w/tools.go"
  (cd "$w" && go mod tidy)
  echo "$K8S_VERSION" >"$w/.ready"
}

coredns_wrapper() {
  local w="$CLUSTER_DIR/src/coredns" staging="v0.${K8S_VERSION#v1.}" key
  key="$COREDNS_VERSION $(sha256sum <"$here/coredns/main.go" | cut -c1-12)"
  [ -f "$w/.ready" ] && [ "$(cat "$w/.ready")" = "$key" ] && return
  rm -rf "$w" && mkdir -p "$w" && cp "$here/coredns/main.go" "$w/"
  # client-go and its siblings at the cluster's release: the same packages the kubernetes
  # build compiled, so they come from the build cache.
  (cd "$w" && go mod init psf.local/cluster-coredns >/dev/null 2>&1 &&
    go mod edit -require="github.com/coredns/coredns@$COREDNS_VERSION" \
      -require="k8s.io/api@$staging" -require="k8s.io/apimachinery@$staging" -require="k8s.io/client-go@$staging" &&
    go mod tidy)
  echo "$key" >"$w/.ready"
}

build() { # program
  local p=$1 t0=$SECONDS
  if is_built "$p"; then echo "cluster: $p cached ($(stamp_of "$p" | cut -d' ' -f1-2))"; return; fi
  echo "cluster: building $p ($(date -u +%H:%M:%S))"
  case "$p" in
    etcd)
      etcd_wrapper
      (cd "$CLUSTER_DIR/src/etcd" && nice -n 10 go build -p 2 -trimpath -ldflags "-s -w" -o "$CLUSTER_BIN/etcd.new" go.etcd.io/etcd/server/v3)
      ;;
    coredns)
      coredns_wrapper
      (cd "$CLUSTER_DIR/src/coredns" && CGO_ENABLED=0 nice -n 10 go build -p 2 -trimpath -ldflags "-s -w" -o "$CLUSTER_BIN/coredns.new" .)
      ;;
    *)
      k8s_wrapper
      (cd "$CLUSTER_DIR/src/kubernetes" && nice -n 10 go build -p 2 -trimpath -ldflags "-s -w $(k8s_ldflags)" -o "$CLUSTER_BIN/$p.new" "k8s.io/kubernetes/cmd/$p")
      ;;
  esac
  mv "$CLUSTER_BIN/$p.new" "$CLUSTER_BIN/$p"
  stamp_of "$p" >"$CLUSTER_DIR/stamps/$p"
  echo "cluster: built $p in $((SECONDS - t0)) s"
}

# One build at a time (CI and a developer's start could overlap).
exec 9>"$CLUSTER_DIR/build.lock"
flock -n 9 || { echo "cluster: waiting for another build ($CLUSTER_DIR/build.lock)" && flock 9; }
go_env
for p in "${programs[@]}"; do build "$p"; done
