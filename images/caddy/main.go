// Caddy's command as its release builds make it (xcaddy's generated main): Caddy is then a
// dependency of this module, which is where `caddy version` reads its version from.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// The standard modules, as upstream's binary has them.
	_ "github.com/caddyserver/caddy/v2/modules/standard"
)

func main() {
	caddycmd.Main()
}
