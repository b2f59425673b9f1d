# Fits Traefik's source to what the Go module proxy serves (scripts/build-images.sh, `prebuild`:
# runs in a writable copy of github.com/traefik/traefik/v3). Three edits, each checked:
#  1. ACME DNS-01: lego's registry of DNS providers imports 13 SDKs the proxy does not serve;
#     Traefik's ACME (which PSF does not use: certificates come from the ssl contract) refuses
#     a dnsChallenge instead. HTTP-01 and TLS-ALPN-01 stay.
#  2. Basic auth: the proxy lacks Traefik's fork of go-http-auth, so v0.4.0, the release it was
#     forked from, is used (go.mod); its password check is reached through its BasicAuth, as
#     the fork's CheckSecret does it (MD5-crypt, {SHA}, bcrypt).
#  3. Digest auth: v0.4.0 has no RequireAuthStale; a stale nonce gets a fresh challenge.
set -euo pipefail
chmod -R u+w pkg
edit() { # file perl-expression: the expression must change the file
  local before
  before="$(sha256sum "$1")"
  perl -0pi -e "$2" "$1"
  [ "$(sha256sum "$1")" != "$before" ] || { echo "module-proxy-gaps: $1 did not change" >&2 && exit 1; }
}
f=pkg/provider/acme/provider.go
edit "$f" 's#\n\t"github.com/go-acme/lego/v5/providers/dns"##'
edit "$f" 's#provider, err = dns\.NewDNSChallengeProviderByName\(p\.DNSChallenge\.Provider\)#provider, err = nil, fmt.Errorf("DNS challenge provider %q: this build of Traefik has no DNS-01 providers", p.DNSChallenge.Provider)#'
f=pkg/middlewares/auth/basic_auth.go
edit "$f" 's#\n\t"context"\n#\n\t"context"\n\t"encoding/base64"\n#'
edit "$f" 's#checkSecret:       goauth\.CheckSecret,#checkSecret:       checkSecret,#'
cat >>"$f" <<'GO'

// checkSecret reports whether password matches the htpasswd secret, by go-http-auth's check.
func checkSecret(password, secret string) bool {
	a := &goauth.BasicAuth{Secrets: func(string, string) string { return secret }}
	r := &http.Request{Header: http.Header{"Authorization": {"Basic " + base64.StdEncoding.EncodeToString([]byte("u:"+password))}}}
	return a.CheckAuth(r) != ""
}
GO
edit pkg/middlewares/auth/digest_auth.go 's#d\.auth\.RequireAuthStale\(rw, req\)#d.auth.RequireAuth(rw, req)#'
gofmt -l pkg/provider/acme pkg/middlewares/auth | (! grep .)
