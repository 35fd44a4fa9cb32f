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
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/conformance"
	"github.com/stsgate/stsgate/internal/plugintest"
)

// decode is what Traefik's decoder makes of options: every key in
// Config.Options (",remain"), the values as they are.
func decode(t testing.TB, options map[string]any) *Config {
	t.Helper()
	return &Config{Options: options}
}

// coreConfig is the core.Config New builds from c.
func coreConfig(t testing.TB, c *Config) core.Config {
	t.Helper()
	raw, err := json.Marshal(c.Options)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := core.ConfigFrom(raw, core.HostTraefik, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// sameConfig compares two Configs by what they configure (their JSON).
func sameConfig(t testing.TB, a, b core.Config) bool {
	t.Helper()
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

func TestCreateConfigIsCoreDefaults(t *testing.T) {
	if got, want := coreConfig(t, CreateConfig()), core.DefaultConfig(); !sameConfig(t, got, want) {
		t.Errorf("CreateConfig maps to\n  %+v\nwant core.DefaultConfig()\n  %+v", got, want)
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
		got := coreConfig(t, decode(t, plugintest.Options(m.Config)))
		if !sameConfig(t, got, m.Config) {
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

// hmacSecretFile is read when the middleware is built: its secret must be
// long enough, and its path, never its contents, names it in errors.
func TestHMACSecretFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "hmac")
	o := validOptions()
	o["jwt"] = map[string]any{"hmacSecretFile": path}
	for content, want := range map[string]string{
		"file-secret-0123456789-0123456789\n": "",
		"short\n":                             "jwt.hmacSecretFile: " + path + " holds 5 bytes",
	} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := New(context.Background(), http.NotFoundHandler(), decode(t, o), "hmac")
		if (want == "" && err != nil) || (want != "" && (err == nil || !strings.HasPrefix(err.Error(), want))) {
			t.Errorf("%q: New gives %v, want %q", content, err, want)
		}
		if err != nil && strings.Contains(err.Error(), "short") {
			t.Errorf("the error quotes the secret: %v", err)
		}
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
	cfg := coreConfig(t, c)
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
