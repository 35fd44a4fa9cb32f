package traefikplugin

// Config is the middleware's options as Traefik's provider hands them over
// (file, Kubernetes CRD or labels): the core reads them through its option
// table (core.ConfigFrom), so an option is written once, there, and a
// misspelt one is refused by name instead of being ignored. The options,
// their meaning and their defaults are the README's options table.
type Config struct {
	// Options holds every option: Traefik's decoder puts each key no field
	// takes here, which is all of them.
	Options map[string]any `mapstructure:",remain"`
}

// CreateConfig returns the options before Traefik decodes the operator's
// over them: none, so that each default is the core's (core.DefaultConfig).
func CreateConfig() *Config {
	return &Config{}
}
