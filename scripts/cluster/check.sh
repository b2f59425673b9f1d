#!/usr/bin/env bash
# Proves the running cluster works end to end, then removes what it made: the node is Ready,
# a claim on the default storage class binds, a pod running as a non-root user writes to it,
# and HTTPS to NODE_IP:443 with the check's host name reaches the pod through Traefik.
#   scripts/cluster/check.sh [--keep]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/cluster/env.sh
. "$here/env.sh"
export CHECK_HOST=check.psf-cluster.localhost
t0=$SECONDS
fail() { echo "cluster: check failed: $*" >&2; kctl -n psf-cluster-check get pvc,pod,ingress -o wide >&2 || true; kctl -n psf-cluster-check describe pod check 2>/dev/null | tail -15 >&2 || true; exit 1; }

kctl wait --for=condition=Ready "node/$NODE_NAME" --timeout=120s >/dev/null || fail "node $NODE_NAME is not Ready"
bash "$here/apply.sh" check
kctl -n psf-cluster-check wait --for=jsonpath='{.status.phase}'=Bound pvc/data --timeout=60s >/dev/null || fail "the claim did not bind"
kctl -n psf-cluster-check wait --for=condition=Ready pod/check --timeout=120s >/dev/null || fail "the pod is not Ready"
pv=$(kctl -n psf-cluster-check get pvc data -o jsonpath='{.spec.volumeName}')
path=$(kctl get pv "$pv" -o jsonpath='{.spec.hostPath.path}')
written=$(kctl -n psf-cluster-check exec check -c writer -- /bin/busybox cat /data/check) || fail "no file in the claim"
[ "$written" = "written-by-65534" ] || fail "the claim holds \"$written\""
body=""
for _ in $(seq 1 30); do
  body=$(curl -sk --max-time 5 --resolve "$CHECK_HOST:443:$NODE_IP" "https://$CHECK_HOST/" || true)
  grep -q "^Hostname: check" <<<"$body" && break
  sleep 1
done
grep -q "^Hostname: check" <<<"$body" || fail "https://$CHECK_HOST/ through Traefik at $NODE_IP:443 answered: ${body:-nothing}"
say "check passed in $((SECONDS - t0)) s: node $NODE_NAME Ready; claim $pv bound ($path), written by uid 65534; https://$CHECK_HOST/ served by pod check through Traefik"
if [ "${1:-}" != "--keep" ]; then kctl delete namespace psf-cluster-check --wait=false >/dev/null; fi
