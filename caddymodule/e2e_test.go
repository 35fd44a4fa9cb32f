package caddymodule

// Live tests of the built Caddy binary: $STSGATE_CADDY, else bin/caddy
// (make build; make test builds it first). Without a binary these tests
// skip, unless STSGATE_REQUIRE_BINARIES=1 makes that a failure.

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stsgate/stsgate/internal/conformance"
	"github.com/stsgate/stsgate/internal/fakests"
	"github.com/stsgate/stsgate/internal/testproc"
)

// caddyBinary is the Caddy binary under test: $STSGATE_CADDY, else
// bin/caddy (make build).
func caddyBinary(t *testing.T) string {
	t.Helper()
	return testproc.Binary(t, "STSGATE_CADDY", filepath.Join("..", "bin", "caddy"))
}

// freePort is a loopback port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	_, port, _ := net.SplitHostPort(testproc.LoopbackAddr(t))
	n, _ := strconv.Atoi(port)
	return n
}

// envList is env as NAME=value entries.
func envList(env map[string]string) []string {
	var list []string
	for k, v := range env {
		list = append(list, k+"="+v)
	}
	return list
}

// caddyProcess is a running `caddy run`.
type caddyProcess struct {
	base   string // the site, http://127.0.0.1:port
	admin  string // the admin API, http://127.0.0.1:port
	output *testproc.Buffer
	pid    int
}

// startCaddy runs the binary on caddyfile (which must put the admin API on
// adminPort and a site on sitePort), waits until the site answers, and
// stops it when the test ends, showing its output if the test failed.
func startCaddy(t *testing.T, bin, caddyfile string, adminPort, sitePort int, env map[string]string) *caddyProcess {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := testproc.CaddyCommand(bin, dir, envList(env), "run", "--config", path, "--adapter", "caddyfile")
	out, done := testproc.Start(t, cmd)
	p := &caddyProcess{
		base:   fmt.Sprintf("http://127.0.0.1:%d", sitePort),
		admin:  fmt.Sprintf("http://127.0.0.1:%d", adminPort),
		output: out,
		pid:    cmd.Process.Pid,
	}
	t.Cleanup(func() {
		testproc.Stop(cmd, done, 10*time.Second)
		if t.Failed() {
			t.Logf("caddy output (last 30000 bytes):\n%s", tail(out.String(), 30000))
			t.Logf("Caddyfile:\n%s", caddyfile)
		}
	})
	client := &http.Client{Timeout: time.Second}
	testproc.WaitReady(t, "caddy", 30*time.Second, done, out, func() bool {
		resp, err := client.Get(p.base + "/")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil
	})
	return p
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// TestCaddyListModules: the binary has the module.
func TestCaddyListModules(t *testing.T) {
	bin := caddyBinary(t)
	out, err := exec.Command(bin, "list-modules").CombinedOutput()
	if err != nil {
		t.Fatalf("list-modules: %v\n%s", err, out)
	}
	found := false
	for _, line := range strings.Split(string(out), "\n") {
		if strings.TrimSpace(line) == "http.handlers.sts_token" {
			found = true
		}
	}
	if !found {
		t.Fatalf("list-modules does not list http.handlers.sts_token:\n%s", out)
	}
}

// exampleEnv is the environment Caddyfile.example needs beyond its
// example values: the two secrets.
var exampleEnv = map[string]string{
	"STS_ACCESS_KEY": "stsgate",
	"STS_SECRET_KEY": "stsgate-secret",
}

func validate(t *testing.T, bin string, env map[string]string, args ...string) (string, error) {
	t.Helper()
	cmd := testproc.CaddyCommand(bin, t.TempDir(), envList(env), append([]string{"validate"}, args...)...)
	cmd.Dir = "" // here, where args' paths are relative to
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestCaddyValidateExample: Caddyfile.example is a valid config once its
// environment is set.
func TestCaddyValidateExample(t *testing.T) {
	bin := caddyBinary(t)
	out, err := validate(t, bin, exampleEnv, "--config", filepath.Join("..", "Caddyfile.example"), "--adapter", "caddyfile")
	if err != nil || !strings.Contains(out, "Valid configuration") {
		t.Fatalf("caddy validate Caddyfile.example: %v\n%s", err, out)
	}
}

// TestCaddyValidateNamesUnsetSecret: a secret placeholder whose variable
// is unset is an error that names the option and the variable, not a quiet
// fall-back to the AWS SDK's default chain.
func TestCaddyValidateNamesUnsetSecret(t *testing.T) {
	bin := caddyBinary(t)
	env := map[string]string{"STS_SECRET_KEY": "stsgate-secret"}
	out, err := validate(t, bin, env, "--config", filepath.Join("..", "Caddyfile.example"), "--adapter", "caddyfile")
	if err == nil || !strings.Contains(out, "access_key: {env.STS_ACCESS_KEY} is empty: the environment variable STS_ACCESS_KEY is not set or empty") ||
		!strings.Contains(out, "Caddyfile.example:78") {
		t.Fatalf("caddy validate with STS_ACCESS_KEY unset: %v\n%s", err, out)
	}
}

// TestCaddyWarnsAtLoad: what will fail every request until something
// changes (a jwks_file or key file not there yet), and a jwt block that
// accepts every audience, are warnings at load that name the option and
// the path; a JWKS file that exists but holds no usable key is an error.
func TestCaddyWarnsAtLoad(t *testing.T) {
	bin := caddyBinary(t)
	dir := t.TempDir()
	missing := filepath.Join(dir, "mounted-later", "jwks.json")
	keyFile := filepath.Join(dir, "access_key")
	caddyfile := func(jwks string) string {
		return fmt.Sprintf(`:8080 {
	sts_token {
		endpoint_url http://s3.example:9000
		role_arn arn:aws:iam:::role/ARS
		access_key_file %s
		secret_key_file %s
		jwt {
			issuer https://keycloak.example/realms/shasta
			jwks_file %s
		}
	}
}
`, keyFile, keyFile, jwks)
	}
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(caddyfile(missing)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := validate(t, bin, nil, "--config", path, "--adapter", "caddyfile")
	if err != nil || !strings.Contains(out, "Valid configuration") {
		t.Fatalf("caddy validate: %v\n%s", err, out)
	}
	for _, want := range []string{
		"jwt.jwks_file: " + missing + " does not exist (yet): every request is refused with 503 until it does",
		"access_key_file: " + keyFile + " does not exist (yet)",
		"jwt.audience: not set: every token the issuer signs, for any of its clients, is accepted",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("no warning %q in:\n%s", want, out)
		}
	}

	garbage := filepath.Join(dir, "garbage.json")
	if err := os.WriteFile(garbage, []byte(`{"keys":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(caddyfile(garbage)), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err = validate(t, bin, nil, "--config", path, "--adapter", "caddyfile")
	if err == nil || !strings.Contains(out, "jwt.jwks_file: "+garbage+" holds no usable key") {
		t.Fatalf("caddy validate with an unusable JWKS file: %v\n%s", err, out)
	}
}

// TestCaddyValidateNamesRoleARN: a config without role_arn in assume_role
// mode fails validation, as a Caddyfile (the adapter checks it) and as JSON
// (the module's Validate checks it), naming role_arn.
func TestCaddyValidateNamesRoleARN(t *testing.T) {
	bin := caddyBinary(t)
	dir := t.TempDir()
	caddyfile := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(caddyfile, []byte(`:8080 {
	sts_token {
		endpoint_url http://s3.test:9000
		jwt {
			issuer https://idp.test/realms/x
		}
	}
}
`), 0o600); err != nil {
		t.Fatal(err)
	}
	jsonConfig := filepath.Join(dir, "caddy.json")
	if err := os.WriteFile(jsonConfig, []byte(`{"apps":{"http":{"servers":{"srv0":{"listen":[":8080"],"routes":[{"handle":[
		{"handler":"sts_token","endpoint_url":"http://s3.test:9000","jwt":{"issuer":"https://idp.test/realms/x"}}]}]}}}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--config", caddyfile, "--adapter", "caddyfile"},
		{"--config", jsonConfig},
	} {
		out, err := validate(t, bin, nil, args...)
		if err == nil {
			t.Errorf("caddy validate %s passed, want a failure:\n%s", args[1], out)
			continue
		}
		if !strings.Contains(out, "role_arn") {
			t.Errorf("caddy validate %s failed without naming role_arn:\n%s", args[1], out)
		}
	}
}

// TestCaddyConformance runs the conformance table (docs/api.md) against the built Caddy,
// every conformance mount configured through the Caddyfile (secrets as
// {env.X} placeholders), and checks that Caddy's log holds the audit lines
// but no token or secret.
func TestCaddyConformance(t *testing.T) {
	bin := caddyBinary(t)
	env := newConformanceEnv(t)
	adminPort, sitePort := freePort(t), freePort(t)
	secrets := map[string]string{}
	caddyfile := siteCaddyfile(adminPort, sitePort, env.Mounts(), secrets)
	p := startCaddy(t, bin, caddyfile, adminPort, sitePort, secrets)

	var sent []string
	conformance.Run(t, env, conformance.RecordingDoer(conformance.URLDoer(p.base), &sent))

	t.Run("logs", func(t *testing.T) {
		logs := p.output.String()
		if !strings.Contains(logs, `"outcome":"issued"`) || !strings.Contains(logs, `"outcome":"sts_rejected"`) {
			t.Errorf("Caddy's log lacks the audit lines:\n%s", tail(logs, 5000))
		}
		for _, probe := range conformance.LeakedFragments(logs, append([]string{
			conformance.GatewaySecretKey,
			fakests.SecretAccessKey,
			fakests.SessionToken,
			string(env.IdP.HMACSecret),
		}, sent...)) {
			t.Errorf("Caddy's log holds a secret or token fragment %.12q…", probe)
		}
	})
}

// userToken is a token the main mount issues credentials for.
func userToken(env *conformance.Env) string {
	claims := env.IdP.Claims(time.Now(), "jane.doe@example.com")
	claims["groups"] = []string{"sts-users"}
	return "Bearer " + conformance.Sign("RS256", env.IdP.RSA, claims, nil)
}

// TestCaddyReloadsDoNotLeak loads the config 100 times through the admin
// API, each config different (the STS timeout changes every time) so that
// every load really replaces the handlers and the STS client, issues credentials after every load (so every STS client has
// pooled connections to clean up), and compares goroutine counts after the
// 1st and the 100th load.
func TestCaddyReloadsDoNotLeak(t *testing.T) {
	bin := caddyBinary(t)
	env := newConformanceEnv(t)
	adminPort, sitePort := freePort(t), freePort(t)
	secrets := map[string]string{}
	configA := siteCaddyfile(adminPort, sitePort, env.Mounts(), secrets)
	mountsB := env.Mounts()
	mountsB[0].Config.Duration = 2 * time.Hour
	configB := siteCaddyfile(adminPort, sitePort, mountsB, secrets)
	if configA == configB {
		t.Fatal("the two configs must differ")
	}
	p := startCaddy(t, bin, configA, adminPort, sitePort, secrets)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	token := userToken(env)

	// Every load also changes the STS timeout, so that it replaces the STS
	// client: the replaced one must close its connections (open files are
	// counted below), not keep them for the 90 s idle timeout.
	load := func(i int) {
		t.Helper()
		mounts := env.Mounts()
		if i%2 == 1 {
			mounts = env.Mounts()
			mounts[0].Config.Duration = 2 * time.Hour
		}
		mounts[0].Config.STS.Timeout += time.Duration(i) * time.Millisecond
		body := siteCaddyfile(adminPort, sitePort, mounts, secrets)
		req, _ := http.NewRequest(http.MethodPost, p.admin+"/load", strings.NewReader(body))
		req.Header.Set("Content-Type", "text/caddyfile")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatalf("load %d: %v", i, err)
		}
		msg, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("load %d: %d %s", i, resp.StatusCode, msg)
		}
	}
	// A connection accepted while a load swaps the servers may be closed
	// unanswered (Caddy, not this module): such a transport error is tried
	// again a few times; a wrong answer never is.
	transportRetries := 0
	issue := func(i int) {
		t.Helper()
		var resp *http.Response
		var err error
		for try := 0; try < 3; try++ {
			req, _ := http.NewRequest(http.MethodPut, p.base+"/apis/sts/token", nil)
			req.Header.Set("Authorization", token)
			if resp, err = client.Do(req); err == nil {
				break
			}
			transportRetries++
			time.Sleep(50 * time.Millisecond)
		}
		if err != nil {
			t.Fatalf("token after load %d: %v", i, err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			t.Fatalf("token after load %d: %d %s", i, resp.StatusCode, body)
		}
	}
	goroutines := func() int {
		t.Helper()
		resp, err := client.Get(p.admin + "/debug/pprof/goroutine?debug=1")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		first, err := bufio.NewReader(resp.Body).ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		const prefix = "goroutine profile: total "
		if !strings.HasPrefix(first, prefix) {
			t.Fatalf("unexpected goroutine profile line %q", first)
		}
		n, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(first, prefix)))
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	// openFiles counts Caddy's file descriptors: sockets, files and the
	// credential and key files the module reads.
	openFiles := func() int {
		t.Helper()
		entries, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", p.pid))
		if err != nil {
			t.Fatal(err)
		}
		return len(entries)
	}
	// settled waits until the count stops moving (old servers finish
	// shutting down) and returns it; with limit > 0 it stops early once the
	// count is at most limit.
	settled := func(limit int) int {
		last := goroutines()
		for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); {
			time.Sleep(300 * time.Millisecond)
			n := goroutines()
			if n == last || (limit > 0 && n <= limit) {
				return n
			}
			last = n
		}
		return last
	}

	const reloads, margin, fdMargin = 100, 15, 10
	load(1)
	issue(1)
	first := settled(0)
	firstFiles := openFiles()
	for i := 2; i <= reloads; i++ {
		load(i)
		issue(i)
	}
	last := settled(first + margin)
	client.CloseIdleConnections() // the test's own keep-alive sockets are not Caddy's leak
	lastFiles := openFiles()
	t.Logf("goroutines after load 1: %d, after load %d: %d; open files %d -> %d (token requests tried again after a transport error: %d)",
		first, reloads, last, firstFiles, lastFiles, transportRetries)
	if last > first+margin {
		t.Errorf("goroutines grew from %d to %d over %d reloads", first, last, reloads-1)
	}
	if lastFiles > firstFiles+fdMargin {
		t.Errorf("open files grew from %d to %d over %d reloads", firstFiles, lastFiles, reloads-1)
	}

	// Everything still answers after the reloads.
	issue(reloads + 1)
	for _, c := range conformance.Cases() {
		switch c.Name {
		case "healthz/GET", "token/no Authorization", "sts/AccessDenied is 502", "empty prefix/public healthz", "other path/GET /":
			if err := conformance.Check(env, conformance.URLDoer(p.base), c); err != nil {
				t.Error(err)
			}
		}
	}
}
