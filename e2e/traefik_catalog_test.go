package e2e

// The plugin loaded the way Traefik (pkg/plugins, v3.7.12) and its plugin
// catalog load it: .traefik.yml read with yaml.v3, the package imported by
// yaegi from a GOPATH tree, CreateConfig and New taken with Eval and called
// through reflection, the options decoded by mapstructure with
// WeaklyTypedInput and the comma-separated-string-to-slice hook.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mitchellh/mapstructure"
	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"
	"gopkg.in/yaml.v3"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/conformance"
	"github.com/stsgate/stsgate/internal/fakests"
	"github.com/stsgate/stsgate/internal/plugintest"
)

// traefikManifest is Traefik's plugins.Manifest.
type traefikManifest struct {
	DisplayName   string         `yaml:"displayName"`
	Type          string         `yaml:"type"`
	Runtime       string         `yaml:"runtime"`
	WasmPath      string         `yaml:"wasmPath"`
	Import        string         `yaml:"import"`
	BasePkg       string         `yaml:"basePkg"`
	Compatibility string         `yaml:"compatibility"`
	Summary       string         `yaml:"summary"`
	UseUnsafe     bool           `yaml:"useUnsafe"`
	TestData      map[string]any `yaml:"testData"`
}

// yaegiPlugin is Traefik's yaegiMiddlewareBuilder.
type yaegiPlugin struct {
	manifest       traefikManifest
	fnNew          reflect.Value
	fnCreateConfig reflect.Value
	// logs is what the interpreted code wrote to os.Stdout.
	logs string
}

// loadYaegiPlugin copies the plugin into a GOPATH and loads it as
// plugins.NewBuilder does for a local plugin. The interpreter's standard
// output is a file, so the plugin's os.Stdout (its audit log) lands there.
func loadYaegiPlugin(t testing.TB) *yaegiPlugin {
	t.Helper()
	gopath := t.TempDir()
	src := filepath.Join(gopath, "src", filepath.FromSlash(pluginModule))
	copyPluginTree(t, src)

	p := &yaegiPlugin{logs: filepath.Join(gopath, "plugin-stdout.log")}
	f, err := os.Open(filepath.Join(src, ".traefik.yml"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := yaml.NewDecoder(f).Decode(&p.manifest); err != nil {
		t.Fatalf(".traefik.yml: %v", err)
	}
	if p.manifest.UseUnsafe {
		t.Fatal(".traefik.yml asks for useUnsafe: most Traefik installations will refuse the plugin")
	}

	stdout, err := os.Create(p.logs)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { stdout.Close() })
	i := interp.New(interp.Options{
		GoPath: gopath,
		// The catalog strips variables that look like secrets or addresses.
		Env:    []string{"HOME=" + gopath},
		Stdout: stdout,
		Stderr: stdout,
	})
	if err := i.Use(stdlib.Symbols); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := i.Eval(fmt.Sprintf(`import "%s"`, p.manifest.Import)); err != nil {
		t.Fatalf("failed to import plugin code %q: %v", p.manifest.Import, err)
	}
	t.Logf("yaegi imported %s in %s", p.manifest.Import, time.Since(start).Round(time.Millisecond))
	basePkg := p.manifest.BasePkg
	if basePkg == "" {
		basePkg = strings.ReplaceAll(filepath.Base(p.manifest.Import), "-", "_")
	}
	if p.fnNew, err = i.Eval(basePkg + `.New`); err != nil {
		t.Fatalf("failed to eval New: %v", err)
	}
	if p.fnCreateConfig, err = i.Eval(basePkg + `.CreateConfig`); err != nil {
		t.Fatalf("failed to eval CreateConfig: %v", err)
	}
	return p
}

// createConfig is yaegiMiddlewareBuilder.createConfig.
func (p *yaegiPlugin) createConfig(config map[string]any) (reflect.Value, error) {
	results := p.fnCreateConfig.Call(nil)
	if len(results) != 1 {
		return reflect.Value{}, fmt.Errorf("invalid number of return for the CreateConfig function: %d", len(results))
	}
	vConfig := results[0]
	if len(config) == 0 {
		return vConfig, nil
	}
	decoder, err := mapstructure.NewDecoder(&mapstructure.DecoderConfig{
		DecodeHook:       mapstructure.StringToSliceHookFunc(","),
		WeaklyTypedInput: true,
		Result:           vConfig.Interface(),
	})
	if err != nil {
		return reflect.Value{}, fmt.Errorf("failed to create configuration decoder: %w", err)
	}
	if err := decoder.Decode(config); err != nil {
		return reflect.Value{}, fmt.Errorf("failed to decode configuration: %w", err)
	}
	return vConfig, nil
}

// newHandler is yaegiMiddlewareBuilder.newHandler.
func (p *yaegiPlugin) newHandler(ctx context.Context, next http.Handler, cfg reflect.Value, name string) (http.Handler, error) {
	args := []reflect.Value{reflect.ValueOf(ctx), reflect.ValueOf(next), cfg, reflect.ValueOf(name)}
	results := p.fnNew.Call(args)
	if len(results) > 1 && results[1].Interface() != nil {
		err, ok := results[1].Interface().(error)
		if !ok {
			return nil, fmt.Errorf("invalid error type: %T", results[0].Interface())
		}
		return nil, err
	}
	handler, ok := results[0].Interface().(http.Handler)
	if !ok {
		return nil, fmt.Errorf("invalid handler type: %T", results[0].Interface())
	}
	return handler, nil
}

// build decodes options and calls New, as Traefik's Builder.Build and the
// middleware's NewHandler do.
func (p *yaegiPlugin) build(options map[string]any, next http.Handler, name string) (http.Handler, error) {
	cfg, err := p.createConfig(options)
	if err != nil {
		return nil, err
	}
	return p.newHandler(context.Background(), next, cfg, name)
}

// readLogs returns the JSON lines the interpreted plugin wrote.
func (p *yaegiPlugin) readLogs(t testing.TB) []map[string]any {
	t.Helper()
	f, err := os.Open(p.logs)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []map[string]any
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Errorf("the plugin wrote a line that is not JSON: %q", sc.Text())
			continue
		}
		lines = append(lines, line)
	}
	return lines
}

// cloneOptions deep-copies an options map, through JSON.
func cloneOptions(t testing.TB, in map[string]any) map[string]any {
	t.Helper()
	data, err := json.Marshal(in)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func nextHandler() http.Handler { return conformance.NextHandler() }

func serve(h http.Handler, method, path, auth string) *http.Response {
	req := httptest.NewRequest(method, path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec.Result()
}

// TestCatalogTestData does what the plugin catalog does with .traefik.yml:
// decode testData, call New (which must return at once and need no
// network), and serve a request.
func TestCatalogTestData(t *testing.T) {
	p := loadYaegiPlugin(t)
	m := p.manifest
	if m.DisplayName != "STS Token Gateway" || m.Type != "middleware" || m.Import != pluginModule+"/traefikplugin" ||
		m.BasePkg != "traefikplugin" || m.Summary == "" || m.TestData == nil || (m.Runtime != "" && m.Runtime != "yaegi") {
		t.Fatalf(".traefik.yml is not what Traefik's local-plugin check accepts: %+v", m)
	}

	type built struct {
		h   http.Handler
		err error
	}
	done := make(chan built, 1)
	start := time.Now()
	go func() {
		h, err := p.build(m.TestData, nextHandler(), "stsgate-catalog@file")
		done <- built{h, err}
	}()
	var b built
	select {
	case b = <-done:
	case <-time.After(10 * time.Second): // the catalog's limit
		t.Fatal("New did not return within the catalog's 10 s")
	}
	elapsed := time.Since(start)
	if b.err != nil {
		t.Fatalf("New refused testData: %v", b.err)
	}
	// Blocking is what the catalog's limit above catches; how fast New is,
	// traefikplugin's BenchmarkNew measures.
	t.Logf("New returned in %s", elapsed.Round(time.Microsecond))

	for _, tc := range []struct {
		method, path string
		status       int
		header, want string
	}{
		{http.MethodGet, "/", conformance.NextStatus, "", ""},
		{http.MethodGet, "/apis/sts/tokens", conformance.NextStatus, "", ""},
		{http.MethodPut, "/apis/sts/token", http.StatusUnauthorized, "WWW-Authenticate", `Bearer realm="sts"`},
		{http.MethodGet, "/apis/sts/healthz", http.StatusUnauthorized, "WWW-Authenticate", `Bearer realm="sts"`},
		{http.MethodPost, "/apis/sts/token", http.StatusMethodNotAllowed, "Allow", "PUT"},
	} {
		resp := serve(b.h, tc.method, tc.path, "")
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != tc.status {
			t.Errorf("%s %s: status %d, want %d (%s)", tc.method, tc.path, resp.StatusCode, tc.status, body)
		}
		if tc.status == conformance.NextStatus && string(body) != conformance.NextBody {
			t.Errorf("%s %s: body %q, want the next handler's", tc.method, tc.path, body)
		}
		if tc.header != "" && resp.Header.Get(tc.header) != tc.want {
			t.Errorf("%s %s: %s %q, want %q", tc.method, tc.path, tc.header, resp.Header.Get(tc.header), tc.want)
		}
	}

	logs := p.readLogs(t)
	if len(logs) == 0 {
		t.Fatal("no audit line was written to standard output")
	}
	for _, l := range logs {
		if l["middleware"] != "stsgate-catalog@file" {
			t.Errorf("audit line without the middleware name: %v", l)
		}
	}
}

// TestCatalogWeaklyTypedOptions decodes options the way they arrive from
// labels or a key-value store: every value a string, lists comma-separated.
func TestCatalogWeaklyTypedOptions(t *testing.T) {
	p := loadYaegiPlugin(t)
	options := map[string]any{
		"prefix":           "",
		"endpointURL":      "http://s3.example:9000",
		"stsendpoint":      "http://sts.example:7480", // label keys arrive lower-cased
		"roleArn":          "arn:aws:iam:::role/s3",
		"accessKey":        "AKIAEXAMPLE",
		"secretKey":        "secret",
		"retries":          "0",
		"publicHealthz":    "true",
		"duration":         "7200",
		"sessionNameClaim": "email, sub",
		"jwt": map[string]any{
			"issuer":        "https://idp.example",
			"audience":      "sts,s3",
			"jwksURL":       "https://idp.example/jwks",
			"algorithms":    "RS256,ES256",
			"maxTokenBytes": "4096",
			"leeway":        "0s",
		},
	}
	// What the core reads from them (the interpreted plugin hands the same
	// map to core.ConfigFrom; its behaviour is checked below).
	raw, err := json.Marshal(options)
	if err != nil {
		t.Fatal(err)
	}
	got, err := core.ConfigFrom(raw, core.HostTraefik, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := core.DefaultConfig()
	want.Prefix, want.EndpointURL, want.RoleARN = "", "http://s3.example:9000", "arn:aws:iam:::role/s3"
	want.STS.Endpoint, want.STS.Retries, want.PublicHealthz = "http://sts.example:7480", 0, true
	want.Duration, want.SessionNameClaims = 2*time.Hour, []string{"email", "sub"}
	want.Credentials.AccessKey, want.Credentials.SecretKey = "AKIAEXAMPLE", "secret"
	want.JWT.Issuer, want.JWT.Audience, want.JWT.JWKSURL = "https://idp.example", []string{"sts", "s3"}, "https://idp.example/jwks"
	want.JWT.Algorithms, want.JWT.MaxTokenBytes, want.JWT.Leeway = []string{"RS256", "ES256"}, 4096, 0
	if gj, wj := mustJSON(t, got), mustJSON(t, want); gj != wj {
		t.Errorf("weakly typed options read as\n%s\nwant\n%s", gj, wj)
	}
	cfg, err := p.createConfig(options)
	if err != nil {
		t.Fatal(err)
	}
	h, err := p.newHandler(context.Background(), nextHandler(), cfg, "weak")
	if err != nil {
		t.Fatal(err)
	}
	if resp := serve(h, http.MethodGet, "/healthz", ""); resp.StatusCode != http.StatusOK {
		t.Errorf("public healthz under the empty prefix: %d", resp.StatusCode)
	}
	if resp := serve(h, http.MethodGet, "/apis/sts/healthz", ""); resp.StatusCode != conformance.NextStatus {
		t.Errorf("/apis/sts/healthz with the empty prefix: %d, want the next handler", resp.StatusCode)
	}
}

// TestCatalogBadOptions: New refuses bad options with an error that names
// the option as the operator wrote it (camelCase).
func TestCatalogBadOptions(t *testing.T) {
	p := loadYaegiPlugin(t)
	base := p.manifest.TestData
	if _, err := p.build(cloneOptions(t, base), nextHandler(), "bad"); err != nil {
		t.Fatalf("testData refused: %v", err)
	}
	for _, tc := range plugintest.BadOptions {
		t.Run(tc.Name, func(t *testing.T) {
			o := cloneOptions(t, base)
			tc.Edit(o)
			_, err := p.build(o, nextHandler(), "bad")
			if err == nil {
				t.Fatal("New accepted the options")
			}
			if !strings.HasPrefix(err.Error(), tc.Prefix) {
				t.Errorf("error %q, want it to start with %q", err, tc.Prefix)
			}
		})
	}

	// A value of the wrong type is refused by name.
	o := cloneOptions(t, base)
	o["retries"] = "twice"
	if _, err := p.build(o, nextHandler(), "bad"); err == nil || !strings.HasPrefix(err.Error(), `retries: not a whole number: "twice"`) {
		t.Errorf("retries: \"twice\" gives %v, want an error naming retries", err)
	}
}

// TestCatalogPluginConformance runs the conformance table through the
// interpreted plugin: every mount's options (core.Config translated to
// camelCase) decoded by mapstructure, New called by reflection, chained in
// order. TestTraefikConformance runs the same chain in a real Traefik.
func TestCatalogPluginConformance(t *testing.T) {
	env, err := conformance.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	p := loadYaegiPlugin(t)
	var names []string
	h, err := conformance.ChainHandler(env.Mounts(), func(cfg core.Config) (func(http.Handler) http.Handler, error) {
		options := cloneOptions(t, plugintest.Options(cfg))
		name := fmt.Sprintf("sts-%d@file", len(names))
		names = append(names, name)
		return func(next http.Handler) http.Handler {
			h, err := p.build(options, next, name)
			if err != nil {
				t.Fatalf("New(%v): %v", options, err)
			}
			return h
		}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var sent []string
	doer := conformance.HandlerDoer(h)
	recording := func(r *http.Request) (*http.Response, error) {
		if _, tok, ok := strings.Cut(r.Header.Get("Authorization"), " "); ok && len(tok) > 8 {
			sent = append(sent, tok)
		}
		return doer(r)
	}
	conformance.RunChecked(t, env, recording, openAPIChecker(t))

	// The audit lines: JSON, one per decision, each naming its middleware,
	// and never a token or a secret.
	raw, err := os.ReadFile(p.logs)
	if err != nil {
		t.Fatal(err)
	}
	logs := p.readLogs(t)
	issued := 0
	for _, l := range logs {
		if name, _ := l["middleware"].(string); !strings.HasPrefix(name, "sts-") {
			t.Errorf("audit line without the middleware name: %v", l)
		}
		if l["outcome"] == "issued" {
			issued++
		}
	}
	if issued == 0 {
		t.Error("no audit line for an issued credential")
	}
	secrets := append([]string{conformance.GatewaySecretKey, fakests.SecretAccessKey,
		fakests.SessionToken, string(env.IdP.HMACSecret)}, sent...)
	for _, s := range secrets {
		parts := strings.Split(s, ".")
		probe := parts[len(parts)-1]
		if len(probe) < 8 {
			probe = s
		}
		if strings.Contains(string(raw), probe) {
			t.Errorf("the plugin's log holds a secret or token fragment %.12q…", probe)
		}
	}
}

// TestCatalogConcurrentColdStart sends concurrent requests to freshly built
// interpreted middlewares whose key sets have fetched nothing yet, so that
// OIDC discovery, the JWKS fetch and the credential cache are first used
// by callers racing each other. yaegi bugs hide there: a continue in a
// select case that yaegi ignored made concurrent first callers unlock an
// unlocked mutex, a fatal error that took all of Traefik down.
func TestCatalogConcurrentColdStart(t *testing.T) {
	env, err := conformance.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	p := loadYaegiPlugin(t)
	mounts := env.Mounts()
	cached := mounts[0]
	cached.Name, cached.Config.Prefix, cached.Config.Cache = "cached", "/cached", 20*time.Minute
	mounts = append(mounts, cached)
	h, err := conformance.ChainHandler(mounts, func(cfg core.Config) (func(http.Handler) http.Handler, error) {
		options := cloneOptions(t, plugintest.Options(cfg))
		name := "cold" + cfg.Prefix
		return func(next http.Handler) http.Handler {
			h, err := p.build(options, next, name)
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			return h
		}, nil
	})
	if err != nil {
		t.Fatal(err)
	}

	claims := env.IdP.Claims(time.Now(), "jane.doe@example.com")
	claims["groups"] = []string{"sts-users"}
	rsa := "Bearer " + conformance.Sign("RS256", env.IdP.RSA, claims, nil)
	ec := "Bearer " + conformance.Sign("ES256", env.IdP.EC, claims, nil)
	hs := "Bearer " + conformance.SignHMAC("HS256", env.IdP.HMACSecret, "", claims)
	requests := []struct {
		method, path, auth string
		status             int
	}{
		{http.MethodPut, "/apis/sts/token", rsa, http.StatusCreated},
		{http.MethodPut, "/apis/sts/token", ec, http.StatusCreated},
		{http.MethodGet, "/apis/sts/healthz", rsa, http.StatusOK},
		{http.MethodPut, "/webid/token", ec, http.StatusCreated},
		{http.MethodPut, "/token", hs, http.StatusCreated},
		{http.MethodPut, "/cached/token", rsa, http.StatusCreated},
		{http.MethodGet, "/elsewhere", "", conformance.NextStatus},
	}
	const workers, rounds = 8, 20
	errs := make(chan string, workers*rounds*len(requests))
	start := make(chan struct{})
	done := make(chan struct{})
	for w := 0; w < workers; w++ {
		go func(w int) {
			defer func() { done <- struct{}{} }()
			<-start
			for i := 0; i < rounds*len(requests); i++ {
				r := requests[(i+w)%len(requests)]
				resp := serve(h, r.method, r.path, r.auth)
				if resp.StatusCode != r.status {
					body, _ := io.ReadAll(resp.Body)
					errs <- fmt.Sprintf("%s %s: %d, want %d: %s", r.method, r.path, resp.StatusCode, r.status, body)
				}
			}
		}(w)
	}
	close(start)
	for w := 0; w < workers; w++ {
		<-done
	}
	close(errs)
	n := 0
	for e := range errs {
		if n++; n <= 5 {
			t.Error(e)
		}
	}
	if n > 5 {
		t.Errorf("... and %d more failures", n-5)
	}

	cachedHits := 0
	for _, l := range p.readLogs(t) {
		if l["middleware"] == "cold/cached" && l["cached"] == true {
			cachedHits++
		}
	}
	if cachedHits == 0 {
		t.Error("the middleware with cache set never answered from its cache")
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
