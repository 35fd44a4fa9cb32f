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
	caddyfile := filepath.Join(dir, "Caddyfile")
	site := caddyfileFor(cfg, port)
	base, client := "http://"+addr, &http.Client{Timeout: 2 * time.Second}
	if tt != nil {
		site = strings.Replace(site, "http://:"+port+" {\n\tbind 127.0.0.1\n",
			"https://:"+port+" {\n\tbind 127.0.0.1\n\ttls "+caddyQuote(tt.CertFile)+" "+caddyQuote(tt.KeyFile)+"\n", 1)
		base, client = "https://"+addr, tt.client()
	}
	if err := os.WriteFile(caddyfile, []byte(site), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "run", "--config", caddyfile, "--adapter", "caddyfile")
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"), "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
	}
	cmd.Env = append(cmd.Env, extraEnv...)
	out := &testproc.Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", bin, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		testproc.Stop(cmd, done, 10*time.Second)
		if t.Failed() {
			t.Logf("Caddyfile:\n%s\ncaddy output:\n%s", site, out.String())
		}
	})

	defer client.CloseIdleConnections()
	deadline := time.Now().Add(30 * time.Second)
	for {
		select {
		case <-done:
			t.Fatalf("caddy exited: %v\n%s", cmd.ProcessState, out.String())
		default:
		}
		if resp, err := client.Get(base + "/__stsgate_ready"); err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == conformance.NextStatus && string(body) == conformance.NextBody {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("caddy did not serve within 30s\n%s", out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	t.Logf("caddy serves after %s", time.Since(start).Round(time.Millisecond))
	return base
}

// caddyfileFor writes cfg as a Caddyfile site on 127.0.0.1:port: the
// sts_token directive with every option that differs from its default, then
// the next handler.
func caddyfileFor(cfg core.Config, port string) string {
	def := core.DefaultConfig()
	var b strings.Builder
	opt := func(indent, name string, values ...string) {
		b.WriteString(indent + name)
		for _, v := range values {
			b.WriteString(" " + caddyQuote(v))
		}
		b.WriteString("\n")
	}
	str := func(name, v string) {
		if v != "" {
			opt("\t\t", name, v)
		}
	}
	fmt.Fprintf(&b, "{\n\tadmin off\n\tauto_https off\n\tpersist_config off\n}\n\n")
	fmt.Fprintf(&b, "http://:%s {\n\tbind 127.0.0.1\n\tsts_token %s {\n", port, caddyQuote(cfg.Prefix))
	str("endpoint_url", cfg.EndpointURL)
	if cfg.STS.Endpoint != def.STS.Endpoint {
		str("sts_endpoint", cfg.STS.Endpoint)
	}
	if cfg.STS.Region != def.STS.Region {
		str("region", cfg.STS.Region)
	}
	str("mode", cfg.Mode)
	str("role_arn", cfg.RoleARN)
	for _, r := range cfg.Roles {
		opt("\t\t", "role", r.Claim, r.Value, r.RoleARN)
	}
	if cfg.Duration != 0 && cfg.Duration != def.Duration {
		str("duration", cfg.Duration.String())
	}
	if len(cfg.SessionNameClaims) > 0 && strings.Join(cfg.SessionNameClaims, " ") != strings.Join(def.SessionNameClaims, " ") {
		opt("\t\t", "session_name_claim", cfg.SessionNameClaims...)
	}
	str("access_key", cfg.Credentials.AccessKey)
	str("access_key_file", cfg.Credentials.AccessKeyFile)
	str("secret_key", cfg.Credentials.SecretKey)
	str("secret_key_file", cfg.Credentials.SecretKeyFile)
	str("ca_file", cfg.STS.CAFile)
	if cfg.STS.InsecureSkipVerify {
		opt("\t\t", "insecure_skip_verify")
	}
	str("policy", cfg.Policy)
	str("policy_file", cfg.PolicyFile)
	if cfg.STS.Timeout != 0 && cfg.STS.Timeout != def.STS.Timeout {
		str("timeout", cfg.STS.Timeout.String())
	}
	if cfg.STS.Retries != def.STS.Retries {
		str("retries", strconv.Itoa(cfg.STS.Retries))
	}
	if cfg.PublicHealthz {
		opt("\t\t", "public_healthz")
	}
	if cfg.ContainerCredentials {
		opt("\t\t", "container_credentials")
	}
	if cfg.Cache != 0 {
		str("cache", cfg.Cache.String())
	}
	b.WriteString("\t\tjwt {\n")
	j, dj := cfg.JWT, def.JWT
	jstr := func(name, v string) {
		if v != "" {
			opt("\t\t\t", name, v)
		}
	}
	jstr("issuer", j.Issuer)
	if len(j.Audience) > 0 {
		opt("\t\t\t", "audience", j.Audience...)
	}
	jstr("jwks_url", j.JWKSURL)
	jstr("jwks_file", j.JWKSFile)
	jstr("ca_file", j.CAFile)
	if j.InsecureSkipVerify {
		opt("\t\t\t", "insecure_skip_verify")
	}
	if len(j.Algorithms) > 0 {
		opt("\t\t\t", "algorithms", j.Algorithms...)
	}
	if j.Leeway != dj.Leeway {
		jstr("leeway", j.Leeway.String())
	}
	jstr("hmac_secret", j.HMACSecret)
	if j.RefreshCooldown != 0 && j.RefreshCooldown != dj.RefreshCooldown {
		jstr("refresh_cooldown", j.RefreshCooldown.String())
	}
	if j.FetchTimeout != 0 && j.FetchTimeout != dj.FetchTimeout {
		jstr("fetch_timeout", j.FetchTimeout.String())
	}
	if j.MaxTokenBytes != 0 && j.MaxTokenBytes != dj.MaxTokenBytes {
		jstr("max_token_bytes", strconv.Itoa(j.MaxTokenBytes))
	}
	b.WriteString("\t\t}\n\t}\n")
	fmt.Fprintf(&b, "\trespond %s %d\n}\n", caddyQuote(conformance.NextBody), conformance.NextStatus)
	return b.String()
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
