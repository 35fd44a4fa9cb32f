package main

// The two gateways under test, each one process serving every variant on
// its own loopback port: the issuer in assume_role and in web_identity mode
// in front of MinIO, the host's own trivial answer on the healthz path (the
// healthz baseline), and the issuer with and without a credential cache in
// front of the counting proxy.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/traefikplugin/plugintest"
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
	proc     *process
	urls     map[string]string
	// pprof is the base URL of the process's /debug/pprof/.
	pprof string
}

// issuerConfig is the core configuration of one issuer variant.
func issuerConfig(variant string, idp, minioURL, counterURL string) core.Config {
	c := core.DefaultConfig()
	c.EndpointURL = minioURL
	c.STS.Endpoint = minioURL
	c.STS.Region = region
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
	c.RoleARN = roleARN
	c.Credentials = core.CredentialsConfig{AccessKey: minioRootUser, SecretKey: minioRootPassword}
	return c
}

// startCaddy runs bin/caddy with one site per variant and its admin API
// (for /debug/pprof/) on loopback.
func startCaddy(bin, dir string, configs map[string]core.Config) (*gateway, error) {
	dir = filepath.Join(dir, "caddy")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	addrs, err := freeAddrs(len(variants) + 1)
	if err != nil {
		return nil, err
	}
	admin := addrs[len(variants)]
	g := &gateway{name: "Caddy", baseline: "respond", urls: map[string]string{}, pprof: "http://" + admin}
	var b strings.Builder
	fmt.Fprintf(&b, "{\n\tadmin %s\n\tauto_https off\n\tpersist_config off\n}\n", admin)
	for i, v := range variants {
		_, port, _ := strings.Cut(addrs[i], ":")
		g.urls[v] = "http://" + addrs[i]
		fmt.Fprintf(&b, "\n# %s\nhttp://:%s {\n\tbind 127.0.0.1\n", v, port)
		if v == variantBaseline {
			fmt.Fprintf(&b, "\theader %s Content-Type application/json\n", healthzPath)
			fmt.Fprintf(&b, "\trespond %s `{\"Status\":\"ok\"}` 200\n", healthzPath)
		} else {
			writeSTSToken(&b, configs[v])
		}
		b.WriteString("\trespond 404\n}\n")
	}
	caddyfile := filepath.Join(dir, "Caddyfile")
	if err := os.WriteFile(caddyfile, []byte(b.String()), 0o600); err != nil {
		return nil, err
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"), "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		// Read by the {env.*} placeholders of writeSTSToken.
		"STSBENCH_ACCESS_KEY=" + minioRootUser, "STSBENCH_SECRET_KEY=" + minioRootPassword,
	}
	g.version = firstLine(commandOutput(bin, "version"))
	p, err := startProcess("caddy", bin, dir, filepath.Join(dir, "caddy.log"),
		[]string{"run", "--config", caddyfile, "--adapter", "caddyfile"}, env)
	if err != nil {
		return nil, err
	}
	g.proc = p
	if err := waitServing(g, 60*time.Second); err != nil {
		p.stop()
		return nil, fmt.Errorf("%w\nCaddyfile:\n%s", err, b.String())
	}
	return g, nil
}

// writeSTSToken writes the sts_token directive for c, with the gateway's
// keys as {env.*} placeholders.
func writeSTSToken(b *strings.Builder, c core.Config) {
	fmt.Fprintf(b, "\tsts_token %s {\n", c.Prefix)
	fmt.Fprintf(b, "\t\tendpoint_url %s\n\t\tsts_endpoint %s\n\t\tregion %s\n\t\tmode %s\n", c.EndpointURL, c.STS.Endpoint, c.STS.Region, c.Mode)
	if c.RoleARN != "" {
		fmt.Fprintf(b, "\t\trole_arn %s\n", c.RoleARN)
	}
	if c.Credentials.AccessKey != "" {
		b.WriteString("\t\taccess_key {env.STSBENCH_ACCESS_KEY}\n\t\tsecret_key {env.STSBENCH_SECRET_KEY}\n")
	}
	if c.Cache > 0 {
		fmt.Fprintf(b, "\t\tcache %s\n", c.Cache)
	}
	fmt.Fprintf(b, "\t\tjwt {\n\t\t\tissuer %s\n\t\t\taudience %s\n\t\t}\n\t}\n", c.JWT.Issuer, strings.Join(c.JWT.Audience, " "))
}

// traefikPluginName is the plugin's name under experimental.localPlugins.
const traefikPluginName = "stsgate"

// pluginModule is the plugin's module path, its directory under
// ./plugins-local/src.
const pluginModule = "github.com/stsgate/stsgate"

// startTraefik runs the real Traefik with the plugin as a local plugin: one
// entry point per variant, each with one router (and so one middleware
// instance), ping@internal routed on the healthz path of the baseline entry
// point, and the API entry point with /debug/pprof/.
func startTraefik(bin, repo, dir string, configs map[string]core.Config) (*gateway, error) {
	dir = filepath.Join(dir, "traefik")
	if err := copyPluginTree(repo, filepath.Join(dir, "plugins-local", "src", filepath.FromSlash(pluginModule))); err != nil {
		return nil, err
	}
	addrs, err := freeAddrs(len(variants) + 1)
	if err != nil {
		return nil, err
	}
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
	dynamic := map[string]any{"http": map[string]any{"routers": routers, "middlewares": middlewares}}
	static := map[string]any{
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
	}
	// JSON is YAML.
	for name, doc := range map[string]any{"dynamic.yml": dynamic, "traefik.yml": static} {
		data, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			return nil, err
		}
	}
	g.version = "Traefik " + versionField(commandOutput(bin, "version"), "Version:")
	// ./plugins-local is resolved from the working directory.
	p, err := startProcess("traefik", bin, dir, filepath.Join(dir, "traefik.log"),
		[]string{"--configFile=" + filepath.Join(dir, "traefik.yml")},
		[]string{"HOME=" + dir, "PATH=/usr/local/bin:/usr/bin:/bin"})
	if err != nil {
		return nil, err
	}
	g.proc = p
	if err := waitServing(g, 120*time.Second); err != nil {
		p.stop()
		return nil, err
	}
	return g, nil
}

// waitServing waits until every issuer variant refuses a healthz probe
// without a token (the issuer is mounted) and the baseline answers 200.
func waitServing(g *gateway, limit time.Duration) error {
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
	return g.proc.waitUntil(limit, func() bool {
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

// copyPluginTree copies what Traefik loads of the plugin (the manifest,
// go.mod, go.sum, core/ and traefikplugin/ without tests, vendor/) from the
// repository to dst, as e2e/yaegi_core_test.go does for the tests.
func copyPluginTree(repo, dst string) error {
	for _, f := range []string{".traefik.yml", "go.mod", "go.sum"} {
		if err := copyFile(filepath.Join(repo, f), filepath.Join(dst, f)); err != nil {
			return err
		}
	}
	for _, pkg := range []string{"core", "traefikplugin"} {
		entries, err := os.ReadDir(filepath.Join(repo, pkg))
		if err != nil {
			return err
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			if err := copyFile(filepath.Join(repo, pkg, name), filepath.Join(dst, pkg, name)); err != nil {
				return err
			}
		}
	}
	vendor := filepath.Join(repo, "vendor")
	return filepath.Walk(vendor, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, err := filepath.Rel(vendor, path)
		if err != nil {
			return err
		}
		return copyFile(path, filepath.Join(dst, "vendor", rel))
	})
}

func copyFile(src, dst string) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		return err
	}
	return os.WriteFile(dst, data, 0o644)
}
