//go:build tools

// Package tools pins Traefik's command in go.mod/go.sum; scripts/build-images.sh builds it.
package tools

import _ "github.com/traefik/traefik/v3/cmd/traefik"
