package traefikplugin

import (
	"errors"
	"strings"

	"github.com/stsgate/stsgate/core"
)

// optionError is what New returns for a bad option: "option: reason", with
// the option in the camelCase spelling of the Traefik configuration. It is a
// plain standard-library error so that it crosses from the interpreter into
// Traefik unchanged.
func optionError(option, reason string) error {
	return errors.New(option + ": " + reason)
}

// camelOptions maps option names (core.ConfigOptions' Name) to this
// plugin's option paths, and the bare name of each jwt option and the
// core's field name of each top-level option too, as reasons mention them
// ("give jwks_url or jwks_file").
var camelOptions = camelNames()

func camelNames() map[string]string {
	m := make(map[string]string)
	for _, o := range core.ConfigOptions {
		if o.Traefik == "" {
			continue
		}
		m[o.Name] = o.Traefik
		if o.PerIssuer {
			m["jwt."+o.Name] = "jwt." + o.Traefik
		}
	}
	for _, o := range core.ConfigOptions {
		if bare := strings.TrimPrefix(o.Name, "jwt."); bare != o.Name && o.Traefik != "" {
			if _, taken := m[bare]; !taken {
				m[bare] = o.Traefik
			}
		}
	}
	// The core's own field names (Core), which Validate's reasons use for
	// the top-level options whose Caddyfile spelling differs.
	for _, o := range core.ConfigOptions {
		if _, taken := m[o.Core]; o.Traefik != "" && o.Core != "" && !strings.Contains(o.Core, ".") && !taken {
			m[o.Core] = o.Traefik
		}
	}
	return m
}

// hostError rewrites a *core.ConfigError in this plugin's spelling. Any
// other error is returned as it is.
func hostError(err error) error {
	// A plain type assertion: errors.As cannot see interpreted types under
	// yaegi, and the core returns its ConfigErrors unwrapped.
	ce, ok := err.(*core.ConfigError)
	if !ok {
		return err
	}
	return optionError(camelOption(ce.Option), camelText(ce.Reason))
}

func camelOption(option string) string {
	if name, ok := camelOptions[option]; ok {
		return name
	}
	// An option of the N-th issuer: issuers[N].<jwt or identity option>.
	if strings.HasPrefix(option, "issuers[") {
		if end := strings.Index(option, "]."); end > 0 {
			block, rest := option[:end+2], option[end+2:]
			if name, ok := camelOptions["jwt."+rest]; ok {
				return block + strings.TrimPrefix(name, "jwt.")
			}
		}
	}
	return option
}

// camelText rewrites the snake_case option names a reason mentions ("give
// access_key or access_key_file, not both"), leaving other words, such as
// the mode values assume_role and web_identity, as they are.
func camelText(text string) string {
	var b strings.Builder
	start := -1
	for i := 0; i <= len(text); i++ {
		if i < len(text) && isWordByte(text[i]) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			b.WriteString(camelWord(text[start:i]))
			start = -1
		}
		if i < len(text) {
			b.WriteByte(text[i])
		}
	}
	return b.String()
}

// camelWord is the short camelCase name of a snake_case option name (the
// reason is read next to its option), or w itself.
func camelWord(w string) string {
	if !strings.Contains(w, "_") {
		return w
	}
	name, ok := camelOptions[w]
	if !ok {
		return w
	}
	return name[strings.LastIndex(name, ".")+1:]
}

func isWordByte(c byte) bool {
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
}
