//go:build tools

// Package tools pins oauth2-proxy's command in go.mod/go.sum; scripts/build-images.sh builds it.
package tools

import _ "github.com/oauth2-proxy/oauth2-proxy/v7"
