//go:build stsbench

package e2e

// The two gateways under test, each one process serving every variant on
// its own loopback port: the issuer in assume_role and in web_identity mode
// in front of MinIO, the host's own trivial answer on the healthz path (the
// healthz baseline), and the issuer with and without a credential cache in
// front of the counting proxy.

import (
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/conformance"
	"github.com/stsgate/stsgate/internal/plugintest"
	"github.com/stsgate/stsgate/internal/testproc"
)

// Variants each gateway serves, one port each.
const (
	variantAssumeRole  = "assume_role"
	variantWebIdentity = "web_identity"
	variantBaseline    = "baseline"
	variantCacheOn     = "cache_on"
	variantCacheOff    = "cache_off"
)

var variants = []string{variantAssumeRole, variantWebIdentity, variantBaseline, variantCacheOn, variantCacheOff}

// issuerVariants are the variants served by the issuer.
var issuerVariants = []string{variantAssumeRole, variantWebIdentity, variantCacheOn, variantCacheOff}

const (
	tokenPath   = core.DefaultPrefix + "/token"
	healthzPath = core.DefaultPrefix + "/healthz"
	// cacheWindow is the cache option of the cache_on variant.
	cacheWindow     = 15 * time.Minute
	cacheWindowText = "15m"
)

// gateway is one running gateway process.
type gateway struct {
	name string
	// version is the host's version line.
	version string
	// baseline names the host's trivial answer (Caddy's respond, Traefik's
	// ping@internal).
	baseline string
	proc     *benchProc
	urls     map[string]string
	// pprof is the base URL of the process's /debug/pprof/.
	pprof string
}

// issuerConfig is the core configuration of one issuer variant.
func issuerConfig(variant string, idp, minioURL, counterURL string) core.Config {
	c := core.DefaultConfig()
	c.EndpointURL = minioURL
	c.STS.Endpoint = minioURL
	c.STS.Region = minioRegion
	c.JWT.Issuer = idp
	c.JWT.Audience = []string{audience}
	switch variant {
	case variantWebIdentity:
		// No role: MinIO takes the policy from the token's policy claim.
		c.Mode = core.ModeWebIdentity
		return c
	case variantCacheOn:
		c.Cache = cacheWindow
		c.STS.Endpoint = counterURL
	case variantCacheOff:
		c.STS.Endpoint = counterURL
	}
	c.RoleARN = minioRoleARN
	c.Credentials = core.CredentialsConfig{AccessKey: minioRootUser, SecretKey: minioRootPassword}
	return c
}

// benchProc is a gateway process the run measures; the harness stops it
// when the benchmark ends.
type benchProc struct {
	cmd  *exec.Cmd
	done <-chan struct{}
	out  *testproc.Buffer
}

func startBenchProc(tb testing.TB, cmd *exec.Cmd) *benchProc {
	out, done := testproc.Start(tb, cmd)
	p := &benchProc{cmd: cmd, done: done, out: out}
	tb.Cleanup(func() { testproc.Stop(cmd, done, 15*time.Second) })
	return p
}

func (p *benchProc) pid() int { return p.cmd.Process.Pid }

// exited reports whether the process has stopped.
func (p *benchProc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// tail is the last n lines of the process's output, for error messages.
func (p *benchProc) tail(n int) string {
	lines := strings.Split(strings.TrimRight(p.out.String(), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// loopbackAddrs is n loopback addresses, free a moment ago.
func loopbackAddrs(tb testing.TB, n int) []string {
	addrs := make([]string, n)
	for i := range addrs {
		addrs[i] = testproc.LoopbackAddr(tb)
	}
	return addrs
}

// startBenchCaddy runs the built Caddy with one site per variant and its
// admin API (for /debug/pprof/) on loopback.
func startBenchCaddy(tb testing.TB, configs map[string]core.Config) *gateway {
	bin := testproc.Binary(tb, "STSGATE_CADDY", "../bin/caddy")
	dir := tb.TempDir()
	addrs := loopbackAddrs(tb, len(variants)+1)
	admin := addrs[len(variants)]
	g := &gateway{name: "Caddy", baseline: "respond", urls: map[string]string{}, pprof: "http://" + admin}
	var b strings.Builder
	fmt.Fprintf(&b, "{\n\tadmin %s\n\tauto_https off\n\tpersist_config off\n}\n", admin)
	secrets := map[string]string{}
	for i, v := range variants {
		_, port, _ := strings.Cut(addrs[i], ":")
		g.urls[v] = "http://" + addrs[i]
		fmt.Fprintf(&b, "\n# %s\nhttp://:%s {\n\tbind 127.0.0.1\n", v, port)
		if v == variantBaseline {
			fmt.Fprintf(&b, "\theader %s Content-Type application/json\n", healthzPath)
			fmt.Fprintf(&b, "\trespond %s `{\"Status\":\"ok\"}` 200\n", healthzPath)
		} else {
			b.WriteString(conformance.CaddyDirective(v, configs[v], secrets))
		}
		b.WriteString("\trespond 404\n}\n")
	}
	// The gateway's keys, read by CaddyDirective's {env.*} placeholders.
	var env []string
	for k, v := range secrets {
		env = append(env, k+"="+v)
	}
	cmd := caddyCommand(tb, bin, dir, b.String(), env)
	g.version = firstLine(commandOutput(bin, "version"))
	g.proc = startBenchProc(tb, cmd)
	waitServing(tb, g, 60*time.Second)
	return g
}

// startBenchTraefik runs the real Traefik with the plugin as a local
// plugin: one entry point per variant, each with one router (and so one
// middleware instance), ping@internal routed on the healthz path of the
// baseline entry point, and the API entry point with /debug/pprof/.
func startBenchTraefik(tb testing.TB, configs map[string]core.Config) *gateway {
	bin := testproc.Binary(tb, "STSGATE_TRAEFIK", "../.cache/bin/traefik")
	dir := tb.TempDir()
	copyPluginTree(tb, filepath.Join(dir, "plugins-local", "src", filepath.FromSlash(pluginModule)))
	addrs := loopbackAddrs(tb, len(variants)+1)
	api := addrs[len(variants)]
	g := &gateway{name: "Traefik", baseline: "ping@internal", urls: map[string]string{}, pprof: "http://" + api}
	entryPoints := map[string]any{"traefik": map[string]any{"address": api}}
	routers := map[string]any{}
	middlewares := map[string]any{}
	for i, v := range variants {
		ep := strings.ReplaceAll(v, "_", "-")
		entryPoints[ep] = map[string]any{"address": addrs[i]}
		g.urls[v] = "http://" + addrs[i]
		if v == variantBaseline {
			routers[ep] = map[string]any{
				"entryPoints": []any{ep},
				"rule":        "Path(`" + healthzPath + "`)",
				"service":     "ping@internal",
			}
			continue
		}
		mw := "sts-" + ep
		middlewares[mw] = map[string]any{"plugin": map[string]any{traefikPluginName: plugintest.Options(configs[v])}}
		routers[ep] = map[string]any{
			"entryPoints": []any{ep},
			"rule":        "PathPrefix(`/`)",
			"service":     "noop@internal",
			"middlewares": []any{mw},
		}
	}
	writeConfig(tb, filepath.Join(dir, "dynamic.yml"), map[string]any{"http": map[string]any{"routers": routers, "middlewares": middlewares}})
	static := filepath.Join(dir, "traefik.yml")
	writeConfig(tb, static, map[string]any{
		"global":      map[string]any{"checkNewVersion": false, "sendAnonymousUsage": false},
		"entryPoints": entryPoints,
		"api":         map[string]any{"insecure": true, "dashboard": false, "debug": true},
		"ping":        map[string]any{"entryPoint": "traefik", "manualRouting": true},
		"log":         map[string]any{"level": "ERROR", "noColor": true},
		"providers":   map[string]any{"file": map[string]any{"filename": filepath.Join(dir, "dynamic.yml")}},
		"experimental": map[string]any{
			"abortOnPluginFailure": true,
			"localPlugins":         map[string]any{traefikPluginName: map[string]any{"moduleName": pluginModule}},
		},
	})
	g.version = "Traefik " + versionField(commandOutput(bin, "version"), "Version:")
	cmd := exec.Command(bin, "--configFile="+static)
	cmd.Dir = dir // ./plugins-local is resolved from the working directory
	cmd.Env = []string{"HOME=" + dir, "PATH=/usr/local/bin:/usr/bin:/bin"}
	g.proc = startBenchProc(tb, cmd)
	waitServing(tb, g, 120*time.Second)
	return g
}

// waitServing waits until every issuer variant refuses a healthz probe
// without a token (the issuer is mounted) and the baseline answers 200.
func waitServing(tb testing.TB, g *gateway, limit time.Duration) {
	client := &http.Client{Timeout: 2 * time.Second}
	defer client.CloseIdleConnections()
	status := func(url string) int {
		resp, err := client.Get(url)
		if err != nil {
			return 0
		}
		defer resp.Body.Close()
		_, _ = io.Copy(io.Discard, resp.Body)
		return resp.StatusCode
	}
	testproc.WaitReady(tb, g.name, limit, g.proc.done, g.proc.out, func() bool {
		if status(g.urls[variantBaseline]+healthzPath) != http.StatusOK {
			return false
		}
		for _, v := range issuerVariants {
			if status(g.urls[v]+healthzPath) != http.StatusUnauthorized {
				return false
			}
		}
		return true
	})
}
