//go:build tools

// Pebble's command, for `go mod tidy` to pin its dependencies in go.sum.
package tools

import _ "github.com/letsencrypt/pebble/v2/cmd/pebble"
