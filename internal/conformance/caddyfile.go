package conformance

import (
	"fmt"
	"strings"

	"github.com/stsgate/stsgate/core"
)

// The Caddyfile spelling of a core.Config, for the tests that load the
// conformance mounts (or any config) into a real Caddy: the Caddy module's
// own tests and e2e's. caddymodule's TestMountDirectiveCoversEveryField and
// TestMountsRoundTrip check that it writes every field and that the
// module reads it back as written.

// CaddyDirective writes cfg as an sts_token directive, every core.Config
// field spelled out in Caddyfile syntax. When secretEnv is not nil the
// secrets (access_key, secret_key, hmac_secret) are written as {env.NAME}
// placeholders instead, named after name, and their values are added to
// secretEnv for the process that loads the Caddyfile.
func CaddyDirective(name string, cfg core.Config, secretEnv map[string]string) string {
	var b strings.Builder
	line := func(format string, args ...any) {
		fmt.Fprintf(&b, "\t\t"+format+"\n", args...)
	}
	secret := func(option, value string) string {
		if secretEnv == nil {
			return caddyQuote(value)
		}
		key := strings.ToUpper("STSGATE_TEST_" + strings.NewReplacer("-", "_", "/", "_").Replace(name) + "_" + option)
		secretEnv[key] = value
		return "{env." + key + "}"
	}
	fmt.Fprintf(&b, "\tsts_token %s {\n", caddyQuote(cfg.Prefix))
	if cfg.EndpointURL != "" {
		line("endpoint_url %s", caddyQuote(cfg.EndpointURL))
	}
	line("sts_endpoint %s", caddyQuote(cfg.STS.Endpoint))
	line("region %s", caddyQuote(cfg.STS.Region))
	line("mode %s", cfg.Mode)
	if cfg.RoleARN != "" {
		line("role_arn %s", caddyQuote(cfg.RoleARN))
	}
	for _, r := range cfg.Roles {
		line("role %s %s %s", caddyQuote(r.Claim), caddyQuote(r.Value), caddyQuote(r.RoleARN))
	}
	line("duration %s", cfg.Duration)
	line("session_name_claim %s", caddyQuoteAll(cfg.SessionNameClaims))
	if c := cfg.Credentials; c.AccessKey != "" {
		line("access_key %s", secret("access_key", c.AccessKey))
	}
	if c := cfg.Credentials; c.AccessKeyFile != "" {
		line("access_key_file %s", caddyQuote(c.AccessKeyFile))
	}
	if c := cfg.Credentials; c.SecretKey != "" {
		line("secret_key %s", secret("secret_key", c.SecretKey))
	}
	if c := cfg.Credentials; c.SecretKeyFile != "" {
		line("secret_key_file %s", caddyQuote(c.SecretKeyFile))
	}
	if cfg.STS.CAFile != "" {
		line("ca_file %s", caddyQuote(cfg.STS.CAFile))
	}
	if cfg.STS.InsecureSkipVerify {
		line("insecure_skip_verify")
	}
	if cfg.Policy != "" {
		line("policy `%s`", cfg.Policy)
	}
	if cfg.PolicyFile != "" {
		line("policy_file %s", caddyQuote(cfg.PolicyFile))
	}
	line("timeout %s", cfg.STS.Timeout)
	line("retries %d", cfg.STS.Retries)
	if cfg.PublicHealthz {
		line("public_healthz")
	}
	if cfg.ContainerCredentials {
		line("container_credentials")
	}
	line("cache %s", cfg.Cache)

	j := cfg.JWT
	line("jwt {")
	if j.Issuer != "" {
		line("\tissuer %s", caddyQuote(j.Issuer))
	}
	if len(j.Audience) > 0 {
		line("\taudience %s", caddyQuoteAll(j.Audience))
	}
	if j.JWKSURL != "" {
		line("\tjwks_url %s", caddyQuote(j.JWKSURL))
	}
	if j.JWKSFile != "" {
		line("\tjwks_file %s", caddyQuote(j.JWKSFile))
	}
	if j.CAFile != "" {
		line("\tca_file %s", caddyQuote(j.CAFile))
	}
	if j.InsecureSkipVerify {
		line("\tinsecure_skip_verify")
	}
	if len(j.Algorithms) > 0 {
		line("\talgorithms %s", caddyQuoteAll(j.Algorithms))
	}
	line("\tleeway %s", j.Leeway)
	if j.HMACSecret != "" {
		line("\thmac_secret %s", secret("hmac_secret", j.HMACSecret))
	}
	line("\trefresh_cooldown %s", j.RefreshCooldown)
	line("\tfetch_timeout %s", j.FetchTimeout)
	line("\tmax_token_bytes %d", j.MaxTokenBytes)
	line("}")
	b.WriteString("\t}\n")
	return b.String()
}

// caddyQuote writes a Caddyfile token: always double-quoted (so that an empty
// value stays a token), with its quotes escaped.
func caddyQuote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

func caddyQuoteAll(values []string) string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = caddyQuote(v)
	}
	return strings.Join(out, " ")
}
