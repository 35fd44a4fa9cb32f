package core

import (
	"fmt"
	"strings"
	"time"
)

// Mode says which STS action the issuer calls.
const (
	// ModeAssumeRole signs AssumeRole with the gateway's own keys (the
	// reference service's behaviour).
	ModeAssumeRole = "assume_role"
	// ModeWebIdentity forwards the caller's JWT in AssumeRoleWithWebIdentity;
	// the gateway holds no secret.
	ModeWebIdentity = "web_identity"
)

// Defaults, in one place so hosts and docs agree.
const (
	DefaultPrefix          = "/apis/sts"
	DefaultRegion          = "us-east-1"
	DefaultDuration        = time.Hour
	MinDuration            = 900 * time.Second
	MaxDuration            = 12 * time.Hour
	DefaultSTSTimeout      = 10 * time.Second
	DefaultSTSRetries      = 2
	DefaultLeeway          = 60 * time.Second
	DefaultRefreshCooldown = time.Minute
	DefaultFetchTimeout    = 10 * time.Second
	DefaultMaxTokenBytes   = 16 << 10
	DefaultCacheMaxEntries = 4096
	// DefaultKeyMaxAge: a key removed at the IdP stops being trusted soon.
	DefaultKeyMaxAge = 10 * time.Minute
	// MinCacheWindow: boto3 refreshes credentials with less than 15 minutes
	// left, so a shorter window would make every SDK call fetch them again.
	MinCacheWindow = 15 * time.Minute
	minHMACSecret  = 32
)

// defaultSTSEndpoint is AWS STS's regional endpoint for region.
func defaultSTSEndpoint(region string) string {
	return "https://sts." + region + ".amazonaws.com"
}

// defaultSessionNameClaims are tried in order for the RoleSessionName.
var defaultSessionNameClaims = []string{"preferred_username", "sub"}

// defaultAlgorithms is the asymmetric allow-list used when none is configured.
var defaultAlgorithms = []string{
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512",
	"EdDSA",
}

// hmacAlgorithms are allowed only when an HMAC secret is configured.
var hmacAlgorithms = []string{"HS256", "HS384", "HS512"}

// Config is the issuer's whole configuration. Each field is the option
// whose ConfigOptions row has its JSON path as Core: the row and the
// README's table say what it means and how each host spells it. Hosts build
// a Config with ConfigFrom.
type Config struct {
	Prefix               string        `json:"prefix"`
	EndpointURL          string        `json:"endpoint_url,omitempty"`
	Mode                 string        `json:"mode,omitempty"`
	RoleARN              string        `json:"role_arn,omitempty"`
	Roles                []RoleRule    `json:"roles,omitempty"`
	Duration             time.Duration `json:"duration,omitempty"`
	SessionNameClaims    []string      `json:"session_name_claims,omitempty"`
	Policy               string        `json:"policy,omitempty"`
	PolicyFile           string        `json:"policy_file,omitempty"`
	PublicHealthz        bool          `json:"public_healthz,omitempty"`
	ContainerCredentials bool          `json:"container_credentials,omitempty"`
	Cache                time.Duration `json:"cache,omitempty"`
	CacheMaxEntries      int           `json:"cache_max_entries,omitempty"`

	STS         STSConfig         `json:"sts"`
	Credentials CredentialsConfig `json:"credentials"`
	JWT         JWTConfig         `json:"jwt"`
	// Issuers, when set, replace JWT (see trusted).
	Issuers []JWTConfig `json:"issuers,omitempty"`

	// traefik: errors spell options as Traefik does (ConfigFrom sets it).
	// Not a Host: see docs/yaegi.md.
	traefik bool
}

// RoleRule admits callers whose claim equals, or is a list containing, Value.
type RoleRule struct {
	// Claim is a claim name or a dotted path such as realm_access.roles.
	Claim string `json:"claim"`
	// Value is compared with the claim's string value or list members.
	Value string `json:"value"`
	// RoleARN is the role assumed when the rule matches.
	RoleARN string `json:"role_arn"`
}

// STSConfig says where and how the STS is called (NewSTSClient).
type STSConfig struct {
	Endpoint           string        `json:"endpoint,omitempty"`
	Region             string        `json:"region,omitempty"`
	CAFile             string        `json:"ca_file,omitempty"`
	InsecureSkipVerify bool          `json:"insecure_skip_verify,omitempty"`
	Timeout            time.Duration `json:"timeout,omitempty"`
	Retries            int           `json:"retries,omitempty"`
}

// CredentialsConfig holds the gateway's own keys for assume_role.
type CredentialsConfig struct {
	AccessKey     string `json:"access_key,omitempty"`
	SecretKey     string `json:"secret_key,omitempty"`
	AccessKeyFile string `json:"access_key_file,omitempty"`
	SecretKeyFile string `json:"secret_key_file,omitempty"`
}

// JWTConfig says how one issuer's tokens are validated and, in its identity
// fields (left zero: the top level's), how they map to STS calls.
type JWTConfig struct {
	Issuer             string        `json:"issuer,omitempty"`
	Audience           []string      `json:"audience,omitempty"`
	JWKSURL            string        `json:"jwks_url,omitempty"`
	JWKSFile           string        `json:"jwks_file,omitempty"`
	CAFile             string        `json:"ca_file,omitempty"`
	InsecureSkipVerify bool          `json:"insecure_skip_verify,omitempty"`
	Algorithms         []string      `json:"algorithms,omitempty"`
	Leeway             time.Duration `json:"leeway"`
	HMACSecret         string        `json:"hmac_secret,omitempty"`
	HMACSecretFile     string        `json:"hmac_secret_file,omitempty"`
	RefreshCooldown    time.Duration `json:"refresh_cooldown,omitempty"`
	FetchTimeout       time.Duration `json:"fetch_timeout,omitempty"`
	MaxTokenBytes      int           `json:"max_token_bytes,omitempty"`
	KeyMaxAge          time.Duration `json:"key_max_age,omitempty"`

	RoleARN           string        `json:"role_arn,omitempty"`
	Roles             []RoleRule    `json:"roles,omitempty"`
	SessionNameClaims []string      `json:"session_name_claims,omitempty"`
	Policy            string        `json:"policy,omitempty"`
	PolicyFile        string        `json:"policy_file,omitempty"`
	Duration          time.Duration `json:"duration,omitempty"`
}

// trustedIssuer is one issuer a gateway trusts: its JWTConfig with every
// identity option filled, the prefix its options are named with ("jwt." or
// "issuers[N].") and the identity options its block set itself.
type trustedIssuer struct {
	JWT    JWTConfig
	Prefix string
	own    map[string]bool
}

// trusted is the issuers c trusts: JWT alone, or each of Issuers. An issuer
// takes from the top level each identity option its block leaves unset; a
// role_arn or role rules of its own replace both of the top level's (a rule
// of another issuer never applies), as do policy and policy_file.
func (c Config) trusted() []trustedIssuer {
	blocks := []JWTConfig{c.JWT}
	if len(c.Issuers) > 0 {
		blocks = c.Issuers
	}
	out := make([]trustedIssuer, len(blocks))
	for i, j := range blocks {
		t := trustedIssuer{Prefix: "jwt.", own: map[string]bool{"role_arn": j.RoleARN != "", "role": len(j.Roles) > 0,
			"session_name_claim": len(j.SessionNameClaims) > 0, "policy": j.Policy != "", "policy_file": j.PolicyFile != "", "duration": j.Duration != 0}}
		if len(c.Issuers) > 0 {
			t.Prefix = fmt.Sprintf("issuers[%d].", i)
		}
		if j.RoleARN == "" && len(j.Roles) == 0 {
			j.RoleARN = c.RoleARN
			j.Roles = c.Roles
		}
		if len(j.SessionNameClaims) == 0 {
			j.SessionNameClaims = c.SessionNameClaims
		}
		if j.Policy == "" && j.PolicyFile == "" {
			j.Policy = c.Policy
			j.PolicyFile = c.PolicyFile
		}
		j.Duration = or(j.Duration, c.Duration)
		t.JWT = j
		out[i] = t
	}
	return out
}

// option is the name errors give an identity option of t: its own when its
// block set it, else the top level's.
func (t trustedIssuer) option(name string) string {
	if t.own[name] {
		return t.Prefix + name
	}
	return name
}

// DefaultConfig returns a Config with normalized's defaults but the STS
// endpoint and the algorithms, which follow other options (region, an HMAC
// secret).
func DefaultConfig() Config {
	c := Config{Prefix: DefaultPrefix, STS: STSConfig{Retries: DefaultSTSRetries}, JWT: JWTConfig{Leeway: DefaultLeeway}}.normalized()
	// Two statements: yaegi cannot assign nil in a tuple assignment.
	c.STS.Endpoint = ""
	c.JWT.Algorithms = nil
	return c
}

// normalized fills the zero values that have a default: the one place
// defaults are written. Prefix, Leeway and Retries keep a zero, which means
// something (DefaultConfig sets them).
func (c Config) normalized() Config {
	c.Prefix = strings.TrimRight(c.Prefix, "/")
	c.Mode = or(c.Mode, ModeAssumeRole)
	c.Duration = or(c.Duration, DefaultDuration)
	if len(c.SessionNameClaims) == 0 {
		// A copy: decoding JSON into a Config reuses its slices' arrays.
		c.SessionNameClaims = append([]string(nil), defaultSessionNameClaims...)
	}
	c.STS.Region = or(c.STS.Region, DefaultRegion)
	c.STS.Endpoint = or(c.STS.Endpoint, defaultSTSEndpoint(c.STS.Region))
	c.STS.Timeout = or(c.STS.Timeout, DefaultSTSTimeout)
	c.STS.Retries = max0(c.STS.Retries)
	c.CacheMaxEntries = or(c.CacheMaxEntries, DefaultCacheMaxEntries)
	c.JWT = c.JWT.normalized()
	if len(c.Issuers) > 0 {
		issuers := make([]JWTConfig, len(c.Issuers))
		for i, j := range c.Issuers {
			issuers[i] = j.normalized()
		}
		c.Issuers = issuers
	}
	return c
}

func (j JWTConfig) normalized() JWTConfig {
	j.RefreshCooldown = or(j.RefreshCooldown, DefaultRefreshCooldown)
	j.FetchTimeout = or(j.FetchTimeout, DefaultFetchTimeout)
	j.MaxTokenBytes = or(j.MaxTokenBytes, DefaultMaxTokenBytes)
	j.KeyMaxAge = or(j.KeyMaxAge, DefaultKeyMaxAge)
	if len(j.Algorithms) == 0 {
		j.Algorithms = append([]string(nil), defaultAlgorithms...)
		if j.HMACSecret != "" || j.HMACSecretFile != "" {
			j.Algorithms = append(j.Algorithms, hmacAlgorithms...)
		}
	}
	return j
}

// or is v, or def when v is zero.
func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}

func max0(n int) int {
	if n < 0 {
		return 0
	}
	return n
}

// Validate checks the configuration, naming the offending option as the
// host writes it (ConfigFrom; else as the Caddyfile does), issuers[N].<option>
// for one of several issuers.
func (c Config) Validate() error {
	return c.spelling().spell(c.validate())
}

// validate is Validate's check, its errors in the Caddyfile's spelling with
// the options a reason mentions in braces ({access_key_file}).
func (c Config) validate() error {
	c = c.normalized()
	cr := c.Credentials
	hasAccess, hasSecret := cr.AccessKey != "" || cr.AccessKeyFile != "", cr.SecretKey != "" || cr.SecretKeyFile != ""
	switch {
	case c.Prefix != "" && !strings.HasPrefix(c.Prefix, "/"):
		return configError("prefix", "must start with /")
	case c.EndpointURL == "":
		return configError("endpoint_url", "required: the S3 endpoint handed to clients")
	case checkURL(c.EndpointURL) != nil:
		return configError("endpoint_url", checkURL(c.EndpointURL).Error())
	case c.Mode != ModeAssumeRole && c.Mode != ModeWebIdentity:
		return configError("mode", fmt.Sprintf("must be %s or %s, not %q", ModeAssumeRole, ModeWebIdentity, c.Mode))
	case c.Mode == ModeWebIdentity && cr != (CredentialsConfig{}):
		return configError("access_key", "not used when mode is web_identity: the caller's token is forwarded")
	case cr.AccessKey != "" && cr.AccessKeyFile != "":
		return configError("access_key", "give {access_key} or {access_key_file}, not both")
	case cr.SecretKey != "" && cr.SecretKeyFile != "":
		return configError("secret_key", "give {secret_key} or {secret_key_file}, not both")
	case hasAccess && !hasSecret:
		return configError("secret_key", "required with {access_key} (or use {secret_key_file})")
	case hasSecret && !hasAccess:
		return configError("access_key", "required with {secret_key} (or use {access_key_file})")
	case c.Cache > 0 && c.Cache < MinCacheWindow:
		return configError("cache", fmt.Sprintf("must be at least 15m, not %s: SDKs such as boto3 refresh credentials with less than 15 minutes left, so shorter-lived ones would be fetched again on every call", c.Cache))
	case checkURL(c.STS.Endpoint) != nil:
		return configError("sts_endpoint", checkURL(c.STS.Endpoint).Error())
	case len(c.Issuers) > 0 && c.JWT.hasKeySource():
		return configError("issuers", "give {jwt} (one issuer) or {issuers} (several), not both")
	}
	if err := negative("", "cache", c.Cache, "cache_max_entries", c.CacheMaxEntries, "timeout", c.STS.Timeout); err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, t := range c.trusted() {
		if err := t.validate(c); err != nil {
			return err
		}
		if len(c.Issuers) > 0 {
			if t.JWT.Issuer == "" {
				return configError(t.Prefix+"issuer", "required for each of several issuers: a token is matched to its issuer by iss")
			}
			if seen[t.JWT.Issuer] {
				return configError(t.Prefix+"issuer", fmt.Sprintf("%s is trusted twice", t.JWT.Issuer))
			}
			seen[t.JWT.Issuer] = true
		}
	}
	return nil
}

// spelling is the Host whose spelling c's errors use.
func (c Config) spelling() Host {
	if c.traefik {
		return HostTraefik
	}
	return HostCaddy
}

// negative refuses the first negative of options, name and value pairs
// (durations or counts), naming it with prefix.
func negative(prefix string, options ...any) error {
	for i := 0; i+1 < len(options); i += 2 {
		if v := fmt.Sprint(options[i+1]); strings.HasPrefix(v, "-") {
			return configError(prefix+options[i].(string), "must not be negative, not "+v)
		}
	}
	return nil
}

// validate checks one trusted issuer: its identity options (named as its
// block or the top level wrote them) and its jwt options.
func (t trustedIssuer) validate(c Config) error {
	j := t.JWT
	if c.Mode == ModeAssumeRole && j.RoleARN == "" && len(j.Roles) == 0 {
		return configError(t.option("role_arn"), "required when mode is assume_role (or give role rules)")
	}
	for i, r := range j.Roles {
		if r.Claim == "" || r.Value == "" || r.RoleARN == "" {
			return configError(t.option("role"), fmt.Sprintf("rule %d needs a claim, a value and a role ARN", i+1))
		}
		if err := checkClaimPath(r.Claim); err != nil {
			return configError(t.option("role"), fmt.Sprintf("rule %d: %v", i+1, err))
		}
	}
	for _, name := range j.SessionNameClaims {
		if err := checkClaimPath(name); err != nil {
			return configError(t.option("session_name_claim"), err.Error())
		}
	}
	switch {
	case j.Duration < MinDuration || j.Duration > MaxDuration:
		return configError(t.option("duration"), fmt.Sprintf("must be between %s and %s, not %s", MinDuration, MaxDuration, j.Duration))
	case c.Cache > 0 && c.Cache >= j.Duration:
		return configError("cache", fmt.Sprintf("must be shorter than {duration} (%s)", j.Duration))
	case j.Policy != "" && j.PolicyFile != "":
		return configError(t.option("policy"), "give {policy} or {policy_file}, not both")
	}
	if _, err := parsePolicyTemplate(j.Policy); j.Policy != "" && err != nil {
		return configError(t.option("policy"), err.Error())
	}
	return j.validate(t.Prefix)
}

// HasKeys reports whether the gateway's own keys are configured. A host with
// a credential chain of its own (the AWS SDK's) uses it when they are not.
func (c CredentialsConfig) HasKeys() bool {
	return c.AccessKey != "" || c.AccessKeyFile != ""
}

// hasKeySource reports whether j names a way to get keys.
func (j JWTConfig) hasKeySource() bool {
	return j.Issuer != "" || j.JWKSURL != "" || j.JWKSFile != "" || j.HMACSecret != "" || j.HMACSecretFile != ""
}

// validate checks j's token options, naming them with prefix ("jwt." or
// "issuers[N].").
func (j JWTConfig) validate(prefix string) error {
	switch {
	case !j.hasKeySource():
		return configError(strings.TrimSuffix(prefix, "."), "needs {issuer} (OIDC discovery), {jwks_url}, {jwks_file} or an HMAC secret")
	case j.JWKSURL != "" && j.JWKSFile != "":
		return configError(prefix+"jwks_url", "give {jwks_url} or {jwks_file}, not both")
	case j.JWKSURL != "" && checkURL(j.JWKSURL) != nil:
		return configError(prefix+"jwks_url", checkURL(j.JWKSURL).Error())
	case j.HMACSecret != "" && j.HMACSecretFile != "":
		return configError(prefix+"hmac_secret", "give {hmac_secret} or {hmac_secret_file}, not both")
	case j.HMACSecret != "" && len(j.HMACSecret) < minHMACSecret:
		return configError(prefix+"hmac_secret", fmt.Sprintf("must be at least %d bytes (RFC 7518: a key as long as the hash)", minHMACSecret))
	case j.Issuer != "" && j.JWKSURL == "" && j.JWKSFile == "" && wantsAsymmetric(j.Algorithms) && checkURL(j.Issuer) != nil:
		return configError(prefix+"issuer", "used for OIDC discovery: "+checkURL(j.Issuer).Error())
	case j.Leeway > 5*time.Minute:
		return configError(prefix+"leeway", fmt.Sprintf("must be at most 5m, not %s", j.Leeway))
	}
	for _, alg := range j.Algorithms {
		switch {
		case strings.EqualFold(alg, "none"):
			return configError(prefix+"algorithms", `"none" is never accepted`)
		case isHMACAlg(alg) && j.HMACSecret == "" && j.HMACSecretFile == "":
			return configError(prefix+"algorithms", alg+" needs an HMAC secret")
		case !isKnownAlgorithm(alg):
			return configError(prefix+"algorithms", fmt.Sprintf("unknown algorithm %q", alg))
		}
	}
	return negative(prefix, "fetch_timeout", j.FetchTimeout, "key_max_age", j.KeyMaxAge, "leeway", j.Leeway,
		"max_token_bytes", j.MaxTokenBytes, "refresh_cooldown", j.RefreshCooldown)
}

func isKnownAlgorithm(alg string) bool {
	for _, a := range defaultAlgorithms {
		if a == alg {
			return true
		}
	}
	return isHMACAlg(alg)
}

// spell writes a ConfigError of the core (a Caddyfile name, braces in its
// reason) as h names options; any other error is returned as it is.
func (h Host) spell(err error) error {
	ce, ok := err.(*ConfigError)
	if !ok {
		return err
	}
	reason, rest := "", ce.Reason
	for {
		open := strings.IndexByte(rest, '{')
		if open < 0 || strings.IndexByte(rest[open:], '}') < 0 {
			break
		}
		end := open + strings.IndexByte(rest[open:], '}')
		name := h.name(rest[open+1 : end])
		reason += rest[:open] + name[strings.LastIndex(name, ".")+1:]
		rest = rest[end+1:]
	}
	return &ConfigError{Option: h.name(ce.Option), Reason: reason + rest}
}

// name is the option named by its Caddyfile path (jwt.jwks_url,
// issuers[1].role_arn, or a bare jwt or per-issuer name inside braces) as h
// writes it.
func (h Host) name(option string) string {
	block, rest := "", option
	if i := strings.Index(option, "]."); strings.HasPrefix(option, "issuers[") && i > 0 {
		block, rest = option[:i+2], option[i+2:]
	} else if r, ok := strings.CutPrefix(option, "jwt."); ok {
		block, rest = "jwt.", r
	}
	if h != HostTraefik {
		return option
	}
	for _, o := range ConfigOptions {
		if o.Name == "jwt."+rest || (o.Name == rest && (block == "" || o.PerIssuer)) {
			return block + strings.TrimPrefix(o.Traefik, "jwt.")
		}
	}
	return option
}
