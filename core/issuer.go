package core

import (
	"context"
	"log/slog"
	"net/http"
	"time"
)

const (
	routeToken   = "token"
	routeHealthz = "healthz"
)

// Options are the issuer's collaborators. Every field may be left zero.
type Options struct {
	// STS answers AssumeRole calls. Default: the standard-library client
	// built from Config.STS and Credentials.
	STS STS
	// Keys verify bearer tokens. Default: NewKeySet(Config.JWT).
	Keys KeySet
	// Credentials are the gateway's own keys. Default:
	// NewCredentialSource(Config.Credentials). Ignored when STS is given.
	Credentials CredentialSource
	// Logger receives the audit lines. Default: discard.
	Logger *slog.Logger
	// Metrics receives counts and timings. Default: discard.
	Metrics Metrics
	// Now is the clock. Default: time.Now.
	Now func() time.Time
}

// Issuer answers {prefix}/token and {prefix}/healthz as CONTRACT.md pins
// them down. It starts no goroutines, so it needs no Close.
type Issuer struct {
	cfg         Config
	tokenPath   string
	healthzPath string
	verifier    *Verifier
	sts         STS
	policy      *policyTemplate
	cache       *credentialCache
	log         *slog.Logger
	metrics     Metrics
	now         func() time.Time
}

// New validates cfg and builds an Issuer. It does no network I/O: keys are
// fetched on first use.
func New(cfg Config, opts Options) (*Issuer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.normalized()
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = discardLogger()
	}
	if opts.Metrics == nil {
		// Converted first: yaegi v0.16.1 (Traefik) panics when a struct
		// literal is assigned straight to an interface-typed field ("value
		// of type interp.valueInterface is not assignable to type struct {}").
		opts.Metrics = Metrics(noMetrics{})
	}
	keys := opts.Keys
	if keys == nil {
		var err error
		if keys, err = NewKeySet(cfg.JWT); err != nil {
			return nil, err
		}
	}
	sts, err := buildSTS(cfg, opts)
	if err != nil {
		return nil, err
	}
	policy, err := loadPolicy(cfg)
	if err != nil {
		return nil, err
	}
	i := &Issuer{
		cfg:         cfg,
		tokenPath:   cfg.Prefix + "/token",
		healthzPath: cfg.Prefix + "/healthz",
		verifier:    NewVerifier(cfg.JWT, keys, opts.Now),
		sts:         sts,
		policy:      policy,
		log:         opts.Logger,
		metrics:     opts.Metrics,
		now:         opts.Now,
	}
	if cfg.Cache > 0 {
		i.cache = newCredentialCache(cfg.Cache, opts.Now)
	}
	return i, nil
}

func buildSTS(cfg Config, opts Options) (STS, error) {
	if opts.STS != nil {
		return opts.STS, nil
	}
	creds := opts.Credentials
	if creds == nil && cfg.Mode == ModeAssumeRole {
		var err error
		if creds, err = NewCredentialSource(cfg.Credentials); err != nil {
			return nil, err
		}
		if creds == nil {
			return nil, configError("access_key", "required when mode is assume_role (or access_key_file)")
		}
	}
	return NewSTSClient(cfg.STS, creds)
}

// Handles reports whether r is for one of the issuer's routes. Everything
// else belongs to the next handler, untouched.
func (i *Issuer) Handles(r *http.Request) bool {
	return r.URL.Path == i.tokenPath || r.URL.Path == i.healthzPath
}

// Wrap returns a middleware: the issuer's routes here, the rest to next.
func (i *Issuer) Wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if i.Handles(r) {
			i.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ServeHTTP answers a request for one of the issuer's routes; a request for
// any other path gets 404 (use Wrap or Handles to pass those on).
func (i *Issuer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case i.tokenPath:
		i.serveToken(w, r)
	case i.healthzPath:
		i.serveHealthz(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (i *Issuer) serveHealthz(w http.ResponseWriter, r *http.Request) {
	ev := auditEvent{route: routeHealthz, client: r.RemoteAddr}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		i.refuse(w, r, ev, &Error{Kind: KindMethodNotAllowed, Detail: "use GET or HEAD"}, allowHealthz)
		return
	}
	if !i.cfg.PublicHealthz {
		claims, _, authErr := i.authenticate(r)
		if authErr != nil {
			i.refuse(w, r, ev, authErr, "")
			return
		}
		ev.subject, _ = claims.String("sub")
	}
	writeHealth(w, r)
	i.metrics.Request(routeHealthz, "ok")
	i.audit(r.Context(), ev, "ok", http.StatusOK, "")
}

func (i *Issuer) serveToken(w http.ResponseWriter, r *http.Request) {
	ev := auditEvent{route: routeToken, client: r.RemoteAddr}
	if r.Method != http.MethodPut {
		i.refuse(w, r, ev, &Error{Kind: KindMethodNotAllowed, Detail: "use PUT"}, allowToken)
		return
	}
	claims, raw, authErr := i.authenticate(r)
	if authErr != nil {
		i.refuse(w, r, ev, authErr, "")
		return
	}
	ev.subject, _ = claims.String("sub")
	req, err := i.request(claims, raw)
	ev.role, ev.sessionName = req.roleARN, req.sessionName
	if err != nil {
		i.refuse(w, r, ev, err, "")
		return
	}
	creds, cached, err := i.issue(r.Context(), req)
	if err != nil {
		i.refuse(w, r, ev, err, "")
		return
	}
	ev.accessKeyID, ev.expiration, ev.cached = creds.AccessKeyID, creds.Expiration, cached
	writeToken(w, r, i.cfg.EndpointURL, creds)
	i.metrics.Request(routeToken, "issued")
	i.audit(r.Context(), ev, "issued", http.StatusCreated, "")
}

func (i *Issuer) authenticate(r *http.Request) (Claims, string, *Error) {
	raw, e := bearerToken(r)
	if e != nil {
		return nil, "", e
	}
	claims, err := i.verifier.Verify(r.Context(), raw)
	if err != nil {
		return nil, "", classifyKeyError(err)
	}
	return claims, raw, nil
}

func (i *Issuer) refuse(w http.ResponseWriter, r *http.Request, ev auditEvent, err error, allow string) {
	e := classify(err)
	writeProblem(w, r, e, allow)
	i.metrics.Request(ev.route, e.Kind.Outcome())
	detail := e.Detail
	if e.Err != nil {
		// The cause helps operators; causes never hold secrets (see Error).
		detail = e.Error()
	}
	i.audit(r.Context(), ev, e.Kind.Outcome(), e.Kind.Status(), detail)
}

// stsRequest is what one caller asks of the STS.
type stsRequest struct {
	roleARN     string
	sessionName string
	policy      string
	subject     string
	issuer      string
	token       string
}

func (i *Issuer) request(claims Claims, raw string) (stsRequest, error) {
	req := stsRequest{
		roleARN:     selectRole(claims, i.cfg.Roles, i.cfg.RoleARN),
		sessionName: sessionName(claims, i.cfg.SessionNameClaims),
		token:       raw,
	}
	req.subject, _ = claims.String("sub")
	req.issuer, _ = claims.String("iss")
	if req.roleARN == "" && (i.cfg.Mode == ModeAssumeRole || len(i.cfg.Roles) > 0) {
		return req, &Error{Kind: KindForbidden, Detail: "no role rule admits this token"}
	}
	if i.policy != nil {
		p, err := i.policy.Render(claims)
		if err != nil {
			return req, err
		}
		req.policy = p
	}
	return req, nil
}

// issue gets credentials for req, through the cache when it is on.
func (i *Issuer) issue(ctx context.Context, req stsRequest) (Credentials, bool, error) {
	if i.cache != nil {
		return i.cache.get(ctx, req.cacheKey(i.cfg.Mode), func(ctx context.Context) (Credentials, error) {
			return i.callSTS(ctx, req)
		})
	}
	c, err := i.callSTS(ctx, req)
	return c, false, err
}

func (i *Issuer) callSTS(ctx context.Context, req stsRequest) (Credentials, error) {
	ctx, cancel := context.WithTimeout(ctx, i.cfg.STS.Timeout)
	defer cancel()
	start := i.now()
	var c Credentials
	var err error
	if i.cfg.Mode == ModeWebIdentity {
		c, err = i.sts.AssumeRoleWithWebIdentity(ctx, WebIdentityInput{
			RoleARN: req.roleARN, SessionName: req.sessionName, Policy: req.policy,
			Duration: i.cfg.Duration, Token: req.token,
		})
	} else {
		c, err = i.sts.AssumeRole(ctx, AssumeRoleInput{
			RoleARN: req.roleARN, SessionName: req.sessionName, Policy: req.policy,
			Duration: i.cfg.Duration,
		})
	}
	if err != nil {
		if _, ok := asError(err); !ok && ctx.Err() == context.DeadlineExceeded {
			err = STSTimeout(i.cfg.STS.Timeout, err)
		}
		i.metrics.STSCall(i.now().Sub(start), classify(err).Kind.Outcome())
		return Credentials{}, err
	}
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		err = STSBadAnswer(nil)
		i.metrics.STSCall(i.now().Sub(start), KindSTSBadAnswer.Outcome())
		return Credentials{}, err
	}
	i.metrics.STSCall(i.now().Sub(start), "ok")
	return c, nil
}
