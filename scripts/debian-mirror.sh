#!/usr/bin/env bash
# Prints the Debian mirror for debootstrap: PSF_DEBIAN_MIRROR, else the one apt already uses
# (the only one an air-gapped machine may reach), else deb.debian.org.
# Usage: mirror="$(bash scripts/debian-mirror.sh)"
set -euo pipefail
apt_mirror() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && awk '/^URIs:/ {print $2}' "$f"
  done
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
    awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { print $i; break } }'
}
mirror="${PSF_DEBIAN_MIRROR:-$(apt_mirror | grep -v -e security -e '^$' | head -1 || true)}"
echo "${mirror:-http://deb.debian.org/debian}"
