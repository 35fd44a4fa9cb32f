package core

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// OptionSpec is one configuration option as every host spells it. The
// table below is the one list of options: both hosts read their options
// through it (ConfigFrom, and the Caddy module's Caddyfile parser), the
// Traefik plugin's error spelling follows from it, and tests hold the
// README's options table, the Caddy module's JSON fields and their
// documented defaults and the Traefik plugin's fields and CreateConfig
// defaults to it, so none of them can drift. How each value is checked
// lives in Config.Validate.
type OptionSpec struct {
	// Name is the option's path in the Caddyfile spelling, "jwt." inside
	// the jwt block; ConfigError.Option uses it.
	Name string
	// Type is what the value is (OptionText, OptionList, ...); the
	// Caddyfile parser reads the value by it.
	Type string
	// Core is the option's path in Config's JSON encoding ("" for an
	// option a host resolves itself).
	Core string
	// Secret options are never quoted in errors or logs, nor trimmed.
	Secret bool
	// PerIssuer options may also be set inside an issuer's block (jwt, or
	// an element of issuers), for that issuer's tokens only.
	PerIssuer bool
	// Caddyfile is the keyword in a Caddyfile block ("" when the option is
	// not a keyword there: the prefix is the directive's argument).
	Caddyfile string
	// JSON is the Caddy module's JSON field path.
	JSON string
	// Traefik is the Traefik plugin's option path ("" when it has none).
	Traefik string
	// Default is the default as an operator writes it; "" for none.
	Default string
	// Doc is what the option is for, in a sentence.
	Doc string
}

// What an option's value is.
const (
	OptionText     = "text"     // one word
	OptionList     = "list"     // one or more words; repeats add up
	OptionFlag     = "flag"     // a switch: present (Caddyfile) or true
	OptionDuration = "duration" // 90s, 15m, 1h
	OptionInt      = "int"      // a whole number
	OptionRoles    = "roles"    // <claim> <value> <arn> rules, in order
	OptionBlock    = "block"    // the jwt options
	OptionIssuers  = "issuers"  // a list of jwt blocks, one per issuer
)

// ConfigOptions is every option, in the order the README lists them.
var ConfigOptions = []OptionSpec{
	{Name: "prefix", Type: OptionText, Core: "prefix", Caddyfile: "", JSON: "prefix", Traefik: "prefix", Default: DefaultPrefix,
		Doc: "Path prefix of {prefix}/token and {prefix}/healthz; empty serves /token and /healthz."},
	{Name: "endpoint_url", Type: OptionText, Core: "endpoint_url", Caddyfile: "endpoint_url", JSON: "endpoint_url", Traefik: "endpointURL",
		Doc: "S3 endpoint handed to clients as EndpointURL. Required."},
	{Name: "sts_endpoint", Type: OptionText, Core: "sts.endpoint", Caddyfile: "sts_endpoint", JSON: "sts_endpoint", Traefik: "stsEndpoint", Default: "https://sts.{region}.amazonaws.com",
		Doc: "Where STS calls go (Ceph RGW, MinIO, AWS)."},
	{Name: "region", Type: OptionText, Core: "sts.region", Caddyfile: "region", JSON: "region", Traefik: "region", Default: DefaultRegion,
		Doc: "Region the STS call is signed for (RGW ignores it)."},
	{Name: "mode", Type: OptionText, Core: "mode", Caddyfile: "mode", JSON: "mode", Traefik: "mode", Default: ModeAssumeRole,
		Doc: "assume_role (the gateway's own keys) or web_identity (forward the caller's token)."},
	{Name: "role_arn", Type: OptionText, Core: "role_arn", PerIssuer: true, Caddyfile: "role_arn", JSON: "role_arn", Traefik: "roleArn",
		Doc: "Default role; required in assume_role mode unless role rules are given."},
	{Name: "role", Type: OptionRoles, Core: "roles", PerIssuer: true, Caddyfile: "role", JSON: "roles", Traefik: "roles",
		Doc: "Ordered rules: the first whose claim equals or contains the value selects the role."},
	{Name: "duration", Type: OptionDuration, Core: "duration", PerIssuer: true, Caddyfile: "duration", JSON: "duration", Traefik: "duration", Default: "1h",
		Doc: "Requested credential lifetime, 15m to 12h."},
	{Name: "session_name_claim", Type: OptionList, Core: "session_name_claims", PerIssuer: true, Caddyfile: "session_name_claim", JSON: "session_name_claims", Traefik: "sessionNameClaim", Default: "preferred_username sub",
		Doc: "Claims tried in order for the RoleSessionName."},
	{Name: "access_key", Type: OptionText, Core: "credentials.access_key", Secret: true, Caddyfile: "access_key", JSON: "access_key", Traefik: "accessKey",
		Doc: "The gateway's access key for assume_role."},
	{Name: "access_key_file", Type: OptionText, Core: "credentials.access_key_file", Caddyfile: "access_key_file", JSON: "access_key_file", Traefik: "accessKeyFile",
		Doc: "A file holding the access key, read again when it changes."},
	{Name: "secret_key", Type: OptionText, Core: "credentials.secret_key", Secret: true, Caddyfile: "secret_key", JSON: "secret_key", Traefik: "secretKey",
		Doc: "The gateway's secret key. Never logged."},
	{Name: "secret_key_file", Type: OptionText, Core: "credentials.secret_key_file", Caddyfile: "secret_key_file", JSON: "secret_key_file", Traefik: "secretKeyFile",
		Doc: "A file holding the secret key, read again when it changes."},
	{Name: "ca_file", Type: OptionText, Core: "sts.ca_file", Caddyfile: "ca_file", JSON: "ca_file", Traefik: "caFile",
		Doc: "PEM bundle trusted for the STS, with the system roots."},
	{Name: "insecure_skip_verify", Type: OptionFlag, Core: "sts.insecure_skip_verify", Caddyfile: "insecure_skip_verify", JSON: "insecure_skip_verify", Traefik: "insecureSkipVerify", Default: "false",
		Doc: "Turns off TLS verification of the STS. Dangerous."},
	{Name: "policy", Type: OptionText, Core: "policy", PerIssuer: true, Caddyfile: "policy", JSON: "policy", Traefik: "policy",
		Doc: "Session policy JSON with ${claim:NAME} placeholders."},
	{Name: "policy_file", Type: OptionText, Core: "policy_file", PerIssuer: true, Caddyfile: "policy_file", JSON: "policy_file", Traefik: "policyFile",
		Doc: "A file holding the session policy."},
	{Name: "timeout", Type: OptionDuration, Core: "sts.timeout", Caddyfile: "timeout", JSON: "timeout", Traefik: "timeout", Default: "10s",
		Doc: "Bound on one whole STS call, retries included."},
	{Name: "retries", Type: OptionInt, Core: "sts.retries", Caddyfile: "retries", JSON: "retries", Traefik: "retries", Default: "2",
		Doc: "Retries on connection errors and 5xx answers, within timeout."},
	{Name: "public_healthz", Type: OptionFlag, Core: "public_healthz", Caddyfile: "public_healthz", JSON: "public_healthz", Traefik: "publicHealthz", Default: "false",
		Doc: "Serve healthz without a bearer token."},
	{Name: "container_credentials", Type: OptionFlag, Core: "container_credentials", Caddyfile: "container_credentials", JSON: "container_credentials", Traefik: "containerCredentials", Default: "false",
		Doc: "Serve GET {prefix}/credentials for AWS SDKs that refresh by themselves."},
	{Name: "cache", Type: OptionDuration, Core: "cache", Caddyfile: "cache", JSON: "cache", Traefik: "cache", Default: "0",
		Doc: "Share STS answers per identity while they have this much lifetime left (at least 15m); 0 is off."},
	{Name: "cache_max_entries", Type: OptionInt, Core: "cache_max_entries", Caddyfile: "cache_max_entries", JSON: "cache_max_entries", Traefik: "cacheMaxEntries", Default: "4096",
		Doc: "Most identities the cache holds; past it the least recently used goes."},
	{Name: "jwt", Type: OptionBlock, Caddyfile: "jwt", JSON: "jwt", Traefik: "jwt",
		Doc: "How bearer tokens are validated; it may also hold the per-issuer options."},
	{Name: "issuers", Type: OptionIssuers, Caddyfile: "", JSON: "issuers", Traefik: "issuers",
		Doc: "Several trusted issuers, each a jwt block (Caddyfile: repeat jwt); a token is checked by the one its iss names."},
	{Name: "jwt.issuer", Type: OptionText, Core: "jwt.issuer", Caddyfile: "issuer", JSON: "jwt.issuer", Traefik: "jwt.issuer",
		Doc: "Compared with iss; the base of OIDC discovery without jwks_url or jwks_file."},
	{Name: "jwt.audience", Type: OptionList, Core: "jwt.audience", Caddyfile: "audience", JSON: "jwt.audience", Traefik: "jwt.audience",
		Doc: "aud must hold one of these; unset accepts every audience (a warning at start)."},
	{Name: "jwt.jwks_url", Type: OptionText, Core: "jwt.jwks_url", Caddyfile: "jwks_url", JSON: "jwt.jwks_url", Traefik: "jwt.jwksURL",
		Doc: "JWKS URL, fetched on first use and again for an unknown kid."},
	{Name: "jwt.jwks_file", Type: OptionText, Core: "jwt.jwks_file", Caddyfile: "jwks_file", JSON: "jwt.jwks_file", Traefik: "jwt.jwksFile",
		Doc: "A local JWKS or PEM public keys, read again when it changes."},
	{Name: "jwt.ca_file", Type: OptionText, Core: "jwt.ca_file", Caddyfile: "ca_file", JSON: "jwt.ca_file", Traefik: "jwt.caFile",
		Doc: "PEM bundle trusted for the JWKS and discovery URLs."},
	{Name: "jwt.insecure_skip_verify", Type: OptionFlag, Core: "jwt.insecure_skip_verify", Caddyfile: "insecure_skip_verify", JSON: "jwt.insecure_skip_verify", Traefik: "jwt.insecureSkipVerify", Default: "false",
		Doc: "Turns off TLS verification of key URLs. Dangerous."},
	{Name: "jwt.algorithms", Type: OptionList, Core: "jwt.algorithms", Caddyfile: "algorithms", JSON: "jwt.algorithms", Traefik: "jwt.algorithms",
		Default: "RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 ES512 EdDSA",
		Doc:     "Allow-list of signature algorithms; none never, HS* only with an HMAC secret."},
	{Name: "jwt.leeway", Type: OptionDuration, Core: "jwt.leeway", Caddyfile: "leeway", JSON: "jwt.leeway", Traefik: "jwt.leeway", Default: "1m",
		Doc: "Clock skew allowed on exp, nbf and iat, at most 5m."},
	{Name: "jwt.hmac_secret", Type: OptionText, Core: "jwt.hmac_secret", Secret: true, Caddyfile: "hmac_secret", JSON: "jwt.hmac_secret", Traefik: "jwt.hmacSecret",
		Doc: "Shared secret for HS* tokens, at least 32 bytes."},
	{Name: "jwt.hmac_secret_file", Type: OptionText, Caddyfile: "", JSON: "", Traefik: "jwt.hmacSecretFile",
		Doc: "A file holding the HMAC secret (Traefik; Caddy uses a placeholder)."},
	{Name: "jwt.refresh_cooldown", Type: OptionDuration, Core: "jwt.refresh_cooldown", Caddyfile: "refresh_cooldown", JSON: "jwt.refresh_cooldown", Traefik: "jwt.refreshCooldown", Default: "1m",
		Doc: "Least time between two key fetches after one that succeeded."},
	{Name: "jwt.fetch_timeout", Type: OptionDuration, Core: "jwt.fetch_timeout", Caddyfile: "fetch_timeout", JSON: "jwt.fetch_timeout", Traefik: "jwt.fetchTimeout", Default: "10s",
		Doc: "Bound on one JWKS or discovery fetch."},
	{Name: "jwt.max_token_bytes", Type: OptionInt, Core: "jwt.max_token_bytes", Caddyfile: "max_token_bytes", JSON: "jwt.max_token_bytes", Traefik: "jwt.maxTokenBytes", Default: "16384",
		Doc: "Longer bearer tokens are refused."},
	{Name: "jwt.key_max_age", Type: OptionDuration, Core: "jwt.key_max_age", Caddyfile: "key_max_age", JSON: "jwt.key_max_age", Traefik: "jwt.keyMaxAge", Default: "10m",
		Doc: "Fetched keys older than this are fetched again by the next request; a key the IdP removed is refused from then on."},
}

// ConfigFrom builds a Config over DefaultConfig from a host's own config
// struct as encoding/json writes it (raw; the host marshals it, because
// under yaegi only the package that declares a struct sees its field tags
// through encoding/json): path names each option in that encoding (the
// host's spelling, "" for none), which is also how errors name it. An
// option absent, null or empty keeps its default. Text is trimmed (secrets
// are not), lists drop blank members, and a duration is a number of
// nanoseconds or text: a Go duration such as "90s", or whole seconds.
func ConfigFrom(raw []byte, path func(o OptionSpec) string) (Config, error) {
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Config{}, err
	}
	out := map[string]any{}
	jwtPath, issuersPath := "", ""
	for _, o := range ConfigOptions {
		p := path(o)
		switch {
		case o.Name == "jwt":
			jwtPath = p
		case o.Name == "issuers":
			issuersPath = p
		}
		if o.Core == "" || p == "" || strings.HasPrefix(o.Name, "jwt.") {
			continue
		}
		if err := readOption(o, fields, p, out, o.Core, p); err != nil {
			return Config{}, err
		}
	}
	if block, ok := lookupPath(fields, jwtPath).(map[string]any); ok {
		m, err := readBlock(block, path, jwtPath, jwtPath)
		if err != nil {
			return Config{}, err
		}
		out["jwt"] = m
	}
	c := DefaultConfig()
	if err := decodeJSON(out, &c); err != nil {
		return Config{}, err
	}
	list, _ := lookupPath(fields, issuersPath).([]any)
	for n, item := range list {
		name := fmt.Sprintf("%s[%d]", issuersPath, n)
		block, ok := item.(map[string]any)
		if !ok {
			return Config{}, &ConfigError{Option: name, Reason: "must be a block of jwt options"}
		}
		m, err := readBlock(block, path, jwtPath, name)
		if err != nil {
			return Config{}, err
		}
		j := DefaultConfig().JWT
		if err := decodeJSON(m, &j); err != nil {
			return Config{}, err
		}
		c.Issuers = append(c.Issuers, j)
	}
	return c, nil
}

// readBlock reads one issuer's block (jwt, or an element of issuers, named
// name in errors): the jwt options and the per-issuer ones, as a
// JWTConfig's JSON.
func readBlock(block map[string]any, path func(o OptionSpec) string, jwtPath, name string) (map[string]any, error) {
	m := map[string]any{}
	for _, o := range ConfigOptions {
		p, core := path(o), o.Core
		switch {
		case o.Core == "" || p == "":
			continue
		case strings.HasPrefix(o.Name, "jwt."):
			p, core = strings.TrimPrefix(p, jwtPath+"."), strings.TrimPrefix(core, "jwt.")
		case !o.PerIssuer:
			continue
		}
		if err := readOption(o, block, p, m, core, name+"."+p); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// readOption places the option o found at path p of fields at core in out;
// errors name it as name.
func readOption(o OptionSpec, fields map[string]any, p string, out map[string]any, core, name string) error {
	v, err := optionValue(o, lookupPath(fields, p))
	if err != nil {
		return &ConfigError{Option: name, Reason: err.Error()}
	}
	if v != nil {
		placePath(out, core, v)
	}
	return nil
}

func decodeJSON(v any, into any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, into)
}

// optionValue is v, one option's value in a host's encoding, in Config's;
// nil leaves the default.
func optionValue(o OptionSpec, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch o.Type {
	case OptionText:
		s, _ := v.(string)
		if !o.Secret {
			s = strings.TrimSpace(s)
		}
		if s == "" && o.Name != "prefix" {
			return nil, nil
		}
		return s, nil
	case OptionList:
		var list []string
		items, _ := v.([]any)
		for _, item := range items {
			if s, _ := item.(string); strings.TrimSpace(s) != "" {
				list = append(list, strings.TrimSpace(s))
			}
		}
		if len(list) == 0 {
			return nil, nil
		}
		return list, nil
	case OptionDuration:
		if s, ok := v.(string); ok {
			return durationText(s)
		}
	case OptionRoles:
		var rules []RoleRule
		items, _ := v.([]any)
		for _, item := range items {
			var r RoleRule
			m, _ := item.(map[string]any)
			for k, field := range m {
				s, _ := field.(string)
				switch strings.ToLower(strings.ReplaceAll(k, "_", "")) {
				case "claim":
					r.Claim = strings.TrimSpace(s)
				case "value":
					r.Value = s
				case "rolearn":
					r.RoleARN = strings.TrimSpace(s)
				}
			}
			rules = append(rules, r)
		}
		return rules, nil
	}
	return v, nil
}

// durationText reads a duration written as text: empty is unset, a bare
// integer is seconds, anything else a Go duration such as "1h30m".
func durationText(s string) (any, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > math.MaxInt64/int64(time.Second) || n < math.MinInt64/int64(time.Second) {
			return nil, fmt.Errorf("%q seconds is out of range", s)
		}
		return n * int64(time.Second), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return nil, fmt.Errorf("not a duration: %q (write it like \"90s\", \"15m\" or \"1h\")", s)
	}
	return int64(d), nil
}

// lookupPath finds the value at a dotted path of nested JSON objects.
func lookupPath(m map[string]any, path string) any {
	for {
		head, rest, nested := strings.Cut(path, ".")
		if !nested {
			return m[head]
		}
		inner, ok := m[head].(map[string]any)
		if !ok {
			return nil
		}
		m, path = inner, rest
	}
}

// placePath sets v at a dotted path, making the objects on the way.
func placePath(m map[string]any, path string, v any) {
	for {
		head, rest, nested := strings.Cut(path, ".")
		if !nested {
			m[head] = v
			return
		}
		inner, ok := m[head].(map[string]any)
		if !ok {
			inner = map[string]any{}
			m[head] = inner
		}
		m, path = inner, rest
	}
}
