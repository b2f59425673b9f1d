#!/usr/bin/env bash
# Starts a Docker engine from Debian's docker.io when none answers, and waits until it does.
# Idempotent: with an engine running it only checks it. Log: ~/.cache/psf/dockerd.log
set -euo pipefail
cache="${PSF_CACHE:-$HOME/.cache/psf}"
log="$cache/dockerd.log"
timeout="${PSF_DOCKERD_TIMEOUT:-60}"
mkdir -p "$cache"

if docker info >/dev/null 2>&1; then
  echo "docker-engine: already running ($(docker version --format '{{.Server.Version}}'))"
  exit 0
fi
if ! command -v dockerd >/dev/null || ! command -v docker >/dev/null; then
  echo "docker-engine: installing docker.io from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends docker.io iptables ca-certificates >/dev/null
fi
pid=""
if pgrep -x dockerd >/dev/null; then
  echo "docker-engine: dockerd is starting; waiting for it"
else
  echo "docker-engine: starting dockerd (log: $log)"
  # Its own session: the engine outlives the shell or CI step that started it.
  setsid nohup dockerd --storage-driver=overlay2 >"$log" 2>&1 </dev/null &
  pid=$!
fi
for _ in $(seq 1 "$timeout"); do
  if docker info >/dev/null 2>&1; then
    echo "docker-engine: ready ($(docker version --format '{{.Server.Version}}'))"
    exit 0
  fi
  if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
    echo "docker-engine: dockerd exited; last log lines ($log):" >&2
    tail -20 "$log" >&2
    exit 1
  fi
  sleep 1
done
echo "docker-engine: dockerd did not answer within $timeout s; last log lines ($log):" >&2
tail -20 "$log" >&2
exit 1
