// Package psf is PSF's middleware for Traefik, run from source by Traefik's Go interpreter
// (a local plugin): what forward auth through PSF's SSO needs beyond Traefik's own middlewares.
//
// With portalRedirect (placed before Traefik's forwardAuth): the request carries its original
// URL and method as X-Original-URL and X-Original-Method (what the SSO checks access against;
// a client's own values are replaced), and the SSO's 401 becomes a redirect to its Location,
// else to portalRedirect followed by the escaped original URL. Only the SSO's answer is looked
// at: the app's own 401 passes untouched.
//
// With dropCookie (placed after forwardAuth, or alone): the cookie of that name, and its parts
// name_0, name_1..., leave the Cookie header; every other cookie stays as it came.
package psf

import (
	"context"
	"net/http"
	"net/url"
	"strings"
)

// Config is the middleware's options in Traefik's dynamic configuration.
type Config struct {
	PortalRedirect string `json:"portalRedirect,omitempty"`
	DropCookie     string `json:"dropCookie,omitempty"`
}

// CreateConfig gives the options before Traefik sets them.
func CreateConfig() *Config {
	return &Config{}
}

// The guard's state, shared with the handler after forwardAuth through the request's context.
type authState struct {
	passed bool
	// What the guard was given to write to: the app's answer goes there directly, so its
	// streaming and upgrades work as without the guard.
	rw http.ResponseWriter
}

const stateKey = "psf.local/psf.auth"

type middleware struct {
	next           http.Handler
	portalRedirect string
	dropCookie     string
}

// New makes one instance from its options.
func New(_ context.Context, next http.Handler, config *Config, _ string) (http.Handler, error) {
	return &middleware{next: next, portalRedirect: config.PortalRedirect, dropCookie: config.DropCookie}, nil
}

func (m *middleware) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	if m.portalRedirect != "" {
		m.guard(rw, req)
		return
	}
	if m.dropCookie != "" {
		dropCookie(req, m.dropCookie)
	}
	if s, ok := req.Context().Value(stateKey).(*authState); ok {
		s.passed = true
		m.next.ServeHTTP(s.rw, req)
		return
	}
	m.next.ServeHTTP(rw, req)
}

func (m *middleware) guard(rw http.ResponseWriter, req *http.Request) {
	original := "https://" + req.Host + req.URL.RequestURI()
	req.Header.Set("X-Original-Url", original)
	req.Header.Set("X-Original-Method", req.Method)
	s := &authState{rw: rw}
	req = req.WithContext(context.WithValue(req.Context(), stateKey, s))
	m.next.ServeHTTP(&guardWriter{rw: rw, state: s, portal: m.portalRedirect + url.QueryEscape(original)}, req)
}

// guardWriter receives what forwardAuth answers when the SSO refuses.
type guardWriter struct {
	rw         http.ResponseWriter
	state      *authState
	portal     string
	redirected bool
}

func (w *guardWriter) Header() http.Header {
	return w.rw.Header()
}

func (w *guardWriter) WriteHeader(code int) {
	if code != http.StatusUnauthorized || w.state.passed {
		w.rw.WriteHeader(code)
		return
	}
	w.redirected = true
	h := w.rw.Header()
	location := h.Get("Location")
	if location == "" {
		location = w.portal
	}
	// The SSO's body is not sent: nothing of its length or kind stays.
	h.Del("Content-Length")
	h.Del("Content-Type")
	h.Del("WWW-Authenticate")
	h.Set("Location", location)
	w.rw.WriteHeader(http.StatusFound)
}

func (w *guardWriter) Write(b []byte) (int, error) {
	if w.redirected {
		return len(b), nil
	}
	return w.rw.Write(b)
}

func dropCookie(req *http.Request, name string) {
	values := req.Header.Values("Cookie")
	if len(values) == 0 {
		return
	}
	var kept []string
	for _, v := range values {
		for _, c := range strings.Split(v, ";") {
			c = strings.TrimSpace(c)
			if c == "" || isNamed(c, name) {
				continue
			}
			kept = append(kept, c)
		}
	}
	if len(kept) == 0 {
		req.Header.Del("Cookie")
		return
	}
	req.Header.Set("Cookie", strings.Join(kept, "; "))
}

// isNamed: the cookie is name, or a part name_N of it.
func isNamed(cookie, name string) bool {
	n := cookie
	if i := strings.IndexByte(cookie, '='); i >= 0 {
		n = cookie[:i]
	}
	n = strings.TrimSpace(n)
	if n == name {
		return true
	}
	rest := strings.TrimPrefix(n, name+"_")
	if rest == n || rest == "" {
		return false
	}
	for _, r := range rest {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
