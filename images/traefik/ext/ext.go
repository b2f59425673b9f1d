// Package ext is where Traefik's dynamic configuration takes extra fields; the open-source
// build adds none, so both types are empty (they are embedded inline in Traefik's HTTP config
// and router).
package ext

// HTTP extends Traefik's dynamic HTTP configuration: nothing in this build.
type HTTP struct{}

// Router extends Traefik's router: nothing in this build.
type Router struct{}
