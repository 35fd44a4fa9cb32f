package traefikplugin

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
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/conformance"
	"github.com/stsgate/stsgate/internal/plugintest"
)

// decode fills CreateConfig() from options the way a JSON or YAML host
// would (Traefik itself uses mapstructure; e2e/ tests that path).
func decode(t testing.TB, options map[string]any) *Config {
	t.Helper()
	data, err := json.Marshal(options)
	if err != nil {
		t.Fatal(err)
	}
	c := CreateConfig()
	if err := json.Unmarshal(data, c); err != nil {
		t.Fatal(err)
	}
	// What mapstructure's ",remain" does: keys no field takes.
	c.Unknown = unknownKeys(options, reflect.TypeOf(Config{}))
	if jwt, ok := options["jwt"].(map[string]any); ok {
		c.JWT.Unknown = unknownKeys(jwt, reflect.TypeOf(JWTConfig{}))
	}
	if rules, ok := options["roles"].([]any); ok {
		for i, r := range rules {
			if m, ok := r.(map[string]any); ok && i < len(c.Roles) {
				c.Roles[i].Unknown = unknownKeys(m, reflect.TypeOf(RoleRule{}))
			}
		}
	}
	return c
}

func unknownKeys(options map[string]any, typ reflect.Type) map[string]any {
	var unknown map[string]any
	for k, v := range options {
		if _, ok := typ.FieldByNameFunc(func(name string) bool { return strings.EqualFold(name, k) }); !ok {
			if unknown == nil {
				unknown = map[string]any{}
			}
			unknown[k] = v
		}
	}
	return unknown
}

func TestCreateConfigIsCoreDefaults(t *testing.T) {
	got, err := CreateConfig().coreConfig()
	if err != nil {
		t.Fatal(err)
	}
	if want := core.DefaultConfig(); !reflect.DeepEqual(got, want) {
		t.Errorf("CreateConfig maps to\n  %+v\nwant core.DefaultConfig()\n  %+v", got, want)
	}
	a, b := CreateConfig(), CreateConfig()
	a.SessionNameClaim[0] = "changed"
	if b.SessionNameClaim[0] != "preferred_username" {
		t.Error("CreateConfig shares its slices between calls")
	}
}

// Traefik's mapstructure matches option keys to field names ignoring case;
// the json tags document the options. Both must name the same thing.
func TestOptionNamesAreFieldNames(t *testing.T) {
	for _, typ := range []reflect.Type{reflect.TypeOf(Config{}), reflect.TypeOf(JWTConfig{}), reflect.TypeOf(RoleRule{})} {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			tag, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if tag != "-" && !strings.EqualFold(tag, f.Name) {
				t.Errorf("%s.%s: json name %q is not the field name", typ.Name(), f.Name, tag)
			}
		}
	}
}

// Every conformance mount survives core.Config -> options -> Config ->
// core.Config unchanged, so the plugin can express every configuration.
func TestOptionsRoundTrip(t *testing.T) {
	env, err := conformance.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	for _, m := range env.Mounts() {
		got, err := decode(t, plugintest.Options(m.Config)).coreConfig()
		if err != nil {
			t.Fatalf("%s: %v", m.Name, err)
		}
		if !reflect.DeepEqual(got, m.Config) {
			t.Errorf("%s: round trip gives\n  %+v\nwant\n  %+v", m.Name, got, m.Config)
		}
	}
}

// TestConformance runs the conformance table (docs/api.md) through New, compiled. The same
// table runs interpreted in e2e/ (yaegi and a real Traefik).
func TestConformance(t *testing.T) {
	env, err := conformance.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	h, err := conformance.ChainHandler(env.Mounts(), func(cfg core.Config) (func(http.Handler) http.Handler, error) {
		c := decode(t, plugintest.Options(cfg))
		return func(next http.Handler) http.Handler {
			h, err := New(context.Background(), next, c, "conformance")
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			return h
		}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	conformance.Run(t, env, conformance.HandlerDoer(h))
}

func validOptions() map[string]any {
	return map[string]any{
		"endpointURL": "http://s3.example:9000",
		"stsEndpoint": "http://sts.example:7480",
		"roleArn":     "arn:aws:iam:::role/s3",
		"accessKey":   "AKIAEXAMPLE",
		"secretKey":   "secret",
		"jwt":         map[string]any{"jwksURL": "https://idp.example/jwks"},
	}
}

func TestBadOptions(t *testing.T) {
	if _, err := New(context.Background(), http.NotFoundHandler(), decode(t, validOptions()), "valid"); err != nil {
		t.Fatalf("the valid options are refused: %v", err)
	}
	for _, tc := range plugintest.BadOptions {
		t.Run(tc.Name, func(t *testing.T) {
			o := validOptions()
			tc.Edit(o)
			_, err := New(context.Background(), http.NotFoundHandler(), decode(t, o), "bad")
			if err == nil {
				t.Fatalf("New accepted the options")
			}
			if !strings.HasPrefix(err.Error(), tc.Prefix) {
				t.Errorf("error %q does not start with %q", err, tc.Prefix)
			}
			if strings.Contains(err.Error(), "_file") || strings.Contains(err.Error(), "_key") || strings.Contains(err.Error(), "_url") {
				t.Errorf("error %q still names a snake_case option", err)
			}
		})
	}
}

func TestCamelText(t *testing.T) {
	for in, want := range map[string]string{
		"give access_key or access_key_file, not both":                   "give accessKey or accessKeyFile, not both",
		"needs issuer (OIDC discovery), jwks_url, jwks_file or a secret": "needs issuer (OIDC discovery), jwksURL, jwksFile or a secret",
		"required when mode is assume_role (or give role rules)":         "required when mode is assume_role (or give role rules)",
		"not used when mode is web_identity":                             "not used when mode is web_identity",
		"policy_file":                                                    "policyFile",
		"":                                                               "",
	} {
		if got := camelText(in); got != want {
			t.Errorf("camelText(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestHMACSecretFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "hmac")
	if err := os.WriteFile(path, []byte("file-secret-0123456789-0123456789\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	c := CreateConfig()
	c.JWT.HMACSecretFile = path
	got, err := c.coreConfig()
	if err != nil {
		t.Fatal(err)
	}
	if got.JWT.HMACSecret != "file-secret-0123456789-0123456789" {
		t.Errorf("hmacSecretFile read as %q", got.JWT.HMACSecret)
	}
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := c.coreConfig(); err == nil || !strings.Contains(err.Error(), "is empty") {
		t.Errorf("an empty hmacSecretFile gives %v", err)
	}
}

// New must start no goroutine and touch no network, even when every URL
// points nowhere: Traefik builds every instance again on each reload, and
// its catalog calls New with no network at all. (How fast New is,
// BenchmarkNew measures.)
func TestNewIsCheapAndStartsNothing(t *testing.T) {
	o := validOptions()
	o["stsEndpoint"] = "http://127.0.0.1:1" // nothing listens there
	o["jwt"] = map[string]any{"issuer": "http://127.0.0.1:1/realms/x"}
	c := decode(t, o)
	before := settledGoroutines(0)
	var clients []*core.STSClient
	for i := 0; i < 200; i++ {
		h, err := New(context.Background(), http.NotFoundHandler(), c, "cheap")
		if err != nil {
			t.Fatal(err)
		}
		if h == nil {
			t.Fatal("nil handler")
		}
	}
	if after := settledGoroutines(before); after > before {
		t.Errorf("goroutines: %d before, %d after 200 calls of New", before, after)
	}
	cfg, _ := c.coreConfig()
	for i := 0; i < 2; i++ {
		s, err := core.SharedSTSClient(cfg, "shared")
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, s)
	}
	if clients[0] != clients[1] {
		t.Error("instances with the same STS settings do not share the STS client")
	}
	cfg.STS.Region = "eu-west-1"
	if other, _ := core.SharedSTSClient(cfg, "shared"); other == clients[0] {
		t.Error("instances with different STS settings share the STS client")
	}
}

// The audit lines go to standard output as JSON, naming the middleware.
func TestAuditLinesOnStdout(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout := os.Stdout
	os.Stdout = w
	h, err := New(context.Background(), http.NotFoundHandler(), decode(t, validOptions()), "sts@file")
	os.Stdout = stdout
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/apis/sts/token", nil))
	w.Close()
	if rec.Code != http.StatusUnauthorized {
		t.Fatalf("status %d, want 401", rec.Code)
	}
	lines := bufio.NewReader(r)
	next := func() (string, map[string]any) {
		t.Helper()
		line, err := lines.ReadString('\n')
		if err != nil && err != io.EOF {
			t.Fatal(err)
		}
		var entry map[string]any
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("not a JSON line: %q", line)
		}
		return line, entry
	}
	// validOptions sets no audience: New says so once, in this plugin's
	// spelling of the option.
	line, entry := next()
	if entry["level"] != "WARN" || entry["middleware"] != "sts@file" ||
		!strings.HasPrefix(fmt.Sprint(entry["msg"]), "jwt.audience: not set: every token the issuer signs") {
		t.Errorf("first line %q is not the audience warning", line)
	}
	line, entry = next()
	if entry["middleware"] != "sts@file" || entry["outcome"] != "no_bearer" || entry["level"] != "INFO" {
		t.Errorf("audit line %q lacks the middleware name, outcome or level", line)
	}
}

func BenchmarkNew(b *testing.B) {
	c := decode(b, validOptions())
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := New(context.Background(), http.NotFoundHandler(), c, "bench"); err != nil {
			b.Fatal(err)
		}
	}
}

// settledGoroutines is the goroutine count once it stops falling, or has
// fallen to at most want: goroutines of earlier tests (idle connections,
// finished handlers) end on their own, at their own time.
func settledGoroutines(want int) int {
	n := runtime.NumGoroutine()
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); {
		if want > 0 && n <= want {
			return n
		}
		time.Sleep(10 * time.Millisecond)
		m := runtime.NumGoroutine()
		if want == 0 && m >= n {
			return m
		}
		n = m
	}
	return n
}
