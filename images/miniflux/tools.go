//go:build tools

// Package tools pins the Miniflux command in go.mod/go.sum; scripts/build-images.sh builds it.
package tools

import _ "miniflux.app/v2"
