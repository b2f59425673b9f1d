//go:build tools

// Package tools pins the Authelia command in go.mod/go.sum; scripts/authelia.sh builds it.
package tools

import _ "github.com/authelia/authelia/v4/cmd/authelia"
