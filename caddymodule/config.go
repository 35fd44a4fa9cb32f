package caddymodule

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/stsgate/stsgate/core"
)

// replacer resolves placeholders in secrets; *caddy.Replacer is one.
type replacer interface {
	ReplaceKnown(input, empty string) string
}

// standIn is what the Caddyfile adapter checks a secret holding a
// placeholder as: placeholders are resolved only when the config loads, so
// the check at adapt time must not judge the placeholder's own text (its
// length, say); Validate checks the resolved value.
const standIn = "placeholder-resolved-when-the-config-loads-0123456789abcdef"

// unresolved stands in for the values of secrets that hold placeholders.
type unresolved struct{}

func (unresolved) ReplaceKnown(input, _ string) string {
	if i := strings.IndexByte(input, '{'); i >= 0 && strings.IndexByte(input[i:], '}') > 0 {
		return standIn
	}
	return input
}

// coreConfig maps the options onto core.DefaultConfig through the option
// table (core.ConfigFrom). repl resolves the placeholders of the secret
// options (the table's Secret rows); resolved values live only in the
// returned config, never in h, so they are never written back into the
// JSON config or logged. A secret that was set but resolves to nothing
// ({env.STS_ACCESS_KEY} with the variable unset) is refused: left alone, an
// empty access_key would quietly fall back to the AWS SDK's default chain,
// and an empty hmac_secret would turn HS* tokens off.
func (h *Handler) coreConfig(repl replacer) (core.Config, error) {
	raw, err := json.Marshal(h)
	if err != nil {
		return core.Config{}, err
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return core.Config{}, err
	}
	prefixes, blocks := []string{""}, []map[string]any{fields}
	if jwt, ok := fields["jwt"].(map[string]any); ok {
		prefixes, blocks = append(prefixes, "jwt."), append(blocks, jwt)
	}
	issuers, _ := fields["issuers"].([]any)
	for n, item := range issuers {
		if block, ok := item.(map[string]any); ok {
			prefixes, blocks = append(prefixes, fmt.Sprintf("issuers[%d].", n)), append(blocks, block)
		}
	}
	for _, o := range core.ConfigOptions {
		for i, block := range blocks {
			prefix := prefixes[i]
			key, inBlock := strings.CutPrefix(o.JSON, "jwt.")
			written, _ := block[key].(string)
			if !o.Secret || written == "" || inBlock == (prefix == "") {
				continue
			}
			block[key] = repl.ReplaceKnown(written, "")
			if strings.TrimSpace(block[key].(string)) == "" {
				reason := "is empty"
				if name, ok := envPlaceholder(written); ok {
					reason = fmt.Sprintf("%s is empty: the environment variable %s is not set or empty", written, name)
				}
				return core.Config{}, &core.ConfigError{Option: prefix + key, Reason: reason}
			}
		}
	}
	if raw, err = json.Marshal(fields); err != nil {
		return core.Config{}, err
	}
	return core.ConfigFrom(raw, core.HostCaddy)
}

// envPlaceholder returns NAME when v is exactly {env.NAME}.
func envPlaceholder(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "{env.") && strings.HasSuffix(v, "}") && !strings.ContainsAny(v[5:len(v)-1], "{}") {
		return v[5 : len(v)-1], true
	}
	return "", false
}
