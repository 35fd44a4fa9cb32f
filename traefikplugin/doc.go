// Package traefikplugin is the Traefik middleware plugin of stsgate: a thin
// adapter that hands Traefik's plugin options (the Caddy options, in
// camelCase: the README's options table) to core.ConfigFrom and serves {prefix}/token, {prefix}/healthz
// and, with containerCredentials, {prefix}/credentials with the core issuer,
// passing every other request on.
//
// Traefik interprets this package with yaegi: it imports only the standard
// library and the core (golang-jwt comes from the repository's vendor/),
// starts no goroutine, and does no network I/O in New.
//
// Static configuration (a local plugin; a catalog plugin names a version):
//
//	experimental:
//	  localPlugins:
//	    stsgate:
//	      moduleName: github.com/stsgate/stsgate
//
// Dynamic configuration:
//
//	http:
//	  middlewares:
//	    sts:
//	      plugin:
//	        stsgate:
//	          endpointURL: http://rgw.example.com:8080
//	          stsEndpoint: http://rgw.example.com:8080
//	          roleArn: arn:aws:iam:::role/ARS
//	          accessKeyFile: /run/secrets/sts-access-key
//	          secretKeyFile: /run/secrets/sts-secret-key
//	          jwt:
//	            issuer: https://idp.example.com/realms/shasta
//	            audience: [sts-gateway]
//
// Each decision is logged as one JSON line on standard output, with the
// middleware's name; tokens and secrets never are.
package traefikplugin
