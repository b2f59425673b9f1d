/**
 * The ACME client loop the acme provider's workload runs (POSIX sh, certbot and openssl). Every
 * `PSF_ACME_INTERVAL` seconds, for each line `<name> <domain>[,<domain>...]` of `PSF_ACME_CERTS`:
 * a certificate that is missing, covers other names than asked, or expires within
 * `PSF_ACME_RENEW_BEFORE` seconds is issued by `certbot certonly` (its account, keys and lineages
 * under `PSF_ACME_CONFIG_DIR`, a volume); then the lineage's full chain and key are copied to
 * `PSF_ACME_LIVE/<name>.crt|.key` when they differ (key first, each by rename, so a reader never
 * sees half a file). Before the first issuance a one-day self-signed placeholder stands there,
 * so a proxy can start and serve the HTTP-01 challenges that get the real one.
 * The other settings: PSF_ACME_SERVER (directory URL), PSF_ACME_EMAIL, PSF_ACME_CHALLENGE
 * (http-01: webroot PSF_ACME_WEBROOT; dns-01: RFC 2136 with the certbot credentials file
 * PSF_ACME_DNS_CREDENTIALS, PSF_ACME_PROPAGATION seconds to wait), PSF_ACME_CA (extra CAs to
 * trust for the ACME server's HTTPS), PSF_ACME_WORK_DIR, PSF_ACME_ONCE=1 (one pass, then exit
 * with its status: tests), PSF_ACME_SETTLE (seconds before the first issuance after writing a
 * placeholder: the proxy starts on it), PSF_ACME_RETRY (seconds after a first failure, doubled at
 * each further one).
 */
export const ACME_SCRIPT = String.raw`#!/bin/sh
set -u
log() { echo "psf-acme: $*" >&2; }
config=$PSF_ACME_CONFIG_DIR
work=$PSF_ACME_WORK_DIR
live=$PSF_ACME_LIVE
mkdir -p "$config/psf" "$work" "$live"
if [ "$PSF_ACME_CHALLENGE" = http-01 ]; then mkdir -p "$PSF_ACME_WEBROOT"; fi
if [ -n "$PSF_ACME_CA" ]; then
  # requests trusts one bundle: the system's, plus the private CA.
  cat /etc/ssl/certs/ca-certificates.crt "$PSF_ACME_CA" >"$work/ca-bundle.pem" 2>/dev/null ||
    cat "$PSF_ACME_CA" >"$work/ca-bundle.pem"
  export REQUESTS_CA_BUNDLE="$work/ca-bundle.pem"
fi

# install SRC DEST MODE: replaces DEST by rename when its content differs; 0 when replaced.
install_file() {
  if cmp -s "$1" "$2"; then return 1; fi
  cat "$1" >"$2.psf-new" && chmod "$3" "$2.psf-new" && mv -f "$2.psf-new" "$2"
}

# 0: a placeholder was written now; 1: the files were there; 3: failure.
placeholder() {
  name=$1 domains=$2
  [ -s "$live/$name.crt" ] && [ -s "$live/$name.key" ] && return 1
  first=$(echo "$domains" | cut -d, -f1)
  san=$(echo "$domains" | sed 's/^/DNS:/; s/,/,DNS:/g')
  log "$name: placeholder certificate until the first is issued"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj "/CN=$first" -addext "subjectAltName=$san" \
    -keyout "$work/$name.key" -out "$work/$name.crt" 2>/dev/null </dev/null || return 3
  install_file "$work/$name.key" "$live/$name.key" 600
  install_file "$work/$name.crt" "$live/$name.crt" 644
  rm -f "$work/$name.key" "$work/$name.crt"
  return 0
}

# Sets next, the seconds to the next pass: soon after fresh placeholders (2); after a failure (1)
# PSF_ACME_RETRY (5 minutes), doubled at each further failure (Let's Encrypt allows 5 failed validations an hour); else, and
# never later than, the interval.
backoff=$PSF_ACME_RETRY
pause() {
  case $1 in
    0) backoff=$PSF_ACME_RETRY; next=$PSF_ACME_INTERVAL ;;
    2) next=$PSF_ACME_SETTLE ;;
    *) next=$backoff; backoff=$((backoff * 2)) ;;
  esac
  if [ "$next" -gt "$PSF_ACME_INTERVAL" ]; then next=$PSF_ACME_INTERVAL; fi
}

# Why a certificate is due, or nothing when it is not.
due() {
  name=$1 domains=$2
  chain="$config/live/$name/fullchain.pem"
  if [ ! -s "$chain" ]; then echo "no certificate yet"; return; fi
  if [ "$(cat "$config/psf/$name.domains" 2>/dev/null)" != "$domains" ]; then echo "names changed"; return; fi
  if ! openssl x509 -checkend "$PSF_ACME_RENEW_BEFORE" -noout -in "$chain" >/dev/null; then
    echo "expires within $PSF_ACME_RENEW_BEFORE s"
  fi
}

issue() {
  name=$1 domains=$2
  set -- certonly --non-interactive --agree-tos --email "$PSF_ACME_EMAIL" \
    --server "$PSF_ACME_SERVER" --config-dir "$config" --work-dir "$work" --logs-dir "$work/logs" \
    --cert-name "$name" --key-type ecdsa --force-renewal
  for d in $(echo "$domains" | tr , ' '); do set -- "$@" -d "$d"; done
  if [ "$PSF_ACME_CHALLENGE" = dns-01 ]; then
    set -- "$@" --preferred-challenges dns-01 --dns-rfc2136 \
      --dns-rfc2136-credentials "$PSF_ACME_DNS_CREDENTIALS" \
      --dns-rfc2136-propagation-seconds "$PSF_ACME_PROPAGATION"
  else
    set -- "$@" --preferred-challenges http-01 --webroot -w "$PSF_ACME_WEBROOT"
  fi
  certbot "$@" </dev/null && echo "$domains" >"$config/psf/$name.domains"
}

# 0: every certificate is current; 1: something failed; 2: placeholders were written (HTTP-01
# waits a pass for the proxy to start on them).
pass() {
  status=0
  while read -r name domains <&3; do
    [ -n "$name" ] || continue
    placeholder "$name" "$domains"
    case $? in
      0) if [ "$PSF_ACME_CHALLENGE" = http-01 ]; then [ $status = 1 ] || status=2; continue; fi ;;
      3) log "$name: cannot write a placeholder"; status=1 ;;
    esac
    why=$(due "$name" "$domains")
    if [ -n "$why" ]; then
      log "$name: issuing ($why): $domains"
      issue "$name" "$domains" || { log "$name: issuance failed"; status=1; }
    fi
    chain="$config/live/$name/fullchain.pem"
    if [ -s "$chain" ]; then
      install_file "$config/live/$name/privkey.pem" "$live/$name.key" 600
      install_file "$chain" "$live/$name.crt" 644 && log "$name: serving the certificate (serial $(openssl x509 -noout -serial -in "$chain" | cut -d= -f2))"
    fi
  done 3<"$PSF_ACME_CERTS"
  return $status
}

if [ "$PSF_ACME_ONCE" = 1 ]; then pass; exit $?; fi
while :; do
  pass
  pause $?
  if [ "$status" = 1 ]; then log "next try in $next s"; fi
  sleep "$next"
done
`;
