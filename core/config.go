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
	// DefaultKeyMaxAge is how long fetched keys are trusted before the next
	// request refetches them (cool-down permitting; old keys are kept when
	// that fetch fails), so that a key removed at the IdP stops being
	// trusted soon after.
	DefaultKeyMaxAge = 10 * time.Minute
	// MinCacheWindow is the least a cached credential is served with:
	// boto3 refreshes credentials with less than 15 minutes left, so a
	// shorter window would make every SDK call fetch them again.
	MinCacheWindow = 15 * time.Minute
	minHMACSecret  = 32
)

// DefaultSTSEndpoint is AWS STS's regional endpoint for region.
func DefaultSTSEndpoint(region string) string {
	return "https://sts." + region + ".amazonaws.com"
}

// DefaultSessionNameClaims are tried in order for the RoleSessionName.
var DefaultSessionNameClaims = []string{"preferred_username", "sub"}

// DefaultAlgorithms is the asymmetric allow-list used when none is configured.
var DefaultAlgorithms = []string{
	"RS256", "RS384", "RS512",
	"PS256", "PS384", "PS512",
	"ES256", "ES384", "ES512",
	"EdDSA",
}

// hmacAlgorithms are allowed only when an HMAC secret is configured.
var hmacAlgorithms = []string{"HS256", "HS384", "HS512"}

// Config is the issuer's whole configuration. Each field is the option
// whose row in ConfigOptions has the field's JSON path as Core: what it
// means, its default and how each host spells it are written there (and
// in the README's table), and Validate checks it. Hosts build a Config with
// ConfigFrom, or start from DefaultConfig so that unset options keep their
// defaults.
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
	// Cache, when positive, turns on the credential cache (cache_credentials.go).
	Cache time.Duration `json:"cache,omitempty"`
	// CacheMaxEntries bounds the credential cache (least recently used out).
	CacheMaxEntries int `json:"cache_max_entries,omitempty"`

	STS         STSConfig         `json:"sts"`
	Credentials CredentialsConfig `json:"credentials"`
	JWT         JWTConfig         `json:"jwt"`
	// Issuers, when set, are the trusted issuers, each a JWTConfig started
	// from DefaultConfig().JWT; JWT is then left unset (see Trusted).
	Issuers []JWTConfig `json:"issuers,omitempty"`
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
	// Endpoint is the STS URL; empty is AWS STS's regional endpoint.
	Endpoint           string        `json:"endpoint,omitempty"`
	Region             string        `json:"region,omitempty"`
	CAFile             string        `json:"ca_file,omitempty"`
	InsecureSkipVerify bool          `json:"insecure_skip_verify,omitempty"`
	Timeout            time.Duration `json:"timeout,omitempty"`
	// Retries of 0 or less means none (DefaultConfig sets 2).
	Retries int `json:"retries,omitempty"`
}

// CredentialsConfig holds the gateway's own keys for assume_role.
type CredentialsConfig struct {
	AccessKey     string `json:"access_key,omitempty"`
	SecretKey     string `json:"secret_key,omitempty"`
	AccessKeyFile string `json:"access_key_file,omitempty"`
	SecretKeyFile string `json:"secret_key_file,omitempty"`
}

// JWTConfig says how the bearer tokens of one issuer are validated
// (newTokenVerifier) and, in its identity fields, how they map to STS calls:
// those left zero are the top-level Config's (see Config.Trusted).
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

// trustedIssuer is one issuer a gateway trusts, as Config.Trusted resolves
// it: its JWTConfig with every identity field filled (its own or the
// top-level Config's), and the prefix its options are named with in errors
// ("jwt." or "issuers[N].").
type trustedIssuer struct {
	JWT    JWTConfig
	Prefix string
	// own reports which identity options the issuer's block set itself.
	own map[string]bool
}

// Trusted is the issuers cfg trusts: JWT alone, or each of Issuers, with
// the identity options each leaves unset taken from the top level.
func (c Config) trusted() []trustedIssuer {
	blocks := []JWTConfig{c.JWT}
	if len(c.Issuers) > 0 {
		blocks = c.Issuers
	}
	out := make([]trustedIssuer, len(blocks))
	for i, j := range blocks {
		prefix := "jwt."
		if len(c.Issuers) > 0 {
			prefix = fmt.Sprintf("issuers[%d].", i)
		}
		// Plain statements, one map write each: yaegi (Traefik) mishandles
		// tuple assignments into maps and func values.
		own := map[string]bool{}
		if j.RoleARN != "" || len(j.Roles) > 0 {
			// A role_arn or role rules of the issuer replace both of the
			// top level's: a rule of another issuer never applies.
			own["role_arn"] = j.RoleARN != ""
			own["role"] = len(j.Roles) > 0
		} else {
			j.RoleARN = c.RoleARN
			j.Roles = c.Roles
		}
		if len(j.SessionNameClaims) > 0 {
			own["session_name_claim"] = true
		} else {
			j.SessionNameClaims = c.SessionNameClaims
		}
		if j.Policy != "" || j.PolicyFile != "" {
			own["policy"] = j.Policy != ""
			own["policy_file"] = j.PolicyFile != ""
		} else {
			j.Policy = c.Policy
			j.PolicyFile = c.PolicyFile
		}
		if j.Duration != 0 {
			own["duration"] = true
		} else {
			j.Duration = c.Duration
		}
		t := trustedIssuer{JWT: j, Prefix: prefix, own: own}
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

// DefaultConfig returns a Config with every default filled in. Hosts start
// from it and overwrite what the operator set.
func DefaultConfig() Config {
	return Config{
		Prefix:            DefaultPrefix,
		Mode:              ModeAssumeRole,
		Duration:          DefaultDuration,
		SessionNameClaims: append([]string(nil), DefaultSessionNameClaims...),
		CacheMaxEntries:   DefaultCacheMaxEntries,
		STS: STSConfig{
			Region:  DefaultRegion,
			Timeout: DefaultSTSTimeout,
			Retries: DefaultSTSRetries,
		},
		JWT: JWTConfig{
			Leeway:          DefaultLeeway,
			RefreshCooldown: DefaultRefreshCooldown,
			FetchTimeout:    DefaultFetchTimeout,
			MaxTokenBytes:   DefaultMaxTokenBytes,
			KeyMaxAge:       DefaultKeyMaxAge,
		},
	}
}

// normalized fills zero values that have an unambiguous default and cleans the
// prefix. Leeway and Prefix keep their zero value: both are meaningful.
func (c Config) normalized() Config {
	c.Prefix = strings.TrimRight(c.Prefix, "/")
	if c.Mode == "" {
		c.Mode = ModeAssumeRole
	}
	if c.Duration == 0 {
		c.Duration = DefaultDuration
	}
	if len(c.SessionNameClaims) == 0 {
		c.SessionNameClaims = DefaultSessionNameClaims
	}
	if c.STS.Region == "" {
		c.STS.Region = DefaultRegion
	}
	if c.STS.Endpoint == "" {
		c.STS.Endpoint = DefaultSTSEndpoint(c.STS.Region)
	}
	if c.STS.Timeout == 0 {
		c.STS.Timeout = DefaultSTSTimeout
	}
	if c.STS.Retries < 0 {
		c.STS.Retries = 0
	}
	if c.CacheMaxEntries == 0 {
		c.CacheMaxEntries = DefaultCacheMaxEntries
	}
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

// normalized fills the zero values of j that have an unambiguous default.
// Leeway keeps its zero value: it is meaningful.
func (j JWTConfig) normalized() JWTConfig {
	if j.RefreshCooldown == 0 {
		j.RefreshCooldown = DefaultRefreshCooldown
	}
	if j.FetchTimeout == 0 {
		j.FetchTimeout = DefaultFetchTimeout
	}
	if j.MaxTokenBytes == 0 {
		j.MaxTokenBytes = DefaultMaxTokenBytes
	}
	if j.KeyMaxAge == 0 {
		j.KeyMaxAge = DefaultKeyMaxAge
	}
	if len(j.Algorithms) == 0 {
		j.Algorithms = append([]string(nil), DefaultAlgorithms...)
		if j.HMACSecret != "" {
			j.Algorithms = append(j.Algorithms, hmacAlgorithms...)
		}
	}
	return j
}

// Validate checks the configuration and names the offending option in its
// error, in the snake_case spelling of the Caddyfile (Traefik's options are
// the same names in camelCase); an option of the N-th of several issuers is
// named issuers[N].<option>.
func (c Config) Validate() error {
	c = c.normalized()
	if c.Prefix != "" && !strings.HasPrefix(c.Prefix, "/") {
		return configError("prefix", "must start with /")
	}
	if c.EndpointURL == "" {
		return configError("endpoint_url", "required: the S3 endpoint handed to clients")
	}
	if err := checkURL(c.EndpointURL); err != nil {
		return configError("endpoint_url", err.Error())
	}
	switch c.Mode {
	case ModeAssumeRole:
		if err := c.Credentials.validate(); err != nil {
			return err
		}
	case ModeWebIdentity:
		if c.Credentials != (CredentialsConfig{}) {
			return configError("access_key", "not used when mode is web_identity: the caller's token is forwarded")
		}
	default:
		return configError("mode", fmt.Sprintf("must be %s or %s, not %q", ModeAssumeRole, ModeWebIdentity, c.Mode))
	}
	if c.Cache < 0 {
		return configError("cache", fmt.Sprintf("must not be negative, not %s", c.Cache))
	}
	if c.Cache > 0 && c.Cache < MinCacheWindow {
		return configError("cache", fmt.Sprintf("must be at least %s, not %s: SDKs such as boto3 refresh credentials with less than 15 minutes left, so shorter-lived ones would be fetched again on every call", "15m", c.Cache))
	}
	if c.CacheMaxEntries < 0 {
		return configError("cache_max_entries", fmt.Sprintf("must not be negative, not %d", c.CacheMaxEntries))
	}
	if err := checkURL(c.STS.Endpoint); err != nil {
		return configError("sts_endpoint", err.Error())
	}
	if c.STS.Timeout < 0 {
		return configError("timeout", fmt.Sprintf("must not be negative, not %s", c.STS.Timeout))
	}
	if len(c.Issuers) > 0 && c.JWT.hasKeySource() {
		return configError("issuers", "give jwt (one issuer) or issuers (several), not both")
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
	if j.Duration < MinDuration || j.Duration > MaxDuration {
		return configError(t.option("duration"), fmt.Sprintf("must be between %s and %s, not %s", MinDuration, MaxDuration, j.Duration))
	}
	if c.Cache > 0 && c.Cache >= j.Duration {
		return configError("cache", fmt.Sprintf("must be shorter than duration (%s)", j.Duration))
	}
	if j.Policy != "" && j.PolicyFile != "" {
		return configError(t.option("policy"), "give policy or policy_file, not both")
	}
	if j.Policy != "" {
		if _, err := parsePolicyTemplate(j.Policy); err != nil {
			return configError(t.option("policy"), err.Error())
		}
	}
	return j.validate(t.Prefix)
}

func (c CredentialsConfig) validate() error {
	if c.AccessKey != "" && c.AccessKeyFile != "" {
		return configError("access_key", "give access_key or access_key_file, not both")
	}
	if c.SecretKey != "" && c.SecretKeyFile != "" {
		return configError("secret_key", "give secret_key or secret_key_file, not both")
	}
	hasAccess := c.AccessKey != "" || c.AccessKeyFile != ""
	hasSecret := c.SecretKey != "" || c.SecretKeyFile != ""
	if hasAccess && !hasSecret {
		return configError("secret_key", "required with access_key (or use secret_key_file)")
	}
	if hasSecret && !hasAccess {
		return configError("access_key", "required with secret_key (or use access_key_file)")
	}
	return nil
}

// HasKeys reports whether the gateway's own keys are configured. A host with
// a credential chain of its own (the AWS SDK's) uses it when they are not.
func (c CredentialsConfig) HasKeys() bool {
	return c.AccessKey != "" || c.AccessKeyFile != ""
}

// hasKeySource reports whether j names a way to get keys.
func (j JWTConfig) hasKeySource() bool {
	return j.Issuer != "" || j.JWKSURL != "" || j.JWKSFile != "" || j.HMACSecret != ""
}

// validate checks j's token options, naming them with prefix ("jwt." or
// "issuers[N].").
func (j JWTConfig) validate(prefix string) error {
	if !j.hasKeySource() {
		return configError(strings.TrimSuffix(prefix, "."), "needs issuer (OIDC discovery), jwks_url, jwks_file or an HMAC secret")
	}
	if j.JWKSURL != "" && j.JWKSFile != "" {
		return configError(prefix+"jwks_url", "give jwks_url or jwks_file, not both")
	}
	if j.JWKSURL != "" {
		if err := checkURL(j.JWKSURL); err != nil {
			return configError(prefix+"jwks_url", err.Error())
		}
	}
	if j.HMACSecret != "" && len(j.HMACSecret) < minHMACSecret {
		return configError(prefix+"hmac_secret", fmt.Sprintf("must be at least %d bytes (RFC 7518: a key as long as the hash)", minHMACSecret))
	}
	if j.Issuer != "" && j.JWKSURL == "" && j.JWKSFile == "" && wantsAsymmetric(j.Algorithms) {
		if err := checkURL(j.Issuer); err != nil {
			return configError(prefix+"issuer", "used for OIDC discovery: "+err.Error())
		}
	}
	for _, alg := range j.Algorithms {
		switch {
		case strings.EqualFold(alg, "none"):
			return configError(prefix+"algorithms", `"none" is never accepted`)
		case isHMACAlg(alg):
			if j.HMACSecret == "" {
				return configError(prefix+"algorithms", alg+" needs an HMAC secret")
			}
		case !isKnownAlgorithm(alg):
			return configError(prefix+"algorithms", fmt.Sprintf("unknown algorithm %q", alg))
		}
	}
	if j.Leeway < 0 {
		return configError(prefix+"leeway", fmt.Sprintf("must not be negative, not %s", j.Leeway))
	}
	if j.Leeway > 5*time.Minute {
		return configError(prefix+"leeway", fmt.Sprintf("must be at most 5m, not %s", j.Leeway))
	}
	if j.RefreshCooldown < 0 {
		return configError(prefix+"refresh_cooldown", fmt.Sprintf("must not be negative, not %s", j.RefreshCooldown))
	}
	if j.FetchTimeout < 0 {
		return configError(prefix+"fetch_timeout", fmt.Sprintf("must not be negative, not %s", j.FetchTimeout))
	}
	if j.KeyMaxAge < 0 {
		return configError(prefix+"key_max_age", fmt.Sprintf("must not be negative, not %s", j.KeyMaxAge))
	}
	if j.MaxTokenBytes < 0 {
		return configError(prefix+"max_token_bytes", fmt.Sprintf("must not be negative, not %d", j.MaxTokenBytes))
	}
	return nil
}

func isKnownAlgorithm(alg string) bool {
	for _, a := range DefaultAlgorithms {
		if a == alg {
			return true
		}
	}
	return isHMACAlg(alg)
}

// ConfigError names the option that is wrong.
type ConfigError struct {
	Option string
	Reason string
}

func (e *ConfigError) Error() string { return e.Option + ": " + e.Reason }

func configError(option, reason string) error {
	return &ConfigError{Option: option, Reason: reason}
}
