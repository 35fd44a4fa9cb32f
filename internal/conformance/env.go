package conformance

import (
	"net"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/fakests"
)

// Values every host configuration uses.
const (
	Audience         = "sts-gateway"
	EndpointURL      = "http://s3.conformance.test:9000"
	GatewayAccessKey = "GATEWAYCONFORMANCEKEY"
	GatewaySecretKey = "gateway/conformance/secret/key"
	STSTimeout       = 3 * time.Second
	// NextStatus and NextBody are what the host's next handler answers.
	NextStatus = http.StatusTeapot
	NextBody   = "next handler"
)

// Mount is one issuer in the host's chain.
type Mount struct {
	Name   string
	Config core.Config
}

// Env is a running IdP and fake STS plus the issuer configurations that use
// them. Hosts mount every configuration, in order, in front of a next
// handler that answers NextStatus with NextBody.
type Env struct {
	IdP *IdP
	// IdP2 is a second issuer (its keys' kids end in -2), trusted beside
	// IdP by the "multi" mount.
	IdP2 *IdP
	STS  *fakests.STS
	dir  string
	// refusedURL is an address where nothing listens.
	refusedURL string
}

// NewEnv starts the IdP and the fake STS. Close stops them.
func NewEnv() (*Env, error) {
	e := &Env{}
	var err error
	if e.IdP, err = NewIdP(); err != nil {
		return nil, err
	}
	if e.IdP2, err = NewIdP(); err != nil {
		e.Close()
		return nil, err
	}
	e.IdP2.RSA.Kid, e.IdP2.EC.Kid, e.IdP2.Ed.Kid = "rsa-2", "ec-2", "ed-2"
	if e.STS, err = fakests.Start(nil); err != nil {
		e.Close()
		return nil, err
	}
	if e.dir, err = os.MkdirTemp("", "stsgate-conformance-"); err != nil {
		e.Close()
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		e.Close()
		return nil, err
	}
	e.refusedURL = "http://" + ln.Addr().String()
	ln.Close()
	return e, nil
}

// Close stops everything NewEnv started.
func (e *Env) Close() {
	if e.IdP != nil {
		e.IdP.Close()
	}
	if e.IdP2 != nil {
		e.IdP2.Close()
	}
	if e.STS != nil {
		e.STS.Close()
	}
	if e.dir != "" {
		os.RemoveAll(e.dir)
	}
}

// Mounts are the issuer configurations a host must serve, in chain order.
func (e *Env) Mounts() []Mount {
	main := e.base("/apis/sts")
	main.Roles = []core.RoleRule{
		{Claim: "scenario", Value: "denied", RoleARN: fakests.RoleDenied},
		{Claim: "scenario", Value: "fail500", RoleARN: fakests.RoleFail500},
		{Claim: "scenario", Value: "garbage", RoleARN: fakests.RoleGarbage},
		{Claim: "scenario", Value: "hang", RoleARN: fakests.RoleHang},
		{Claim: "realm_access.roles", Value: "s3-users", RoleARN: fakests.RoleOK},
		{Claim: "groups", Value: "sts-users", RoleARN: fakests.RoleOK},
	}
	main.ContainerCredentials = true

	nocreds := e.base("/nocreds")
	nocreds.RoleARN = fakests.RoleOK
	nocreds.Credentials = core.CredentialsConfig{
		AccessKeyFile: filepath.Join(e.dir, "missing", "access_key"),
		SecretKeyFile: filepath.Join(e.dir, "missing", "secret_key"),
	}

	refused := e.base("/refused")
	refused.RoleARN = fakests.RoleOK
	refused.STS.Endpoint = e.refusedURL
	refused.STS.Retries = -1

	webid := e.base("/webid")
	webid.Mode = core.ModeWebIdentity
	webid.RoleARN = fakests.RoleOK
	webid.Credentials = core.CredentialsConfig{}
	webid.JWT.JWKSURL = e.IdP.URL + "/jwks"

	root := e.base("")
	root.RoleARN = fakests.RoleOK
	root.PublicHealthz = true
	root.JWT.HMACSecret = string(e.IdP.HMACSecret)

	// Two issuers: people (IdP, admitted by groups) and workloads (IdP2,
	// admitted by team, named by sub, with their own duration).
	multi := e.base("/multi")
	multi.JWT = core.DefaultConfig().JWT
	people, workloads := core.DefaultConfig().JWT, core.DefaultConfig().JWT
	people.Issuer, people.Audience = e.IdP.URL, []string{Audience}
	people.Roles = []core.RoleRule{{Claim: "groups", Value: "sts-users", RoleARN: fakests.RoleOK}}
	workloads.Issuer, workloads.Audience = e.IdP2.URL, []string{Audience}
	workloads.Roles = []core.RoleRule{{Claim: "team", Value: "storage", RoleARN: fakests.RoleOK}}
	workloads.SessionNameClaims = []string{"sub"}
	workloads.Duration = 2 * time.Hour
	multi.Issuers = []core.JWTConfig{people, workloads}

	return []Mount{
		{Name: "main", Config: main},
		{Name: "nocreds", Config: nocreds},
		{Name: "refused", Config: refused},
		{Name: "webid", Config: webid},
		{Name: "root", Config: root},
		{Name: "multi", Config: multi},
	}
}

func (e *Env) base(prefix string) core.Config {
	c := core.DefaultConfig()
	c.Prefix = prefix
	c.EndpointURL = EndpointURL
	c.STS.Endpoint = e.STS.URL
	c.STS.Timeout = STSTimeout
	c.STS.Retries = 1
	c.Credentials = core.CredentialsConfig{AccessKey: GatewayAccessKey, SecretKey: GatewaySecretKey}
	c.JWT.Issuer = e.IdP.URL
	c.JWT.Audience = []string{Audience}
	return c
}

// Handler builds the mounts with the core alone, in front of the next
// handler, with opts for every issuer (a logger, a clock).
func (e *Env) Handler(opts core.Options) (http.Handler, error) {
	return ChainHandler(e.Mounts(), func(cfg core.Config) (func(http.Handler) http.Handler, error) {
		iss, err := core.New(cfg, opts)
		if err != nil {
			return nil, err
		}
		return iss.Wrap, nil
	})
}

// ChainHandler wraps NextHandler in the mounts, first mount outermost.
func ChainHandler(mounts []Mount, build func(core.Config) (func(http.Handler) http.Handler, error)) (http.Handler, error) {
	var h http.Handler = NextHandler()
	for i := len(mounts) - 1; i >= 0; i-- {
		wrap, err := build(mounts[i].Config)
		if err != nil {
			return nil, err
		}
		h = wrap(h)
	}
	return h, nil
}

// NextHandler is the handler behind the issuers.
func NextHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(NextStatus)
		_, _ = w.Write([]byte(NextBody))
	})
}
