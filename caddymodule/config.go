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
// table (core.ConfigFrom): only the options the operator set overwrite a
// default. repl resolves the placeholders of access_key, secret_key and
// hmac_secret; resolved values live only in the returned config, never in
// h, so they are never written back into the JSON config or logged.
func (h *Handler) coreConfig(repl replacer) (core.Config, error) {
	raw, err := json.Marshal(h)
	if err != nil {
		return core.Config{}, err
	}
	c, err := core.ConfigFrom(raw, func(o core.OptionSpec) string { return o.JSON })
	c.Credentials.AccessKey = repl.ReplaceKnown(c.Credentials.AccessKey, "")
	c.Credentials.SecretKey = repl.ReplaceKnown(c.Credentials.SecretKey, "")
	c.JWT.HMACSecret = repl.ReplaceKnown(c.JWT.HMACSecret, "")
	for n := range c.Issuers {
		c.Issuers[n].HMACSecret = repl.ReplaceKnown(c.Issuers[n].HMACSecret, "")
	}
	return c, err
}

// configError is what is wrong with the configuration: a secret whose
// placeholder resolved to nothing, else what core.Config.Validate finds.
func (h *Handler) configError() error {
	if h.cfgErr != nil {
		return h.cfgErr
	}
	if err := h.emptySecret(); err != nil {
		return err
	}
	return h.cfg.Validate()
}

// emptySecret refuses a secret option that was set but is empty once its
// placeholders are resolved ({env.STS_ACCESS_KEY} with the variable unset):
// left alone, an empty access_key would quietly fall back to the AWS SDK's
// default chain, and an empty hmac_secret would turn HS* tokens off. The
// error quotes the option as written (a placeholder, never the secret).
func (h *Handler) emptySecret() error {
	secrets := []struct{ option, raw, resolved string }{
		{"access_key", h.AccessKey, h.cfg.Credentials.AccessKey},
		{"secret_key", h.SecretKey, h.cfg.Credentials.SecretKey},
	}
	if h.JWT != nil {
		secrets = append(secrets, struct{ option, raw, resolved string }{"jwt.hmac_secret", h.JWT.HMACSecret, h.cfg.JWT.HMACSecret})
	}
	for n, j := range h.Issuers {
		if j != nil && n < len(h.cfg.Issuers) {
			secrets = append(secrets, struct{ option, raw, resolved string }{fmt.Sprintf("issuers[%d].hmac_secret", n), j.HMACSecret, h.cfg.Issuers[n].HMACSecret})
		}
	}
	for _, s := range secrets {
		if s.raw == "" || strings.TrimSpace(s.resolved) != "" {
			continue
		}
		reason := "is empty"
		if name, ok := envPlaceholder(s.raw); ok {
			reason = fmt.Sprintf("%s is empty: the environment variable %s is not set or empty", s.raw, name)
		}
		return &core.ConfigError{Option: s.option, Reason: reason}
	}
	return nil
}

// envPlaceholder returns NAME when v is exactly {env.NAME}.
func envPlaceholder(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if strings.HasPrefix(v, "{env.") && strings.HasSuffix(v, "}") && !strings.ContainsAny(v[5:len(v)-1], "{}") {
		return v[5 : len(v)-1], true
	}
	return "", false
}
