#!/usr/bin/env bash
# Starts a Docker engine from Debian's docker.io when none answers, and waits until it does.
# Idempotent: with an engine running it only checks it. Log: ~/.cache/psf/dockerd.log
set -euo pipefail
cache="${PSF_CACHE:-$HOME/.cache/psf}"
mkdir -p "$cache"

if docker info >/dev/null 2>&1; then
  echo "docker-engine: already running ($(docker version --format '{{.Server.Version}}'))"
  exit 0
fi
if ! command -v dockerd >/dev/null; then
  echo "docker-engine: installing docker.io from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends docker.io iptables ca-certificates >/dev/null
fi
echo "docker-engine: starting dockerd (log: $cache/dockerd.log)"
nohup dockerd --storage-driver=overlay2 >"$cache/dockerd.log" 2>&1 &
for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    echo "docker-engine: ready ($(docker version --format '{{.Server.Version}}'))"
    exit 0
  fi
  sleep 1
done
echo "docker-engine: dockerd did not answer within 60 s; last log lines:" >&2
tail -20 "$cache/dockerd.log" >&2
exit 1
