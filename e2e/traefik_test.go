package e2e

// The plugin in a real Traefik (the binary scripts/build-traefik.sh builds):
// loaded as a local plugin from ./plugins-local, one middleware per
// conformance mount chained on a catch-all router in front of a backend
// that answers 418 "next handler". The conformance table must get the same
// statuses, headers and bodies as the core; reloads must neither fail a
// request nor leave goroutines behind.
//
// STSGATE_TRAEFIK names the binary (default ../.cache/bin/traefik); without
// it the tests skip, unless STSGATE_REQUIRE_BINARIES=1.

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stsgate/stsgate/internal/testproc"

	"github.com/stsgate/stsgate/internal/conformance"
	"github.com/stsgate/stsgate/internal/fakests"
	"github.com/stsgate/stsgate/internal/plugintest"
)

// traefikPluginName is the plugin's name in the static configuration
// (experimental.localPlugins.<name>), used as plugin.<name> in middlewares.
const traefikPluginName = "stsgate"

// traefikServer is one running Traefik.
type traefikServer struct {
	// URL is the web entrypoint; API the traefik entrypoint (API, ping,
	// pprof).
	URL, API string
	dynamic  string
	// client reaches URL (trusting the test CA when it is https).
	client *http.Client
	cmd    *exec.Cmd
	done   <-chan struct{}
	out    *testproc.Buffer
}

// traefikRoute is one router of the dynamic configuration.
type traefikRoute struct {
	name    string
	rule    string
	backend string
}

// traefikDynamic builds the dynamic configuration: one plugin middleware per
// mount, in order, on every route.
func traefikDynamic(mounts []conformance.Mount, routes []traefikRoute) map[string]any {
	middlewares := map[string]any{}
	var chain []any
	for i, m := range mounts {
		name := fmt.Sprintf("sts-%d-%s", i, m.Name)
		middlewares[name] = map[string]any{"plugin": map[string]any{traefikPluginName: plugintest.Options(m.Config)}}
		chain = append(chain, name)
	}
	routers := map[string]any{}
	services := map[string]any{}
	for _, r := range routes {
		routers[r.name] = map[string]any{
			"entryPoints": []any{"web"},
			"rule":        r.rule,
			"service":     r.name,
			"middlewares": chain,
		}
		services[r.name] = map[string]any{"loadBalancer": map[string]any{
			"servers": []any{map[string]any{"url": r.backend}},
		}}
	}
	return map[string]any{"http": map[string]any{
		"routers":     routers,
		"middlewares": middlewares,
		"services":    services,
	}}
}

// writeConfig writes a configuration as YAML (JSON is YAML) by renaming a
// complete file over path, so that the watcher never reads half a file.
func writeConfig(t testing.TB, path string, config map[string]any) {
	t.Helper()
	data, err := json.MarshalIndent(config, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

// startTraefik runs Traefik in a fresh directory holding the plugin under
// ./plugins-local, the static configuration and the dynamic one, and waits
// until the web entrypoint answers through the plugin chain. Traefik is
// stopped when the test ends; its log is printed if the test failed.
func startTraefik(t *testing.T, dynamic map[string]any) *traefikServer {
	t.Helper()
	return startTraefikWith(t, dynamic, nil)
}

// startTraefikTLS is startTraefik with the web entrypoint over TLS, serving
// tt's certificate.
func startTraefikTLS(t *testing.T, dynamic map[string]any, tt *testTLS) *traefikServer {
	t.Helper()
	return startTraefikWith(t, dynamic, tt)
}

func startTraefikWith(t *testing.T, dynamic map[string]any, tt *testTLS) *traefikServer {
	t.Helper()
	return startTraefikProviders(t, dynamic, tt, nil)
}

// startTraefikProviders is startTraefikWith with more providers beside the
// file provider (Kubernetes CRD, say), by their static configuration key.
func startTraefikProviders(t *testing.T, dynamic map[string]any, tt *testTLS, providers map[string]any) *traefikServer {
	t.Helper()
	bin := testproc.Binary(t, "STSGATE_TRAEFIK", "../.cache/bin/traefik")
	dir := t.TempDir()
	copyPluginTree(t, filepath.Join(dir, "plugins-local", "src", filepath.FromSlash(pluginModule)))

	s := &traefikServer{
		dynamic: filepath.Join(dir, "dynamic.yml"),
		client:  &http.Client{Timeout: 2 * time.Second},
	}
	web, api := testproc.LoopbackAddr(t), testproc.LoopbackAddr(t)
	s.URL, s.API = "http://"+web, "http://"+api
	webEntry := map[string]any{"address": web}
	if tt != nil {
		s.URL, s.client = "https://"+web, tt.client()
		webEntry["http"] = map[string]any{"tls": map[string]any{}}
		dynamic["tls"] = map[string]any{"certificates": []any{map[string]any{"certFile": tt.CertFile, "keyFile": tt.KeyFile}}}
	}
	writeConfig(t, s.dynamic, dynamic)
	static := map[string]any{
		"global": map[string]any{"checkNewVersion": false, "sendAnonymousUsage": false},
		"entryPoints": map[string]any{
			"web":     webEntry,
			"traefik": map[string]any{"address": api},
		},
		"api":  map[string]any{"insecure": true, "dashboard": false, "debug": true},
		"ping": map[string]any{"entryPoint": "traefik"},
		// Plugin load errors are logged at ERROR; INFO keeps reloads quiet.
		"log": map[string]any{"level": "INFO", "noColor": true},
		"providers": map[string]any{
			"providersThrottleDuration": "100ms",
			"file":                      map[string]any{"filename": s.dynamic, "watch": true},
		},
		"experimental": map[string]any{
			"abortOnPluginFailure": true,
			"localPlugins": map[string]any{
				traefikPluginName: map[string]any{"moduleName": pluginModule},
			},
		},
	}
	for name, p := range providers {
		static["providers"].(map[string]any)[name] = p
	}
	staticPath := filepath.Join(dir, "traefik.yml")
	writeConfig(t, staticPath, static)

	s.cmd = exec.Command(bin, "--configFile="+staticPath)
	s.cmd.Dir = dir // ./plugins-local is resolved from the working directory
	s.cmd.Env = []string{"HOME=" + dir, "PATH=/usr/local/bin:/usr/bin:/bin"}
	s.out, s.done = testproc.Start(t, s.cmd)
	t.Cleanup(func() {
		s.stop()
		if t.Failed() {
			t.Logf("traefik output:\n%s", s.out.String())
		}
	})

	start := time.Now()
	var logged string
	err := s.waitFor(60*time.Second, func(c *http.Client) bool {
		resp, err := c.Get(s.URL + "/__stsgate_ready")
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == conformance.NextStatus && string(body) == conformance.NextBody {
			return true
		}
		// A middleware Traefik could not build (New refused its options)
		// is logged at ERROR and never serves: say so now, not at the limit.
		logged = errorLine(s.out.String())
		return logged != ""
	})
	if logged != "" {
		err = fmt.Errorf("it logged %s", logged)
	}
	if err != nil {
		t.Fatalf("traefik did not serve through the plugin chain: %v", err)
	}
	t.Logf("traefik serves through the plugin chain after %s", time.Since(start).Round(time.Millisecond))
	return s
}

// errorLine is the first line Traefik logged at ERROR level, or "".
func errorLine(out string) string {
	for _, line := range strings.Split(out, "\n") {
		if strings.Contains(line, " ERR ") {
			return line
		}
	}
	return ""
}

// waitFor polls ok until it holds, the time is up or Traefik exits.
func (s *traefikServer) waitFor(limit time.Duration, ok func(*http.Client) bool) error {
	c := s.client
	defer c.CloseIdleConnections()
	deadline := time.Now().Add(limit)
	for {
		select {
		case <-s.done:
			return fmt.Errorf("traefik exited: %v", s.cmd.ProcessState)
		default:
		}
		if ok(c) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not within %s", limit)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *traefikServer) stop() {
	testproc.Stop(s.cmd, s.done, 15*time.Second)
}

// goroutines reads Traefik's goroutine count from its pprof endpoint.
func (s *traefikServer) goroutines(t testing.TB) int {
	t.Helper()
	resp, err := http.Get(s.API + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	line, _ := bufio.NewReader(resp.Body).ReadString('\n')
	const prefix = "goroutine profile: total "
	if !strings.HasPrefix(line, prefix) {
		t.Fatalf("unexpected pprof answer (%d): %q", resp.StatusCode, line)
	}
	n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(line, prefix)))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// settledGoroutines waits for the count to stop moving (connections that
// were just closed take a moment to wind down) and returns the lowest of
// the last readings.
func (s *traefikServer) settledGoroutines(t testing.TB) int {
	t.Helper()
	best := s.goroutines(t)
	same := 0
	for i := 0; i < 40 && same < 4; i++ {
		time.Sleep(250 * time.Millisecond)
		n := s.goroutines(t)
		if n >= best {
			same++
		} else {
			same = 0
		}
		if n < best {
			best = n
		}
	}
	return best
}

func startBackend(t testing.TB, h http.Handler) string {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestTraefikConformance runs the conformance table (docs/api.md) against the plugin in a
// real Traefik: the same statuses, headers and bodies as the core.
func TestTraefikConformance(t *testing.T) {
	testproc.Binary(t, "STSGATE_TRAEFIK", "../.cache/bin/traefik")
	env, err := conformance.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	next := startBackend(t, conformance.NextHandler())
	srv := startTraefik(t, traefikDynamic(env.Mounts(), []traefikRoute{{name: "sts", rule: "PathPrefix(`/`)", backend: next}}))

	var sent []string
	conformance.RunChecked(t, env, conformance.RecordingDoer(conformance.URLDoer(srv.URL), &sent), openAPIChecker(t))

	// The plugin's audit lines reach Traefik's standard output as JSON,
	// naming the middleware; neither they nor Traefik's log hold a token or
	// an issued secret.
	// Audit lines are written after the answers: wait (bounded) for one,
	// then until the output stops growing, rather than for a fixed time.
	last := -1
	if err := srv.waitFor(10*time.Second, func(*http.Client) bool {
		out := srv.out.String()
		done := len(out) == last && strings.Contains(out, `"middleware":"sts-0-main@file"`) && strings.Contains(out, `"outcome":"issued"`)
		last = len(out)
		return done
	}); err != nil {
		t.Errorf("no audit line of the plugin in Traefik's output: %v", err)
	}
	out := srv.out.String()
	for _, probe := range conformance.LeakedFragments(out, append([]string{fakests.SecretAccessKey, fakests.SessionToken}, sent...)) {
		t.Errorf("Traefik's output holds a secret or token fragment %.12q…", probe)
	}
}

// TestTraefikReload rewrites the dynamic configuration 50 times, switching
// between two variants (a probe router that changes), while requests keep
// coming from several clients (the first of them racing to fetch the
// keys): no request may fail, and Traefik's goroutine count after the 50
// reloads must not have grown with them.
func TestTraefikReload(t *testing.T) {
	testproc.Binary(t, "STSGATE_TRAEFIK", "../.cache/bin/traefik")
	const reloads = 50
	const baselineAfter = 5
	env, err := conformance.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	next := startBackend(t, conformance.NextHandler())
	variants := map[string]string{}
	for _, v := range []string{"a", "b"} {
		body := "variant " + v
		variants[v] = startBackend(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.WriteString(w, body)
		}))
	}
	// Each reload changes the STS timeout, so each builds new STS clients:
	// the ones it replaced must not keep their connections (2 goroutines
	// each) until the idle timeout.
	dynamic := func(v string, n int) map[string]any {
		mounts := env.Mounts()
		for i := range mounts {
			mounts[i].Config.STS.Timeout += time.Duration(n) * time.Millisecond
		}
		return traefikDynamic(mounts, []traefikRoute{
			{name: "sts", rule: "PathPrefix(`/`)", backend: next},
			{name: "variant-" + v, rule: "Path(`/__stsgate_variant`)", backend: variants[v]},
		})
	}
	srv := startTraefik(t, dynamic("a", 0))

	claims := env.IdP.Claims(time.Now(), "jane.doe@example.com")
	claims["groups"] = []string{"sts-users"}
	token := "Bearer " + conformance.Sign("RS256", env.IdP.RSA, claims, nil)
	type probe struct {
		method, path, auth string
		status             int
	}
	probes := []probe{
		{http.MethodPut, "/apis/sts/token", token, http.StatusCreated},
		{http.MethodGet, "/apis/sts/healthz", token, http.StatusOK},
		{http.MethodGet, "/healthz", "", http.StatusOK},
		{http.MethodPut, "/apis/sts/token", "", http.StatusUnauthorized},
		{http.MethodGet, "/elsewhere", "", conformance.NextStatus},
	}
	client := &http.Client{Timeout: 30 * time.Second}
	var sent, failed atomic.Int64
	var failMu sync.Mutex
	var failures []string
	// load sends requests until stop is closed. Several run at once, and the
	// first ones find the key sets cold, so first use is concurrent too.
	const loaders = 4
	load := func(stop <-chan struct{}, wg *sync.WaitGroup, offset int) {
		defer wg.Done()
		for i := offset; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			p := probes[i%len(probes)]
			req, _ := http.NewRequest(p.method, srv.URL+p.path, nil)
			if p.auth != "" {
				req.Header.Set("Authorization", p.auth)
			}
			resp, err := client.Do(req)
			sent.Add(1)
			msg := ""
			if err != nil {
				msg = err.Error()
			} else {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if resp.StatusCode != p.status {
					msg = fmt.Sprintf("status %d, want %d: %s", resp.StatusCode, p.status, body)
				}
			}
			if msg != "" {
				failed.Add(1)
				failMu.Lock()
				if len(failures) < 10 {
					failures = append(failures, fmt.Sprintf("%s %s: %s", p.method, p.path, msg))
				}
				failMu.Unlock()
			}
		}
	}
	reload := func(n int) {
		v := "b"
		if n%2 == 0 {
			v = "a"
		}
		writeConfig(t, srv.dynamic, dynamic(v, n))
		want := "variant " + v
		if err := srv.waitFor(30*time.Second, func(c *http.Client) bool {
			resp, err := c.Get(srv.URL + "/__stsgate_variant")
			if err != nil {
				return false
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return string(body) == want
		}); err != nil {
			t.Fatalf("reload %d (variant %s) was not applied: %v", n, v, err)
		}
	}
	// phase runs reloads from..to under load, then stops the load and lets
	// connections close.
	phase := func(from, to int) {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for l := 0; l < loaders; l++ {
			wg.Add(1)
			go load(stop, &wg, l)
		}
		for n := from; n <= to; n++ {
			reload(n)
		}
		close(stop)
		wg.Wait()
		client.CloseIdleConnections()
	}

	start := time.Now()
	phase(1, baselineAfter)
	baseline := srv.settledGoroutines(t)
	phase(baselineAfter+1, reloads)
	final := srv.settledGoroutines(t)
	t.Logf("%d reloads in %s under %d requests; goroutines %d after %d reloads, %d after %d",
		reloads, time.Since(start).Round(time.Millisecond), sent.Load(), baseline, baselineAfter, final, reloads)

	if sent.Load() < reloads {
		t.Errorf("only %d requests were sent during the reloads", sent.Load())
	}
	if failed.Load() > 0 {
		t.Errorf("%d of %d requests failed during the reloads; first ones:\n  %s", failed.Load(), sent.Load(), strings.Join(failures, "\n  "))
	}
	// A goroutine per reload would add 45; allow for pooled connections.
	if margin := 15; final > baseline+margin {
		t.Errorf("goroutines grew with the reloads: %d after %d reloads, %d after %d (margin %d)", baseline, baselineAfter, final, reloads, margin)
	}
	for _, line := range strings.Split(srv.out.String(), "\n") {
		// Traefik's own lines: "<time> ERR <message>"; the plugin's are JSON.
		if f := strings.Fields(line); len(f) > 1 && (f[1] == "ERR" || f[1] == "FTL") {
			t.Errorf("traefik logged an error during the reloads: %s", line)
		}
	}
}
