// Command caddy is Caddy with the standard modules and stsgate's sts_token
// handler: `cd caddymodule && go build -o ../bin/caddy ./cmd/caddy`.
package main

import (
	caddycmd "github.com/caddyserver/caddy/v2/cmd"

	// The standard Caddy modules, as in Caddy's own main.
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	// The http.handlers.sts_token module and its Caddyfile directive.
	_ "github.com/stsgate/stsgate/caddymodule"
)

func main() {
	caddycmd.Main()
}
