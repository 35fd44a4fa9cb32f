package caddymodule

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/stsgate/stsgate/core"
)

// replacer resolves placeholders in secrets; *caddy.Replacer is one.
type replacer interface {
	ReplaceKnown(input, empty string) string
}

// coreConfig reads h's options through the core's option table
// (core.ConfigFrom); repl resolves the placeholders of the secret options.
// Resolved values live only in the returned config, never in h, so they
// are never written back into the JSON config or logged. A secret that
// resolves to nothing ({env.STS_ACCESS_KEY} with the variable unset) is
// refused: an empty access_key would quietly fall back to the AWS SDK's
// default chain, and an empty hmac_secret would turn HS* tokens off.
func (h *Handler) coreConfig(repl replacer) (core.Config, error) {
	raw, err := json.Marshal(h)
	if err != nil {
		return core.Config{}, err
	}
	return core.ConfigFrom(raw, core.HostCaddy, func(written string) (string, error) {
		if v := repl.ReplaceKnown(written, ""); strings.TrimSpace(v) != "" {
			return v, nil
		}
		if name, ok := envPlaceholder(written); ok {
			return "", fmt.Errorf("%s is empty: the environment variable %s is not set or empty", written, name)
		}
		return "", errors.New("is empty")
	})
}

// adapting resolves secrets as `caddy adapt` can: {env.*} from the
// environment, so that an unset variable is named at the option's line;
// other placeholders resolve only when the config loads, so a stand-in long
// enough for any check takes their place.
type adapting struct{}

func (adapting) ReplaceKnown(input, _ string) string {
	if name, ok := envPlaceholder(input); ok {
		return os.Getenv(name)
	}
	if i := strings.IndexByte(input, '{'); i >= 0 && strings.IndexByte(input[i:], '}') > 0 {
		return "placeholder-resolved-when-the-config-loads-0123456789abcdef"
	}
	return input
}

// envPlaceholder returns NAME when v is exactly {env.NAME}.
func envPlaceholder(v string) (string, bool) {
	v = strings.TrimSpace(v)
	name, ok := strings.CutPrefix(v, "{env.")
	name, closed := strings.CutSuffix(name, "}")
	return name, ok && closed && !strings.ContainsAny(name, "{}")
}
