package e2e

// The Traefik build's per-request cost: the token path of core/bench_test.go's
// BenchmarkHandler with the core interpreted by yaegi v0.16.1, loaded from a
// GOPATH tree exactly as Traefik loads the plugin (newPluginInterpreter of
// yaegi_core_test.go). BenchmarkHandlerCompiledTwin runs the same setup
// compiled, so the two read side by side:
//
//	go test -run '^$' -bench 'BenchmarkHandler(Interpreted|CompiledTwin)' ./e2e/
//
// Cases: RS256 and ES256 with an in-process STS stub (no network: parsing,
// signature, claims, role, session name, response, as in core), and
// RS256-stdlib-STS, where the core's own STS client (SigV4, HTTP, XML, what
// Traefik runs) calls a fake STS on loopback.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/conformance"
	"github.com/stsgate/stsgate/internal/fakests"
)

// yaegiBenchHarness is interpreted next to the core: Wrap builds an issuer
// from a JSON-encoded core.Config, with the interpreted stub STS when stub
// is true and the core's standard-library client otherwise.
const yaegiBenchHarness = `package benchharness

import (
	"context"
	"encoding/json"
	"net/http"
	"time"

	"github.com/stsgate/stsgate/core"
)

type stubSTS struct{}

func (stubSTS) AssumeRole(ctx context.Context, in core.AssumeRoleInput) (core.Credentials, error) {
	return stubAnswer(in.Duration), nil
}

func (stubSTS) AssumeRoleWithWebIdentity(ctx context.Context, in core.WebIdentityInput) (core.Credentials, error) {
	return stubAnswer(in.Duration), nil
}

func stubAnswer(d time.Duration) core.Credentials {
	return core.Credentials{
		AccessKeyID:     "ASIABENCHSTUB0000001",
		SecretAccessKey: "bench/stub/secret/access/key/000001",
		SessionToken:    "bench-stub-session-token-000001",
		Expiration:      time.Now().Add(d),
	}
}

func Wrap(next http.Handler, configJSON string, stub bool) (http.Handler, error) {
	cfg := core.DefaultConfig()
	if err := json.Unmarshal([]byte(configJSON), &cfg); err != nil {
		return nil, err
	}
	opts := core.Options{}
	if stub {
		// Converted first: yaegi panics on a struct assigned straight to
		// an interface-typed field (see core.New).
		var sts core.STS = stubSTS{}
		opts.STS = sts
	}
	iss, err := core.New(cfg, opts)
	if err != nil {
		return nil, err
	}
	return iss.Wrap(next), nil
}
`

// benchWrap builds the issuer of a JSON-encoded core.Config in front of next;
// stub selects the in-process STS.
type benchWrap func(next http.Handler, configJSON string, stub bool) (http.Handler, error)

// interpretedBenchWrap loads the core and the harness under yaegi.
func interpretedBenchWrap(b testing.TB) benchWrap {
	b.Helper()
	i, gopath := newPluginInterpreter(b)
	dir := filepath.Join(gopath, "src", filepath.FromSlash(pluginModule), "benchharness")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "harness.go"), []byte(yaegiBenchHarness), 0o644); err != nil {
		b.Fatal(err)
	}
	if _, err := i.Eval(`import "` + pluginModule + `/benchharness"`); err != nil {
		b.Fatalf("yaegi cannot import the core: %v", err)
	}
	v, err := i.Eval("benchharness.Wrap")
	if err != nil {
		b.Fatal(err)
	}
	wrap, ok := v.Interface().(func(http.Handler, string, bool) (http.Handler, error))
	if !ok {
		b.Fatalf("benchharness.Wrap is a %s", v.Type())
	}
	return wrap
}

// compiledBenchWrap is the same harness, compiled.
func compiledBenchWrap(sts core.STS) benchWrap {
	return func(next http.Handler, configJSON string, stub bool) (http.Handler, error) {
		cfg := core.DefaultConfig()
		if err := json.Unmarshal([]byte(configJSON), &cfg); err != nil {
			return nil, err
		}
		opts := core.Options{}
		if stub {
			opts.STS = sts
		}
		iss, err := core.New(cfg, opts)
		if err != nil {
			return nil, err
		}
		return iss.Wrap(next), nil
	}
}

// compiledStubSTS answers like the interpreted stub.
type compiledStubSTS struct{}

func (compiledStubSTS) AssumeRole(_ context.Context, in core.AssumeRoleInput) (core.Credentials, error) {
	return compiledStubAnswer(in.Duration), nil
}

func (compiledStubSTS) AssumeRoleWithWebIdentity(_ context.Context, in core.WebIdentityInput) (core.Credentials, error) {
	return compiledStubAnswer(in.Duration), nil
}

func compiledStubAnswer(d time.Duration) core.Credentials {
	return core.Credentials{
		AccessKeyID:     "ASIABENCHSTUB0000001",
		SecretAccessKey: "bench/stub/secret/access/key/000001",
		SessionToken:    "bench-stub-session-token-000001",
		Expiration:      time.Now().Add(d),
	}
}

// BenchmarkHandlerInterpreted is BenchmarkHandler (core/bench_test.go) as
// Traefik runs it: the core interpreted by yaegi.
func BenchmarkHandlerInterpreted(b *testing.B) {
	benchmarkHandlerCases(b, interpretedBenchWrap(b))
}

// BenchmarkHandlerCompiledTwin is BenchmarkHandlerInterpreted's setup
// compiled (keys from the IdP's JWKS, the config through JSON), the
// reference for its numbers next to core's BenchmarkHandler.
func BenchmarkHandlerCompiledTwin(b *testing.B) {
	benchmarkHandlerCases(b, compiledBenchWrap(compiledStubSTS{}))
}

// handlerBench is the setup the handler benchmarks and the allocation
// budget share: an IdP, a fake STS, and the issuer's configuration as JSON.
type handlerBench struct {
	idp        *conformance.IdP
	configJSON string
}

func newHandlerBench(t testing.TB) handlerBench {
	t.Helper()
	idp, err := conformance.NewIdP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	fake, err := fakests.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)

	cfg := core.DefaultConfig()
	cfg.EndpointURL = "http://s3.bench.test:9000"
	cfg.RoleARN = fakests.RoleOK
	cfg.Credentials = core.CredentialsConfig{AccessKey: conformance.GatewayAccessKey, SecretKey: conformance.GatewaySecretKey}
	cfg.STS.Endpoint = fake.URL
	cfg.JWT.Issuer = idp.URL
	cfg.JWT.JWKSURL = idp.URL + "/jwks"
	cfg.JWT.Audience = []string{conformance.Audience}
	data, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return handlerBench{idp: idp, configJSON: string(data)}
}

// tokenRequest builds the issuer of the setup in front of wrap and returns
// a function that makes one token request with a token of alg, signed by
// key, failing unless it is answered 201. The first request (which fetches
// the JWKS) is made before it returns.
func (hb handlerBench) tokenRequest(t testing.TB, wrap benchWrap, alg string, key conformance.SigningKey, stub bool) func() error {
	t.Helper()
	h, err := wrap(conformance.NextHandler(), hb.configJSON, stub)
	if err != nil {
		t.Fatal(err)
	}
	tok := "Bearer " + conformance.Sign(alg, key, hb.idp.Claims(time.Now(), "jane"), nil)
	serve := func() error {
		req := httptest.NewRequest(http.MethodPut, "/apis/sts/token", nil)
		req.Header.Set("Authorization", tok)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusCreated {
			return fmt.Errorf("status %d: %s", rec.Code, rec.Body)
		}
		return nil
	}
	if err := serve(); err != nil {
		t.Fatal(err)
	}
	return serve
}

func benchmarkHandlerCases(b *testing.B, wrap benchWrap) {
	hb := newHandlerBench(b)
	idp := hb.idp
	cases := []struct {
		name string
		alg  string
		key  conformance.SigningKey
		stub bool
	}{
		{"RS256", "RS256", idp.RSA, true},
		{"ES256", "ES256", idp.EC, true},
		{"RS256-stdlib-STS", "RS256", idp.RSA, false},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			serve := hb.tokenRequest(b, wrap, c.alg, c.key, c.stub)
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := serve(); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}

// interpretedTokenAllocBudget bounds the allocations of one token request
// through the interpreted issuer with an in-process STS (the request and
// recorder included). The path took about 610 when the rules of core/doc.go were written,
// 1,936 before; allocations do not depend on the machine's load, so a
// budget catches a hot function turned back into a method, or cold work
// moved back into a hot one, without timing anything.
const interpretedTokenAllocBudget = 800

// interpretedSTSClientAllocBudget is the same with the core's own STS
// client calling the loopback fake STS, both ends of the HTTP exchange
// counted: about 1,380 since the issuer calls the client without the STS
// interface (1,440 through it, 3,885 before those rules).
const interpretedSTSClientAllocBudget = 1500

func TestInterpretedTokenPathAllocationBudget(t *testing.T) {
	hb := newHandlerBench(t)
	for _, c := range []struct {
		name   string
		stub   bool
		budget int
	}{
		{"stub STS", true, interpretedTokenAllocBudget},
		{"core STS client", false, interpretedSTSClientAllocBudget},
	} {
		t.Run(c.name, func(t *testing.T) {
			serve := hb.tokenRequest(t, interpretedBenchWrap(t), "RS256", hb.idp.RSA, c.stub)
			var failed error
			allocs := testing.AllocsPerRun(200, func() {
				if err := serve(); err != nil && failed == nil {
					failed = err
				}
			})
			if failed != nil {
				t.Fatal(failed)
			}
			t.Logf("%.0f allocations per interpreted token request (budget %d)", allocs, c.budget)
			if allocs > float64(c.budget) {
				t.Errorf("%.0f allocations per interpreted token request, over the budget of %d: see core/doc.go", allocs, c.budget)
			}
		})
	}
}
