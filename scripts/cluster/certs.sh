#!/usr/bin/env bash
# The cluster's PKI, made once with openssl into ~/.cache/psf/cluster/pki: a CA, the API
# server's serving certificate, a client certificate per component (its user and group are
# what RBAC sees), the service-account signing key, and a kubeconfig per client. The admin
# kubeconfig is ~/.cache/psf/cluster/kubeconfig. Existing files are kept (idempotent).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=scripts/cluster/env.sh
. "$here/env.sh"
mkdir -p "$CLUSTER_PKI" && cd "$CLUSTER_PKI"
umask 077

if [ ! -f ca.crt ]; then
  openssl ecparam -name prime256v1 -genkey -noout -out ca.key
  openssl req -x509 -new -key ca.key -sha256 -days 3650 -subj "/CN=psf-cluster-ca" \
    -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" -out ca.crt
fi

cert() { # name CN O usage [subjectAltName]
  local name=$1 cn=$2 o=$3 usage=$4 san=${5:-}
  [ -f "$name.crt" ] && return
  openssl ecparam -name prime256v1 -genkey -noout -out "$name.key"
  openssl req -new -key "$name.key" -subj "/CN=$cn${o:+/O=$o}" -out "$name.csr"
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$usage"
    [ -z "$san" ] || echo "subjectAltName=$san"
  } >"$name.ext"
  openssl x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -sha256 -days 3650 \
    -extfile "$name.ext" -out "$name.crt" 2>/dev/null
  rm -f "$name.csr" "$name.ext"
}

cert apiserver kube-apiserver "" serverAuth \
  "DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.$CLUSTER_DOMAIN,DNS:localhost,IP:127.0.0.1,IP:$NODE_IP,IP:$SERVICE_API_IP"
cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters clientAuth
cert admin psf-admin system:masters clientAuth
cert controller-manager system:kube-controller-manager "" clientAuth
cert scheduler system:kube-scheduler "" clientAuth
cert kube-proxy system:kube-proxy "" clientAuth
cert coredns system:coredns "" clientAuth
cert kubelet "system:node:$NODE_NAME" system:nodes clientAuth
cert kubelet-serving "system:node:$NODE_NAME" system:nodes serverAuth "DNS:$NODE_NAME,IP:$NODE_IP"
[ -f sa.key ] || { openssl genrsa -out sa.key 2048 2>/dev/null && openssl rsa -in sa.key -pubout -out sa.pub 2>/dev/null; }

kubeconfig() { # file cert-name
  [ -f "$1" ] && return
  node -e '
    const fs = require("fs"), [file, pki, name, server] = process.argv.slice(1);
    const b64 = (f) => fs.readFileSync(`${pki}/${f}`).toString("base64");
    const doc = {
      apiVersion: "v1", kind: "Config", "current-context": "psf-cluster", preferences: {},
      clusters: [{ name: "psf-cluster", cluster: { server, "certificate-authority-data": b64("ca.crt") } }],
      users: [{ name, user: { "client-certificate-data": b64(`${name}.crt`), "client-key-data": b64(`${name}.key`) } }],
      contexts: [{ name: "psf-cluster", context: { cluster: "psf-cluster", user: name } }],
    };
    fs.writeFileSync(file, JSON.stringify(doc, null, 2) + "\n", { mode: 0o600 });
  ' "$1" "$CLUSTER_PKI" "$2" "https://$NODE_IP:6443"
}
for c in controller-manager scheduler kube-proxy coredns kubelet; do kubeconfig "$c.kubeconfig" "$c"; done
kubeconfig "$KUBECONFIG_FILE" admin
echo "cluster: certificates and kubeconfigs in $CLUSTER_PKI; admin kubeconfig $KUBECONFIG_FILE"
