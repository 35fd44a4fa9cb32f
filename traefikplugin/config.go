// Package traefikplugin is the Traefik middleware plugin of stsgate: a thin
// adapter that turns Traefik's plugin options (the Caddy options, in
// camelCase) into a core.Config and serves {prefix}/token, {prefix}/healthz
// and, with containerCredentials, {prefix}/credentials with the core issuer,
// passing every other request on.
//
// Traefik interprets this package with yaegi: it imports only the standard
// library and the core (golang-jwt comes from the repository's vendor/),
// starts no goroutine, and does no network I/O in New.
//
// Static configuration (a local plugin; a catalog plugin names a version):
//
//	experimental:
//	  localPlugins:
//	    stsgate:
//	      moduleName: github.com/stsgate/stsgate
//
// Dynamic configuration:
//
//	http:
//	  middlewares:
//	    sts:
//	      plugin:
//	        stsgate:
//	          endpointURL: http://rgw.example.com:8080
//	          stsEndpoint: http://rgw.example.com:8080
//	          roleArn: arn:aws:iam:::role/ARS
//	          accessKeyFile: /run/secrets/sts-access-key
//	          secretKeyFile: /run/secrets/sts-secret-key
//	          jwt:
//	            issuer: https://idp.example.com/realms/shasta
//	            audience: [sts-gateway]
//
// Each decision is logged as one JSON line on standard output, with the
// middleware's name; tokens and secrets never are.
package traefikplugin

import (
	"strings"
	"time"

	"github.com/stsgate/stsgate/core"
)

// Config is the middleware's options, decoded by Traefik (mapstructure,
// weakly typed: "true", "2" and comma-separated lists are accepted) over
// CreateConfig's defaults. Durations are strings such as "1h" or "90s"; a
// bare integer is read as seconds. Secrets can be given inline or as a path
// in the matching ...File option.
type Config struct {
	// Prefix is the path prefix of the routes, {prefix}/token,
	// {prefix}/healthz and {prefix}/credentials. Empty serves /token and /healthz, for a router that
	// strips the prefix first. Default: "/apis/sts".
	Prefix string `json:"prefix"`
	// EndpointURL is the S3 endpoint handed to clients in the Token document
	// (often not the address the gateway uses to reach STS). Required.
	EndpointURL string `json:"endpointURL,omitempty"`
	// STSEndpoint is the URL of the STS. Default: AWS STS's regional endpoint,
	// "https://sts.{region}.amazonaws.com".
	STSEndpoint string `json:"stsEndpoint,omitempty"`
	// Region signs the STS request; Ceph RGW ignores it. Default: "us-east-1".
	Region string `json:"region,omitempty"`
	// Mode is "assume_role" (sign AssumeRole with the gateway's own keys)
	// or "web_identity" (forward the caller's JWT in
	// AssumeRoleWithWebIdentity; the gateway holds no secret).
	// Default: "assume_role".
	Mode string `json:"mode,omitempty"`
	// RoleARN is the role assumed when no rule in Roles matches. In
	// assume_role mode, RoleARN or Roles is required. Default: none.
	RoleARN string `json:"roleArn,omitempty"`
	// Roles are tried in order; the first whose claim matches selects the
	// role. Default: none.
	Roles []RoleRule `json:"roles,omitempty"`
	// Duration is the requested credential lifetime, from "15m" to "12h".
	// Default: "1h".
	Duration string `json:"duration,omitempty"`
	// SessionNameClaim lists the claims tried in order for the STS
	// RoleSessionName (sanitised to [\w=,.@-], 2 to 64 characters).
	// Default: ["preferred_username", "sub"].
	SessionNameClaim []string `json:"sessionNameClaim,omitempty"`
	// AccessKey is the gateway's own access key ID, which signs AssumeRole.
	// Give it or AccessKeyFile in assume_role mode. Default: none.
	AccessKey string `json:"accessKey,omitempty"`
	// AccessKeyFile is a file holding AccessKey; it is re-read when it
	// changes (a rotated Kubernetes Secret). Default: none.
	AccessKeyFile string `json:"accessKeyFile,omitempty"`
	// SecretKey is the gateway's own secret access key. Default: none.
	SecretKey string `json:"secretKey,omitempty"`
	// SecretKeyFile is a file holding SecretKey; it is re-read when it
	// changes. Default: none.
	SecretKeyFile string `json:"secretKeyFile,omitempty"`
	// CAFile is a PEM bundle trusted for the STS's TLS certificate, in
	// addition to the system roots. Default: none.
	CAFile string `json:"caFile,omitempty"`
	// InsecureSkipVerify turns off TLS verification of the STS. Dangerous:
	// for test setups only. Default: false.
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
	// Policy is an optional session policy (JSON) that narrows what the
	// credentials may do; ${claim:NAME} placeholders are filled with the
	// caller's claims, JSON-escaped. Default: none.
	Policy string `json:"policy,omitempty"`
	// PolicyFile is a file holding Policy, read when the middleware is
	// built. Give Policy or PolicyFile, not both. Default: none.
	PolicyFile string `json:"policyFile,omitempty"`
	// Timeout bounds a whole STS call, retries included. Default: "10s".
	Timeout string `json:"timeout,omitempty"`
	// Retries is how many times a connection error or a 5xx answer of the
	// STS is retried; a negative value or 0 disables retries. Default: 2.
	Retries int `json:"retries"`
	// PublicHealthz serves {prefix}/healthz without a bearer token.
	// Default: false.
	PublicHealthz bool `json:"publicHealthz,omitempty"`
	// ContainerCredentials serves GET {prefix}/credentials: the same
	// credentials as PUT {prefix}/token in the JSON shape AWS SDKs fetch
	// and refresh from AWS_CONTAINER_CREDENTIALS_FULL_URI. Default: false.
	ContainerCredentials bool `json:"containerCredentials,omitempty"`
	// Cache, when set, shares STS answers per identity: a cached credential
	// is handed out while it has at least this much lifetime left (e.g.
	// "15m"; at least "15m", since SDKs refresh credentials with less left,
	// and shorter than Duration). Default: "" (off: STS is called for every
	// request).
	Cache string `json:"cache,omitempty"`
	// CacheMaxEntries is the most identities the cache holds; past it the
	// least recently used one goes. Default: 4096.
	CacheMaxEntries int `json:"cacheMaxEntries,omitempty"`
	// JWT says how bearer tokens are validated. Its identity options
	// (roleArn, roles, sessionNameClaim, policy, policyFile, duration), when
	// set, replace the top-level ones for its tokens.
	JWT JWTConfig `json:"jwt"`
	// Issuers, instead of JWT, trusts several issuers: each element holds
	// what JWT holds. A token is checked only against the keys of the
	// issuer its iss names, exactly; each issuer's identity options apply
	// to its tokens only. Default: none (JWT is the one issuer).
	Issuers []JWTConfig `json:"issuers,omitempty"`

	// Unknown collects the options no field takes (Traefik's mapstructure
	// puts them here), so that New refuses a misspelt option instead of
	// serving without it.
	Unknown map[string]any `json:"-" mapstructure:",remain"`
}

// RoleRule admits callers whose claim equals, or is a list containing,
// Value.
type RoleRule struct {
	// Claim is a claim name or a dotted path such as realm_access.roles.
	Claim string `json:"claim"`
	// Value is compared with the claim's string value or list members.
	Value string `json:"value"`
	// RoleARN is the role assumed when the rule matches.
	RoleARN string `json:"roleArn"`
	// Unknown collects misspelt keys of a rule (see Config.Unknown).
	Unknown map[string]any `json:"-" mapstructure:",remain"`
}

// JWTConfig says how bearer tokens are validated. One of Issuer (OIDC
// discovery), JWKSURL, JWKSFile, HMACSecret or HMACSecretFile is required.
// Keys are fetched on first use, never when the middleware is built.
type JWTConfig struct {
	// Issuer is compared with the token's iss; when neither JWKSURL nor
	// JWKSFile is set, it is also the base URL of OIDC discovery.
	// Default: none (iss is not checked).
	Issuer string `json:"issuer,omitempty"`
	// Audience, when set, requires the token's aud to hold at least one of
	// these values. Default: none (aud is not checked).
	Audience []string `json:"audience,omitempty"`
	// JWKSURL is fetched for the signing keys, lazily, and again on an
	// unknown kid (at most once per RefreshCooldown). Default: none.
	JWKSURL string `json:"jwksURL,omitempty"`
	// JWKSFile is a local JWKS document or PEM public key(s), re-read when
	// it changes. Give JWKSURL or JWKSFile, not both. Default: none.
	JWKSFile string `json:"jwksFile,omitempty"`
	// CAFile is a PEM bundle trusted for the JWKS and discovery URLs, in
	// addition to the system roots. Default: none.
	CAFile string `json:"caFile,omitempty"`
	// InsecureSkipVerify turns off TLS verification of the key URLs.
	// Dangerous: for test setups only. Default: false.
	InsecureSkipVerify bool `json:"insecureSkipVerify,omitempty"`
	// Algorithms is the allow-list of signing algorithms; "none" is never
	// accepted. Default: RS256/384/512, PS256/384/512, ES256/384/512 and
	// EdDSA, plus HS256/384/512 when an HMAC secret is set.
	Algorithms []string `json:"algorithms,omitempty"`
	// Leeway tolerates clock skew on exp, nbf and iat, at most "5m"; "0s"
	// turns it off. Default: "60s".
	Leeway string `json:"leeway,omitempty"`
	// HMACSecret enables HS* tokens signed with this shared secret.
	// Default: none.
	HMACSecret string `json:"hmacSecret,omitempty"`
	// HMACSecretFile is a file holding HMACSecret (one trailing newline is
	// ignored), read when the middleware is built. Default: none.
	HMACSecretFile string `json:"hmacSecretFile,omitempty"`
	// RefreshCooldown is the least time between two key fetches.
	// Default: "1m".
	RefreshCooldown string `json:"refreshCooldown,omitempty"`
	// FetchTimeout bounds one JWKS or discovery fetch. Default: "10s".
	FetchTimeout string `json:"fetchTimeout,omitempty"`
	// MaxTokenBytes refuses longer bearer tokens. Default: 16384.
	MaxTokenBytes int `json:"maxTokenBytes,omitempty"`
	// KeyMaxAge is how long fetched keys are trusted before the next
	// request fetches them again; a key the IdP removed is refused from
	// then on. Default: "10m".
	KeyMaxAge string `json:"keyMaxAge,omitempty"`

	// RoleARN, Roles, SessionNameClaim, Policy, PolicyFile and Duration
	// are the top-level options of the same names for this issuer's tokens
	// only; unset, the top-level ones apply. A RoleARN or Roles here
	// replaces both top-level ones. Default: none.
	RoleARN          string     `json:"roleArn,omitempty"`
	Roles            []RoleRule `json:"roles,omitempty"`
	SessionNameClaim []string   `json:"sessionNameClaim,omitempty"`
	Policy           string     `json:"policy,omitempty"`
	PolicyFile       string     `json:"policyFile,omitempty"`
	Duration         string     `json:"duration,omitempty"`

	// Unknown collects misspelt jwt options (see Config.Unknown).
	Unknown map[string]any `json:"-" mapstructure:",remain"`
}

// CreateConfig returns the options with every default filled in; Traefik
// decodes the operator's options over it. Every call returns fresh slices,
// so that decoding into one config never changes another.
func CreateConfig() *Config {
	// The core's defaults, written as an operator writes them.
	return &Config{
		Prefix:           core.DefaultPrefix,
		Region:           core.DefaultRegion,
		Mode:             core.ModeAssumeRole,
		Duration:         formatDuration(core.DefaultDuration),
		SessionNameClaim: append([]string(nil), core.DefaultSessionNameClaims...),
		Timeout:          formatDuration(core.DefaultSTSTimeout),
		Retries:          core.DefaultSTSRetries,
		CacheMaxEntries:  core.DefaultCacheMaxEntries,
		JWT: JWTConfig{
			Leeway:          formatDuration(core.DefaultLeeway),
			RefreshCooldown: formatDuration(core.DefaultRefreshCooldown),
			FetchTimeout:    formatDuration(core.DefaultFetchTimeout),
			MaxTokenBytes:   core.DefaultMaxTokenBytes,
			KeyMaxAge:       formatDuration(core.DefaultKeyMaxAge),
		},
	}
}

// formatDuration writes d as an operator would: "1h", "1m", "10s".
func formatDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
