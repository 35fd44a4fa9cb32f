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

// camelOptions maps the core's option paths (snake_case, "jwt." for the
// jwt block) onto this plugin's. The bare names of the jwt options are kept
// too: reasons mention them ("give jwks_url or jwks_file").
var camelOptions = map[string]string{
	"prefix":                   "prefix",
	"endpoint_url":             "endpointURL",
	"sts_endpoint":             "stsEndpoint",
	"region":                   "region",
	"mode":                     "mode",
	"role_arn":                 "roleArn",
	"role":                     "roles",
	"roles":                    "roles",
	"duration":                 "duration",
	"session_name_claims":      "sessionNameClaim",
	"session_name_claim":       "sessionNameClaim",
	"access_key":               "accessKey",
	"access_key_file":          "accessKeyFile",
	"secret_key":               "secretKey",
	"secret_key_file":          "secretKeyFile",
	"ca_file":                  "caFile",
	"insecure_skip_verify":     "insecureSkipVerify",
	"policy":                   "policy",
	"policy_file":              "policyFile",
	"timeout":                  "timeout",
	"retries":                  "retries",
	"public_healthz":           "publicHealthz",
	"container_credentials":    "containerCredentials",
	"cache":                    "cache",
	"jwt":                      "jwt",
	"jwt.issuer":               "jwt.issuer",
	"jwt.audience":             "jwt.audience",
	"jwt.jwks_url":             "jwt.jwksURL",
	"jwt.jwks_file":            "jwt.jwksFile",
	"jwt.ca_file":              "jwt.caFile",
	"jwt.insecure_skip_verify": "jwt.insecureSkipVerify",
	"jwt.algorithms":           "jwt.algorithms",
	"jwt.leeway":               "jwt.leeway",
	"jwt.hmac_secret":          "jwt.hmacSecret",
	"jwt.hmac_secret_file":     "jwt.hmacSecretFile",
	"jwt.refresh_cooldown":     "jwt.refreshCooldown",
	"jwt.fetch_timeout":        "jwt.fetchTimeout",
	"jwt.max_token_bytes":      "jwt.maxTokenBytes",
	"jwks_url":                 "jwt.jwksURL",
	"jwks_file":                "jwt.jwksFile",
	"hmac_secret":              "jwt.hmacSecret",
	"hmac_secret_file":         "jwt.hmacSecretFile",
	"refresh_cooldown":         "jwt.refreshCooldown",
	"fetch_timeout":            "jwt.fetchTimeout",
	"max_token_bytes":          "jwt.maxTokenBytes",
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
