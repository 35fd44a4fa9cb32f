// Package caddymodule is the Caddy build of stsgate: the http.handlers.sts_token
// middleware serves HPE Cray's STS Token API ({prefix}/token,
// {prefix}/healthz and, when asked, {prefix}/credentials) with the stsgate
// core.
//
// The module is a thin adapter: it turns its JSON (or Caddyfile) options into
// a core.Config, Caddy's logger into the core's *slog.Logger and Caddy's
// Prometheus registry into core.Metrics. It calls the STS with the core's
// own client, as the Traefik plugin does, and adds what only a compiled
// build can: the gateway's own keys from aws-sdk-go-v2's default credential
// chain when none are configured (sdk_chain.go). Every answer, refusals
// included, is written by the core, so this build answers byte for byte like
// every other stsgate build.
package caddymodule

import (
	"fmt"
	"log/slog"
	"net/http"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/modules/caddyhttp"

	"github.com/stsgate/stsgate/core"
)

func init() {
	caddy.RegisterModule(Handler{})
}

// Handler issues temporary S3 credentials for Keycloak bearer tokens:
// `PUT {prefix}/token` answers 201 with the STS's credentials for the role
// the caller's claims select, `GET {prefix}/healthz` answers
// `{"Status":"ok"}`, and with container_credentials `GET {prefix}/credentials`
// serves AWS SDKs that refresh by themselves. Every other request goes to
// the next handler untouched.
//
// The handler authenticates its own routes with bearer JWTs, so it runs
// before basic_auth in the Caddyfile's directive order: put no other
// authentication in front of it.
type Handler struct {
	// Prefix is the path prefix of the routes, {prefix}/token,
	// {prefix}/healthz and {prefix}/credentials. An empty prefix serves /token and /healthz (for a
	// route that strips its prefix first). Default: /apis/sts.
	Prefix *string `json:"prefix,omitempty"`

	// EndpointURL is the S3 endpoint handed to clients in the Token document
	// (often not the address this gateway uses to reach the STS). Required;
	// Default: none.
	EndpointURL string `json:"endpoint_url,omitempty"`

	// STSEndpoint is the URL STS calls go to, e.g. a Ceph RGW or MinIO
	// address. Default: https://sts.{region}.amazonaws.com (AWS STS's
	// regional endpoint).
	STSEndpoint string `json:"sts_endpoint,omitempty"`

	// Region signs the STS calls (SigV4). Ceph RGW ignores it. Default:
	// us-east-1.
	Region string `json:"region,omitempty"`

	// Mode is the STS action: "assume_role" signs AssumeRole with the
	// gateway's own keys (the reference service's behaviour);
	// "web_identity" forwards the caller's JWT in an unsigned
	// AssumeRoleWithWebIdentity and holds no secret. Default: assume_role.
	Mode string `json:"mode,omitempty"`

	// RoleARN is the role assumed when no rule in Roles matches. In
	// assume_role mode a role_arn or at least one role rule is required; in
	// web_identity mode it may be empty for an STS that maps roles from
	// claims (MinIO). Default: none.
	RoleARN string `json:"role_arn,omitempty"`

	// Roles are tried in order; the first rule whose claim matches selects
	// the role. A caller no rule admits (and with no role_arn) gets 403.
	// Default: none.
	Roles []RoleRule `json:"roles,omitempty"`

	// Duration is the credential lifetime asked of the STS, 15m to 12h.
	// Default: 1h.
	Duration caddy.Duration `json:"duration,omitempty"`

	// SessionNameClaims are the claims tried in order for the
	// RoleSessionName, so that the STS audit trail names the person.
	// Default: preferred_username, sub (the first one set).
	SessionNameClaims []string `json:"session_name_claims,omitempty"`

	// AccessKey is the gateway's own access key ID that signs AssumeRole.
	// Placeholders such as {env.STS_ACCESS_KEY} are resolved when the
	// config loads. With neither AccessKey nor AccessKeyFile, assume_role
	// mode uses the AWS SDK's default credential chain (environment,
	// shared config, web identity, ECS, EC2 instance role). Default: none.
	AccessKey string `json:"access_key,omitempty"`

	// AccessKeyFile is a file holding the access key ID, read again when it
	// changes (a rotated Kubernetes Secret takes effect without a reload).
	// Default: none.
	AccessKeyFile string `json:"access_key_file,omitempty"`

	// SecretKey is the gateway's secret access key. Use a placeholder such
	// as {env.STS_SECRET_KEY} (resolved when the config loads, never logged)
	// or SecretKeyFile rather than the secret itself. Default: none.
	SecretKey string `json:"secret_key,omitempty"`

	// SecretKeyFile is a file holding the secret access key, read again
	// when it changes. Default: none.
	SecretKeyFile string `json:"secret_key_file,omitempty"`

	// CAFile is a PEM bundle trusted for the STS's TLS certificate, in
	// addition to the system roots. Default: none.
	CAFile string `json:"ca_file,omitempty"`

	// InsecureSkipVerify turns off TLS certificate verification of the
	// STS. Dangerous: anyone on the path can then read the gateway's
	// signed calls and the credentials the STS returns. Default: false.
	InsecureSkipVerify bool `json:"insecure_skip_verify,omitempty"`

	// Policy is an optional session policy (a JSON document) that narrows
	// what the issued credentials may do. ${claim:NAME} placeholders are
	// replaced with the caller's claims, JSON-escaped. Default: none.
	Policy string `json:"policy,omitempty"`

	// PolicyFile is a file holding Policy, read when the config loads.
	// Default: none.
	PolicyFile string `json:"policy_file,omitempty"`

	// Timeout bounds a whole STS call, retries included; an STS that does
	// not answer in time gets the caller a 504. Default: 10s.
	Timeout caddy.Duration `json:"timeout,omitempty"`

	// Retries is how many times a connection failure or an STS 5xx answer
	// is retried within Timeout; 0 or a negative number disables retries.
	// Default: 2.
	Retries *int `json:"retries,omitempty"`

	// PublicHealthz serves {prefix}/healthz without a bearer token (for
	// load balancer probes). Default: false (a valid token is required).
	PublicHealthz bool `json:"public_healthz,omitempty"`

	// ContainerCredentials serves GET {prefix}/credentials: the same
	// credentials as PUT {prefix}/token (same authentication, role, session
	// name, policy, cache and audit), in the JSON shape AWS SDKs fetch and
	// refresh by themselves from AWS_CONTAINER_CREDENTIALS_FULL_URI with
	// the bearer token in AWS_CONTAINER_AUTHORIZATION_TOKEN(_FILE).
	// Default: false.
	ContainerCredentials bool `json:"container_credentials,omitempty"`

	// Cache, when positive, shares STS answers per identity: a cached
	// credential is handed out again while it still has at least this much
	// lifetime left. At least 15m (SDKs refresh credentials with less left)
	// and shorter than Duration. Default: 0 (every request calls the STS).
	Cache caddy.Duration `json:"cache,omitempty"`

	// CacheMaxEntries is the most identities the cache holds; past it the
	// least recently used one goes, so memory stays flat however many
	// identities arrive. Default: 4096.
	CacheMaxEntries int `json:"cache_max_entries,omitempty"`

	// JWT says how bearer tokens are validated. Required: at least an
	// issuer (OIDC discovery), a jwks_url, a jwks_file or an hmac_secret.
	JWT *JWTConfig `json:"jwt,omitempty"`

	// Issuers, instead of JWT, trusts several issuers, each a block of the
	// jwt options (in a Caddyfile: the jwt block repeated). A token is
	// checked only against the keys of the issuer its iss names, exactly;
	// each issuer's identity options apply to its tokens only. Default:
	// none (JWT is the one issuer).
	Issuers []*JWTConfig `json:"issuers,omitempty"`

	// at is where each option was written in the Caddyfile (caddyfile.go).
	at     map[string]optionAt
	cfg    core.Config
	cfgErr error // what is wrong with the configuration (Provision)
	issuer *core.Issuer
	sts    *core.STSClient
	// stsKey is sts's key in stsClients; "" when sts is not pooled.
	stsKey string
	logger *slog.Logger
}

// RoleRule admits callers whose claim equals, or is a list containing, Value.
type RoleRule struct {
	// Claim is a claim name or a dotted path such as realm_access.roles.
	Claim string `json:"claim"`
	// Value is compared with the claim's string value or its list members.
	Value string `json:"value"`
	// RoleARN is the role assumed when the rule matches.
	RoleARN string `json:"role_arn"`
}

// JWTConfig says how bearer tokens are validated.
type JWTConfig struct {
	// Issuer is compared with the token's iss claim. With neither JWKSURL
	// nor JWKSFile it is also the base URL of OIDC discovery
	// ({issuer}/.well-known/openid-configuration). Default: none.
	Issuer string `json:"issuer,omitempty"`

	// Audience, when set, requires the token's aud to hold at least one of
	// these values. Default: none (aud is not checked).
	Audience []string `json:"audience,omitempty"`

	// JWKSURL is fetched for the signing keys: lazily on first use, and
	// again when a token names an unknown kid. Default: none.
	JWKSURL string `json:"jwks_url,omitempty"`

	// JWKSFile is a local JWKS document or PEM public key(s), read again
	// when it changes. Default: none.
	JWKSFile string `json:"jwks_file,omitempty"`

	// CAFile is a PEM bundle trusted for the JWKS and discovery URLs, in
	// addition to the system roots. Default: none.
	CAFile string `json:"ca_file,omitempty"`

	// InsecureSkipVerify turns off TLS certificate verification of the
	// JWKS and discovery URLs. Dangerous: whoever can intercept them can
	// mint tokens this gateway accepts. Default: false.
	InsecureSkipVerify bool `json:"insecure_skip_verify,omitempty"`

	// Algorithms is the allow-list of token signature algorithms. "none"
	// is never accepted. Default: RS256, RS384, RS512, PS256, PS384,
	// PS512, ES256, ES384, ES512, EdDSA (plus HS256, HS384, HS512 when
	// HMACSecret is set).
	Algorithms []string `json:"algorithms,omitempty"`

	// Leeway tolerates clock skew on exp, nbf and iat; at most 5m.
	// Default: 1m.
	Leeway *caddy.Duration `json:"leeway,omitempty"`

	// HMACSecret accepts HS* tokens signed with this shared secret. Use a
	// placeholder such as {env.JWT_HMAC_SECRET} (resolved when the config
	// loads, never logged) or HMACSecretFile. Default: none.
	HMACSecret string `json:"hmac_secret,omitempty"`

	// HMACSecretFile is a file holding HMACSecret (one trailing newline is
	// dropped), read when the config loads. Default: none.
	HMACSecretFile string `json:"hmac_secret_file,omitempty"`

	// RefreshCooldown is the least time between two fetches of the keys,
	// so that tokens with made-up kids cannot hammer the IdP. Default: 1m.
	RefreshCooldown caddy.Duration `json:"refresh_cooldown,omitempty"`

	// FetchTimeout bounds one JWKS or discovery fetch. Default: 10s.
	FetchTimeout caddy.Duration `json:"fetch_timeout,omitempty"`

	// MaxTokenBytes refuses longer bearer tokens with 401. Default: 16384.
	MaxTokenBytes int `json:"max_token_bytes,omitempty"`

	// RoleARN, Roles, SessionNameClaims, Policy, PolicyFile and Duration
	// are the top-level options of the same names for this issuer's tokens
	// only; unset, the top-level ones apply. A role_arn or role rules here
	// replace both top-level ones. Default: none.
	RoleARN           string         `json:"role_arn,omitempty"`
	Roles             []RoleRule     `json:"roles,omitempty"`
	SessionNameClaims []string       `json:"session_name_claims,omitempty"`
	Policy            string         `json:"policy,omitempty"`
	PolicyFile        string         `json:"policy_file,omitempty"`
	Duration          caddy.Duration `json:"duration,omitempty"`

	// KeyMaxAge is how long fetched keys are trusted: past it, the next
	// request fetches them again (one fetch for all callers), so a key the
	// IdP removed is refused from then on. A failed fetch keeps the old
	// keys and says so in the log. Default: 10m.
	KeyMaxAge caddy.Duration `json:"key_max_age,omitempty"`
}

// CaddyModule returns the Caddy module information.
func (Handler) CaddyModule() caddy.ModuleInfo {
	return caddy.ModuleInfo{
		ID:  "http.handlers.sts_token",
		New: func() caddy.Module { return new(Handler) },
	}
}

// Provision resolves placeholders, maps the options onto the core's
// defaults and builds the STS client and the issuer. It does no network
// I/O: signing keys and the SDK's default credential chain load on first
// use. An invalid configuration is its error, naming the offending option
// (Validate checks the same, for a config that skipped Provision).
func (h *Handler) Provision(ctx caddy.Context) error {
	h.logger = ctx.Slogger()
	h.cfg, h.cfgErr = h.coreConfig(caddy.NewReplacer())
	if h.cfgErr == nil {
		h.cfgErr = h.cfg.Validate()
	}
	if h.cfgErr != nil {
		return h.cfgErr
	}
	client, err := h.loadSTSClient()
	if err != nil {
		return err
	}
	h.sts = client
	metrics, err := newMetrics(ctx.GetMetricsRegistry())
	if err != nil {
		return fmt.Errorf("registering metrics: %w", err)
	}
	opts := core.Options{STS: client, Logger: h.logger}
	if metrics != nil {
		opts.Metrics = metrics
	}
	issuer, err := core.New(h.cfg, opts)
	if err != nil {
		return err
	}
	h.issuer = issuer
	if metrics != nil {
		for _, src := range issuer.KeySources() {
			metrics.countKeys(src)
		}
	}
	h.logger.Debug("sts_token provisioned", "prefix", h.cfg.Prefix, "mode", h.cfg.Mode)
	return nil
}

// Validate checks the configuration; its error names the offending option
// in its Caddyfile (snake_case) spelling.
func (h *Handler) Validate() error {
	if h.cfgErr != nil {
		return h.cfgErr
	}
	if h.issuer == nil {
		return fmt.Errorf("sts_token is not provisioned")
	}
	return nil
}

// Cleanup releases what Provision started: the STS client's idle
// connections. It is safe after a failed or skipped Provision.
func (h *Handler) Cleanup() error {
	if h.stsKey != "" {
		_, _ = stsClients.Delete(h.stsKey)
		h.stsKey = ""
	} else if h.sts != nil {
		h.sts.Retire()
	}
	return nil
}

// stsClients holds the STS clients of every loaded config by their
// settings (core.STSClientKey): a reload that keeps the settings keeps the
// client, its connections and, without access_key*, its loaded AWS SDK
// chain; when the last handler using a client is cleaned up, its idle
// connections are closed.
var stsClients = caddy.NewUsagePool()

// pooledSTSClient is an STS client in stsClients.
type pooledSTSClient struct{ *core.STSClient }

// Destruct retires the client: its idle connections close now, and those
// of calls still under way when they end.
func (p pooledSTSClient) Destruct() error {
	p.Retire()
	return nil
}

// loadSTSClient takes the STS client for h.cfg from stsClients, building
// it on first use.
func (h *Handler) loadSTSClient() (*core.STSClient, error) {
	key, ok := core.STSClientKey(h.cfg)
	if !ok {
		// ca_file cannot be read: newSTSClient's error names it.
		return newSTSClient(h.cfg)
	}
	v, _, err := stsClients.LoadOrNew(key, func() (caddy.Destructor, error) {
		c, err := newSTSClient(h.cfg)
		if err != nil {
			return nil, err
		}
		return pooledSTSClient{c}, nil
	})
	if err != nil {
		return nil, err
	}
	h.stsKey = key
	return v.(pooledSTSClient).STSClient, nil
}

// newSTSClient builds the core's STS client for cfg (already validated),
// signing AssumeRole with the configured keys or, without any, with the AWS
// SDK's default credential chain.
func newSTSClient(cfg core.Config) (*core.STSClient, error) {
	var creds core.CredentialSource
	switch {
	case cfg.Mode == core.ModeWebIdentity:
		// AssumeRoleWithWebIdentity is unsigned: the caller's token is
		// the credential.
	case cfg.Credentials.HasKeys():
		var err error
		if creds, err = core.NewCredentialSource(cfg.Credentials); err != nil {
			return nil, err
		}
	default:
		creds = newSDKChain(cfg.STS.Region)
	}
	return core.NewSTSClient(cfg, creds)
}

// ServeHTTP answers the issuer's routes and passes every other request
// to next. The core writes every answer itself, refusals included, so that
// problem documents are byte for byte those of every other build.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request, next caddyhttp.Handler) error {
	if h.issuer == nil {
		return caddyhttp.Error(http.StatusInternalServerError, fmt.Errorf("sts_token is not provisioned"))
	}
	if !h.issuer.Handles(r) {
		return next.ServeHTTP(w, r)
	}
	h.issuer.ServeHTTP(w, r)
	return nil
}

// Interface guards
var (
	_ caddy.Provisioner           = (*Handler)(nil)
	_ caddy.Validator             = (*Handler)(nil)
	_ caddy.CleanerUpper          = (*Handler)(nil)
	_ caddyhttp.MiddlewareHandler = (*Handler)(nil)
)
