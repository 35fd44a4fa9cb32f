package e2e

// The built Caddy (bin/caddy, `make build`) as a gateway target: a Caddyfile
// with one sts_token directive made from a core.Config, in front of a
// respond that plays the next handler.
//
// STSGATE_CADDY names the binary (default ../bin/caddy); without it the
// tests skip, unless STSGATE_REQUIRE_BINARIES=1.

import (
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stsgate/stsgate/internal/testproc"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/conformance"
)

// startCaddyGateway runs bin/caddy with cfg and waits until it serves.
func startCaddyGateway(t *testing.T, cfg core.Config) string {
	t.Helper()
	return startCaddyGatewayEnv(t, cfg, nil)
}

// startCaddyGatewayEnv is startCaddyGateway with extra environment
// variables (NAME=value) for Caddy.
func startCaddyGatewayEnv(t *testing.T, cfg core.Config, extraEnv []string) string {
	t.Helper()
	return startCaddy(t, cfg, extraEnv, nil)
}

// startCaddyGatewayTLS is startCaddyGateway over TLS with tt's certificate.
func startCaddyGatewayTLS(t *testing.T, cfg core.Config, tt *testTLS) string {
	t.Helper()
	return startCaddy(t, cfg, nil, tt)
}

// startCaddy runs bin/caddy with cfg, extra environment variables and,
// when tt is not nil, TLS; it returns the base URL once Caddy serves.
func startCaddy(t *testing.T, cfg core.Config, extraEnv []string, tt *testTLS) string {
	t.Helper()
	bin := testproc.Binary(t, "STSGATE_CADDY", "../bin/caddy")
	dir := t.TempDir()
	addr := testproc.LoopbackAddr(t)
	_, port, _ := strings.Cut(addr, ":")
	site := caddyfileFor(cfg, port)
	base, client := "http://"+addr, &http.Client{Timeout: 2 * time.Second}
	if tt != nil {
		site = strings.Replace(site, "http://:"+port+" {\n\tbind 127.0.0.1\n",
			"https://:"+port+" {\n\tbind 127.0.0.1\n\ttls "+caddyQuote(tt.CertFile)+" "+caddyQuote(tt.KeyFile)+"\n", 1)
		base, client = "https://"+addr, tt.client()
	}
	cmd := caddyCommand(t, bin, dir, site, extraEnv)
	start := time.Now()
	out, done := testproc.Start(t, cmd)
	t.Cleanup(func() {
		testproc.Stop(cmd, done, 10*time.Second)
		if t.Failed() {
			t.Logf("Caddyfile:\n%s\ncaddy output:\n%s", site, out.String())
		}
	})

	defer client.CloseIdleConnections()
	testproc.WaitReady(t, "caddy", 30*time.Second, done, out, func() bool {
		resp, err := client.Get(base + "/__stsgate_ready")
		if err != nil {
			return false
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		return resp.StatusCode == conformance.NextStatus && string(body) == conformance.NextBody
	})
	t.Logf("caddy serves after %s", time.Since(start).Round(time.Millisecond))
	return base
}

// caddyCommand writes caddyfile into dir and returns the command that runs
// Caddy with it, with HOME and Caddy's storage inside dir and extraEnv
// (NAME=value) added.
func caddyCommand(t testing.TB, bin, dir, caddyfile string, extraEnv []string) *exec.Cmd {
	t.Helper()
	path := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(path, []byte(caddyfile), 0o600); err != nil {
		t.Fatal(err)
	}
	return testproc.CaddyCommand(bin, dir, extraEnv, "run", "--config", path, "--adapter", "caddyfile")
}

// caddyfileFor writes cfg as a Caddyfile site on 127.0.0.1:port: the
// sts_token directive (conformance.CaddyDirective), then the next handler.
func caddyfileFor(cfg core.Config, port string) string {
	return "{\n\tadmin off\n\tauto_https off\n\tpersist_config off\n}\n\n" +
		"http://:" + port + " {\n\tbind 127.0.0.1\n" +
		conformance.CaddyDirective("gateway", cfg, nil) +
		fmt.Sprintf("\trespond %s %d\n}\n", caddyQuote(conformance.NextBody), conformance.NextStatus)
}

// caddyQuote writes v as one Caddyfile token: bare when it can be, else in
// backticks (which keep quotes, braces and newlines as they are).
func caddyQuote(v string) string {
	if v != "" && !strings.ContainsAny(v, " \t\r\n\"'`{}#\\") {
		return v
	}
	if !strings.Contains(v, "`") {
		return "`" + v + "`"
	}
	return strconv.Quote(v)
}
