package core

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

const (
	routeToken       = "token"
	routeHealthz     = "healthz"
	routeCredentials = "credentials"
)

// Options are the issuer's collaborators. Every field may be left zero.
type Options struct {
	// STS answers AssumeRole calls. Default: the standard-library client
	// built from Config.STS and Credentials.
	STS STS
	// Keys verify bearer tokens of a configuration with one issuer.
	// Default: newKeySet of the issuer's JWTConfig (each issuer's own when
	// there are several; Keys is then ignored).
	Keys KeySet
	// Credentials are the gateway's own keys. Default:
	// NewCredentialSource(Config.Credentials). Ignored when STS is given.
	Credentials CredentialSource
	// Logger receives the audit lines and the load warnings. Default:
	// discard.
	Logger *slog.Logger
	// Metrics receives counts and timings. Default: discard.
	Metrics Metrics
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// Issuer answers {prefix}/token, {prefix}/healthz and, with
// ContainerCredentials, {prefix}/credentials as docs/api.md pins them down.
// It starts no goroutines, so it needs no Close.
type Issuer struct {
	// cfg is a pointer so that reading one field under yaegi does not copy
	// the whole Config (see doc.go).
	cfg *Config
	// stsTimeout is cfg.STS.Timeout, kept apart for the same reason.
	stsTimeout  time.Duration
	tokenPath   string
	healthzPath string
	// credentialsPath is "" unless ContainerCredentials is on.
	credentialsPath string
	// trust is the one trusted issuer; with several, byIssuer finds each
	// by its iss, and verified caches tokens verified by any of them.
	trust    *trust
	byIssuer map[string]*trust
	verified *verifiedTokens
	// maxTokenBytes is the most any issuer accepts (several issuers).
	maxTokenBytes int
	sts           STS
	// stdSTS is sts when it is the core's own client, called without the
	// STS interface (see doc.go).
	stdSTS *STSClient
	cache  *credentialCache
	log    *slog.Logger
	// metrics is nil when the host gives none: a check is cheaper than a
	// call that does nothing (under yaegi, far cheaper).
	metrics Metrics
	now     func() time.Time
}

// New validates cfg, reads its files and builds an Issuer, and logs what in
// cfg will fail requests until something changes or accepts more than meant.
// It does no network I/O: keys are fetched on first use. Errors and
// warnings name options as cfg's host writes them.
func New(cfg Config, opts Options) (*Issuer, error) {
	i, err := newIssuer(cfg, opts)
	return i, cfg.spelling().spell(err)
}

func newIssuer(cfg Config, opts Options) (*Issuer, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	cfg, warnings, err := loadFiles(cfg.normalized())
	if err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = discardLogger()
	}
	sts, err := buildSTS(cfg, opts)
	if err != nil {
		return nil, err
	}
	i := &Issuer{
		cfg:         &cfg,
		stsTimeout:  cfg.STS.Timeout,
		tokenPath:   cfg.Prefix + "/token",
		healthzPath: cfg.Prefix + "/healthz",
		sts:         sts,
		log:         opts.Logger,
		metrics:     opts.Metrics,
		now:         opts.Now,
	}
	trusted := cfg.trusted()
	for _, t := range trusted {
		keys := opts.Keys
		if keys == nil || len(trusted) > 1 {
			if keys, err = newKeySet(t.JWT, opts.Logger); err != nil {
				return nil, prefixed(err, t.Prefix)
			}
		}
		tr, err := newTrust(t, keys, opts.Now)
		if err != nil {
			return nil, err
		}
		if len(cfg.Issuers) == 0 {
			i.trust = tr
			break
		}
		if i.byIssuer == nil {
			i.byIssuer = make(map[string]*trust, len(trusted))
			i.verified = newVerifiedTokens(opts.Now)
		}
		// Each issuer's own tokens are cached once, in i.verified.
		tr.verifier.verified = nil
		i.byIssuer[t.JWT.Issuer] = tr
		if t.JWT.MaxTokenBytes > i.maxTokenBytes {
			i.maxTokenBytes = t.JWT.MaxTokenBytes
		}
	}
	if cfg.Cache > 0 {
		i.cache = newCredentialCache(cfg.Cache, cfg.CacheMaxEntries, opts.Now)
	}
	if cfg.ContainerCredentials {
		i.credentialsPath = cfg.Prefix + "/" + routeCredentials
	}
	if c, ok := sts.(*STSClient); ok {
		i.stdSTS = c
	}
	for _, w := range warnings {
		i.log.Warn(cfg.spelling().spell(w).Error())
	}
	return i, nil
}

func buildSTS(cfg Config, opts Options) (STS, error) {
	if opts.STS != nil {
		return opts.STS, nil
	}
	creds := opts.Credentials
	if creds == nil {
		var err error
		if creds, err = signingCredentials(cfg); err != nil {
			return nil, err
		}
	}
	return NewSTSClient(cfg, creds)
}

// signingCredentials is the source of the keys that sign cfg's AssumeRole
// calls: nil in web_identity mode, which signs nothing, and a ConfigError
// when assume_role has no keys configured.
func signingCredentials(cfg Config) (CredentialSource, error) {
	if cfg.Mode == ModeWebIdentity {
		return nil, nil
	}
	creds, err := NewCredentialSource(cfg.Credentials)
	if err != nil {
		return nil, err
	}
	if creds == nil {
		return nil, configError("access_key", "required when mode is assume_role (or {access_key_file})")
	}
	return creds, nil
}

// KeySources are the sources the trusted issuers' signing keys are fetched
// from (JWKS URLs, OIDC discovery, JWKS files), for hosts that report their
// fetches; each is shared by every issuer with the same settings. Static
// keys (an HMAC secret alone, or Options.Keys without Stats) are left out.
func (i *Issuer) KeySources() []StatsKeySet {
	var out []StatsKeySet
	add := func(t *trust) {
		switch k := t.keys.(type) {
		case *hmacSplitKeySet:
			out = append(out, k.asym)
		case StatsKeySet:
			out = append(out, k)
		}
	}
	if i.trust != nil {
		add(i.trust)
	}
	for _, t := range i.byIssuer {
		add(t)
	}
	return out
}

// Handles reports whether r is for one of the issuer's routes. Everything
// else belongs to the next handler, untouched.
func (i *Issuer) Handles(r *http.Request) bool {
	return r.URL.Path == i.tokenPath || r.URL.Path == i.healthzPath ||
		(i.credentialsPath != "" && r.URL.Path == i.credentialsPath)
}

// Wrap returns a middleware: the issuer's routes here, the rest to next.
func (i *Issuer) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !serveRoute(i, w, r) {
			next.ServeHTTP(w, r)
		}
	})
}

// ServeHTTP answers a request for one of the issuer's routes; a request for
// any other path gets 404 (use Wrap or Handles to pass those on).
func (i *Issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if !serveRoute(i, w, r) {
		http.NotFound(w, r)
	}
}

// serveRoute answers r when it is for one of the issuer's routes, and says
// whether it did.
func serveRoute(i *Issuer, w http.ResponseWriter, r *http.Request) bool {
	path := r.URL.Path
	if path == i.tokenPath {
		serveToken(i, w, r, routeToken)
		return true
	}
	if path == i.healthzPath {
		serveHealthz(i, w, r)
		return true
	}
	if i.credentialsPath != "" && path == i.credentialsPath {
		serveToken(i, w, r, routeCredentials)
		return true
	}
	return false
}

func serveHealthz(i *Issuer, w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		refuseMethod(i, w, r, routeHealthz, "use GET or HEAD", allowHealthz)
		return
	}
	ev := &auditEvent{route: routeHealthz, client: r.RemoteAddr}
	if !i.cfg.PublicHealthz {
		claims, _, t, authErr := authenticate(i, r.Context(), r, routeHealthz)
		if t != nil {
			ev.issuer = t.name
		}
		if authErr != nil {
			refuse(i, w, r, ev, authErr, "")
			return
		}
		ev.subject, _ = claims.String("sub")
	}
	writeHealth(w, r)
	if i.metrics != nil {
		i.metrics.Request(routeHealthz, "ok", ev.issuer)
	}
	audit(i, r.Context(), ev, "ok", http.StatusOK, "")
}

// serveToken issues credentials: for PUT {prefix}/token as the Token
// document, for GET {prefix}/credentials (route) in the container
// credentials shape. Everything between (authentication, role, session
// name, policy, cache, audit) is the same for both.
func serveToken(i *Issuer, w http.ResponseWriter, r *http.Request, route string) {
	if route == routeToken {
		if r.Method != http.MethodPut {
			refuseMethod(i, w, r, routeToken, "use PUT", allowToken)
			return
		}
	} else if r.Method != http.MethodGet {
		refuseMethod(i, w, r, routeCredentials, "use GET", allowCredentials)
		return
	}
	ev := &auditEvent{route: route, client: r.RemoteAddr}
	ctx := r.Context()
	claims, raw, t, authErr := authenticate(i, ctx, r, route)
	if t != nil {
		ev.issuer = t.name
	}
	if authErr != nil {
		refuse(i, w, r, ev, authErr, "")
		return
	}
	req, err := buildRequest(i, t, claims, raw)
	ev.subject = req.subject
	ev.role = req.roleARN
	ev.sessionName = req.sessionName
	if err != nil {
		refuse(i, w, r, ev, err, "")
		return
	}
	creds, cached, err := issue(i, ctx, req)
	if err != nil {
		refuse(i, w, r, ev, err, "")
		return
	}
	ev.accessKeyID = creds.AccessKeyID
	ev.expiration = formatExpiration(creds.Expiration)
	ev.cached = cached
	if route == routeToken {
		writeToken(w, r, i.cfg.EndpointURL, creds, ev.expiration)
		if i.metrics != nil {
			i.metrics.Request(routeToken, "issued", ev.issuer)
		}
		audit(i, ctx, ev, "issued", http.StatusCreated, "")
		return
	}
	writeContainerCredentials(w, r, creds, ev.expiration)
	if i.metrics != nil {
		i.metrics.Request(routeCredentials, "issued", ev.issuer)
	}
	audit(i, ctx, ev, "issued", http.StatusOK, "")
}

// authenticate verifies the request's token: RFC 6750's Bearer scheme on
// every route, and on the credentials route the raw token too.
// The trust is the issuer the token names when there are several (nil when
// none matched), else the one.
func authenticate(i *Issuer, ctx context.Context, r *http.Request, route string) (Claims, string, *trust, *Error) {
	var raw string
	var e *Error
	if route == routeCredentials {
		raw, e = credentialsToken(r)
	} else {
		raw, e = bearerToken(r)
	}
	if e != nil {
		return nil, "", nil, e
	}
	t := i.trust
	var claims Claims
	var err error
	if i.byIssuer == nil {
		claims, err = verifyToken(t.verifier, ctx, raw)
	} else {
		claims, t, err = verifyAny(i, ctx, raw)
	}
	if err != nil {
		return nil, "", t, classifyKeyError(err)
	}
	return claims, raw, t, nil
}

// refuseMethod answers 405 for a method the route does not take.
func refuseMethod(i *Issuer, w http.ResponseWriter, r *http.Request, route, detail, allow string) {
	refuse(i, w, r, &auditEvent{route: route, client: r.RemoteAddr}, &Error{Kind: KindMethodNotAllowed, Detail: detail}, allow)
}

func refuse(i *Issuer, w http.ResponseWriter, r *http.Request, ev *auditEvent, err error, allow string) {
	e := classify(err)
	writeProblem(w, r, e, allow)
	if i.metrics != nil {
		i.metrics.Request(ev.route, e.Kind.Outcome(), ev.issuer)
	}
	detail := e.Detail
	if e.Err != nil {
		// The cause helps operators; causes never hold secrets (see Error).
		detail = e.Error()
	}
	audit(i, r.Context(), ev, e.Kind.Outcome(), e.Kind.Status(), detail)
}

// stsRequest is what one caller asks of the STS.
type stsRequest struct {
	roleARN     string
	sessionName string
	policy      string
	subject     string
	issuer      string
	token       string
	duration    time.Duration
}

func buildRequest(i *Issuer, t *trust, claims Claims, raw string) (*stsRequest, error) {
	sub, ok := claims["sub"].(string)
	if !ok {
		sub, _ = claims.String("sub")
	}
	iss, ok := claims["iss"].(string)
	if !ok {
		iss, _ = claims.String("iss")
	}
	role := t.roleARN
	if len(t.roles) > 0 {
		role = selectRole(claims, t.roles, role)
	}
	req := &stsRequest{
		roleARN:     role,
		sessionName: sessionName(claims, t.sessionNames),
		subject:     sub,
		issuer:      iss,
		token:       raw,
		duration:    t.duration,
	}
	if req.roleARN == "" || t.policy != nil {
		return finishRequest(i, t, claims, req)
	}
	return req, nil
}

// finishRequest refuses a caller no role admits and renders the session
// policy: buildRequest's less common work, apart so that it stays small.
func finishRequest(i *Issuer, t *trust, claims Claims, req *stsRequest) (*stsRequest, error) {
	if req.roleARN == "" && (i.cfg.Mode == ModeAssumeRole || len(t.roles) > 0) {
		return req, &Error{Kind: KindForbidden, Detail: "no role rule admits this token"}
	}
	if t.policy != nil {
		p, err := t.policy.Render(claims)
		if err != nil {
			return req, err
		}
		req.policy = p
	}
	return req, nil
}

// issue gets credentials for req, through the cache when it is on.
func issue(i *Issuer, ctx context.Context, req *stsRequest) (Credentials, bool, error) {
	if i.cache != nil {
		return i.cache.get(ctx, req.cacheKey(i.cfg.Mode), func(ctx context.Context) (Credentials, error) {
			return callSTS(i, ctx, req)
		})
	}
	c, err := callSTS(i, ctx, req)
	return c, false, err
}

func callSTS(i *Issuer, ctx context.Context, req *stsRequest) (none Credentials, err error) {
	// The core's own client bounds each call by the timeout itself
	// (stsCall); another STS a host gives is bounded here.
	if i.stdSTS == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, i.stsTimeout)
		// Deferred, so that stsFailed classifies before cancel hides
		// the deadline.
		defer cancel()
	}
	var start time.Time
	if i.metrics != nil {
		start = i.now()
	}
	c, err := assume(i, ctx, req)
	if err != nil || c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return none, i.stsFailed(ctx, start, err)
	}
	if i.metrics != nil {
		i.metrics.STSCall(i.now().Sub(start), "ok")
	}
	return c, nil
}

// assume makes the call of the configured mode.
func assume(i *Issuer, ctx context.Context, req *stsRequest) (Credentials, error) {
	if i.cfg.Mode == ModeWebIdentity {
		in := &WebIdentityInput{
			RoleARN: req.roleARN, SessionName: req.sessionName, Policy: req.policy,
			Duration: req.duration, Token: req.token,
		}
		if i.stdSTS != nil {
			return assumeRoleWithWebIdentity(i.stdSTS, ctx, in)
		}
		return i.sts.AssumeRoleWithWebIdentity(ctx, *in)
	}
	in := &AssumeRoleInput{
		RoleARN: req.roleARN, SessionName: req.sessionName, Policy: req.policy,
		Duration: req.duration,
	}
	if i.stdSTS != nil {
		return assumeRole(i.stdSTS, ctx, in)
	}
	return i.sts.AssumeRole(ctx, *in)
}

// stsFailed classifies a failed call, or an answer without keys, and
// counts it.
func (i *Issuer) stsFailed(ctx context.Context, start time.Time, err error) error {
	if err == nil {
		err = badSTSAnswer(nil)
	} else if _, ok := asError(err); !ok && ctx.Err() == context.DeadlineExceeded {
		err = stsTimedOut(i.stsTimeout, err)
	}
	if i.metrics != nil {
		i.metrics.STSCall(i.now().Sub(start), classify(err).Kind.Outcome())
	}
	return err
}
