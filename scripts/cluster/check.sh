#!/usr/bin/env bash
# Proves the running cluster works end to end, then removes what it made: the node is Ready,
# a claim on the default storage class binds, a pod running as a non-root user writes to it,
# another pod reaches it by its Service's name (CoreDNS, kube-proxy), and HTTPS to NODE_IP:443
# reaches it through Traefik, by an Ingress of class traefik and one of the default class (nginx).
#   scripts/cluster/check.sh [--keep]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/cluster/env.sh
. "$here/env.sh"
export CHECK_HOST=check.psf-cluster.localhost
t0=$SECONDS
fail() { echo "cluster: check failed: $*" >&2; kctl -n psf-cluster-check get pvc,pod,ingress -o wide >&2 || true; kctl -n psf-cluster-check describe pod check 2>/dev/null | tail -15 >&2 || true; exit 1; }

kctl wait --for=condition=Ready "node/$NODE_NAME" --timeout=120s >/dev/null || fail "node $NODE_NAME is not Ready"
# A check's namespace from before (a stop may have cut its deletion short) goes first.
kctl delete namespace psf-cluster-check --ignore-not-found --wait=true --timeout=120s >/dev/null || fail "the namespace of the last check is still there"
bash "$here/apply.sh" check
kctl -n psf-cluster-check wait --for=jsonpath='{.status.phase}'=Bound pvc/data --timeout=60s >/dev/null || fail "the claim did not bind"
kctl -n psf-cluster-check wait --for=condition=Ready pod/check --timeout=120s >/dev/null || fail "the pod is not Ready"
pv=$(kctl -n psf-cluster-check get pvc data -o jsonpath='{.spec.volumeName}')
path=$(kctl get pv "$pv" -o jsonpath='{.spec.hostPath.path}')
written=$(kctl -n psf-cluster-check exec check -c writer -- /bin/busybox cat /data/check) || fail "no file in the claim"
[ "$written" = "written-by-65534" ] || fail "the claim holds \"$written\""
served() { # host
  local body=""
  for _ in $(seq 1 30); do
    body=$(curl -sk --max-time 5 --resolve "$1:443:$NODE_IP" "https://$1/" || true)
    grep -q "^Hostname: check" <<<"$body" && return
    sleep 1
  done
  fail "https://$1/ through Traefik at $NODE_IP:443 answered: ${body:-nothing}"
}
kctl -n psf-cluster-check wait --for=jsonpath='{.status.phase}'=Succeeded pod/client --timeout=90s >/dev/null ||
  fail "pod client did not reach http://check.psf-cluster-check.svc.cluster.local/: $(kctl -n psf-cluster-check logs client 2>&1 | tail -3)"
kctl -n psf-cluster-check logs client | grep -q "^Hostname: check" || fail "pod client got: $(kctl -n psf-cluster-check logs client | head -3)"
served "$CHECK_HOST"
served "default-$CHECK_HOST"
[ "$(kctl -n psf-cluster-check get ingress check -o jsonpath='{.status.loadBalancer.ingress[0].ip}')" = "$NODE_IP" ] ||
  fail "Traefik did not publish $NODE_IP as the Ingress's address (Pulumi waits for it)"
say "check passed in $((SECONDS - t0)) s: node $NODE_NAME Ready; claim $pv bound ($path), written by uid 65534; https://$CHECK_HOST/ (class traefik) and https://default-$CHECK_HOST/ (default class nginx) served by pod check through Traefik; pod client reached it as check.psf-cluster-check.svc.cluster.local"
if [ "${1:-}" != "--keep" ]; then kctl delete namespace psf-cluster-check --wait=false >/dev/null; fi
