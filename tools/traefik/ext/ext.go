// Package ext is a local stand-in for Traefik's nested module
// github.com/traefik/traefik/dynamic/ext, which the published
// github.com/traefik/traefik/v3 module zip does not contain (upstream resolves
// it through `replace ... => ./pkg/config/dynamic/ext`, a directory that is not
// shipped). Traefik only embeds ext.HTTP and ext.Router inline (yaml ",inline")
// into its dynamic configuration types, so empty structs are enough.
package ext

// HTTP is embedded inline in dynamic.HTTPConfiguration.
type HTTP struct{}

// Router is embedded inline in dynamic.Router.
type Router struct{}

// RouterIng is the ingress-annotation counterpart of Router.
type RouterIng struct{}

// ToRouter converts the ingress-annotation form to a Router.
func (RouterIng) ToRouter() Router { return Router{} }
