package e2e

// The README's code blocks work as written: those that can run here do
// (the xcaddy build from a checkout, list-modules), every Caddyfile block
// validates with the built Caddy, every Traefik block's plugin options load
// through the plugin as Traefik's interpreter runs it, the pinned release
// is the CHANGELOG's newest, and the JSON examples are what the API says.

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/stsgate/stsgate/internal/conformance"
	"github.com/stsgate/stsgate/internal/testproc"
)

// readmeBlock is one fenced code block.
type readmeBlock struct {
	lang, text string
	line       int
}

var fence = regexp.MustCompile("(?m)^```([a-z]*)\\n((?s:.*?))^```")

func readmeBlocks(t *testing.T) []readmeBlock {
	t.Helper()
	blocks := docBlocks(t, "README.md")
	if len(blocks) < 10 {
		t.Fatalf("only %d code blocks in README.md", len(blocks))
	}
	return blocks
}

// docBlocks are the fenced code blocks of a Markdown file of the repository.
func docBlocks(t *testing.T, rel string) []readmeBlock {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(repoRoot(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	var blocks []readmeBlock
	for _, m := range fence.FindAllSubmatchIndex(data, -1) {
		blocks = append(blocks, readmeBlock{
			lang: string(data[m[2]:m[3]]),
			text: string(data[m[4]:m[5]]),
			line: 1 + strings.Count(string(data[:m[0]]), "\n"),
		})
	}
	return blocks
}

// inClusterCA points the Kubernetes CA path a pod has at a CA file of this
// test, so that a documented configuration that trusts the API server
// loads here as written otherwise.
func inClusterCA(t *testing.T, text string) string {
	t.Helper()
	if !strings.Contains(text, "/run/secrets/kubernetes.io/serviceaccount/ca.crt") {
		return text
	}
	ca := newTestTLS(t).CAFile
	text = strings.ReplaceAll(text, "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt", ca)
	return strings.ReplaceAll(text, "/run/secrets/kubernetes.io/serviceaccount/ca.crt", ca)
}

// shellCommands joins continued lines and drops comments.
func shellCommands(text string) []string {
	var cmds []string
	cur := ""
	for _, line := range strings.Split(text, "\n") {
		if i := strings.Index(line, " #"); i >= 0 && !strings.Contains(line[:i], "'") && !strings.Contains(line[:i], "\"") {
			line = line[:i]
		}
		line = strings.TrimRight(line, " \t")
		if strings.HasPrefix(strings.TrimSpace(line), "#") {
			continue
		}
		if strings.HasSuffix(line, "\\") {
			cur += strings.TrimSuffix(line, "\\") + " "
			continue
		}
		cur += line
		if strings.TrimSpace(cur) != "" {
			cmds = append(cmds, strings.Join(strings.Fields(cur), " "))
		}
		cur = ""
	}
	return cmds
}

func TestReadmeCaddyfileBlocksValidate(t *testing.T) {
	bin := testproc.Binary(t, "STSGATE_CADDY", "../bin/caddy")
	n := 0
	for _, b := range readmeBlocks(t) {
		if b.lang != "caddyfile" {
			continue
		}
		n++
		dir := t.TempDir()
		path := filepath.Join(dir, "Caddyfile")
		if err := os.WriteFile(path, []byte(inClusterCA(t, b.text)), 0o600); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "validate", "--config", path, "--adapter", "caddyfile")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Valid configuration") {
			t.Errorf("README.md:%d: caddy validate: %v\n%s", b.line, err, out)
		}
	}
	if n == 0 {
		t.Fatal("no caddyfile block in README.md")
	}
}

// findPluginOptions returns every map under a "stsgate" key below a
// "plugin" key: a middleware's plugin options.
func findPluginOptions(v any, underPlugin bool, out *[]map[string]any) {
	switch v := v.(type) {
	case map[string]any:
		for k, child := range v {
			if underPlugin && k == traefikPluginName {
				if m, ok := child.(map[string]any); ok {
					*out = append(*out, m)
					continue
				}
			}
			findPluginOptions(child, k == "plugin", out)
		}
	case []any:
		for _, child := range v {
			findPluginOptions(child, false, out)
		}
	}
}

func TestReadmeTraefikBlocksLoad(t *testing.T) {
	p := loadYaegiPlugin(t)
	changelog, err := os.ReadFile(filepath.Join(repoRoot(t), "CHANGELOG.md"))
	if err != nil {
		t.Fatal(err)
	}
	newest := regexp.MustCompile(`(?m)^## (v[0-9]+\.[0-9]+\.[0-9]+) `).FindSubmatch(changelog)
	if newest == nil {
		t.Fatal("CHANGELOG.md names no release")
	}
	loaded, pinned := 0, 0
	for _, b := range readmeBlocks(t) {
		if b.lang != "yaml" {
			continue
		}
		var doc map[string]any
		if err := yaml.Unmarshal([]byte(inClusterCA(t, b.text)), &doc); err != nil {
			t.Errorf("README.md:%d: not YAML: %v", b.line, err)
			continue
		}
		if exp, ok := doc["experimental"].(map[string]any); ok {
			if plugins, ok := exp["plugins"].(map[string]any); ok {
				v := plugins[traefikPluginName].(map[string]any)["version"]
				if v != string(newest[1]) {
					t.Errorf("README.md:%d: the catalog snippet pins %v, the newest release is %s", b.line, v, newest[1])
				}
				pinned++
			}
		}
		var options []map[string]any
		findPluginOptions(doc, false, &options)
		for _, o := range options {
			if _, err := p.build(o, conformance.NextHandler(), "readme"); err != nil {
				t.Errorf("README.md:%d: the plugin refuses these options: %v", b.line, err)
			}
			loaded++
		}
	}
	if loaded < 2 || pinned != 1 {
		t.Fatalf("%d plugin option blocks loaded and %d catalog snippets checked", loaded, pinned)
	}
}

func TestReadmeJSONExamples(t *testing.T) {
	doc := openAPI(t)
	token := doc.Components.Schemas["Token"].Value
	n := 0
	for _, b := range readmeBlocks(t) {
		if b.lang != "json" {
			continue
		}
		n++
		var v any
		if err := json.Unmarshal([]byte(b.text), &v); err != nil {
			t.Errorf("README.md:%d: not JSON: %v", b.line, err)
			continue
		}
		if m, ok := v.(map[string]any); ok && m["Credentials"] != nil {
			if err := token.VisitJSON(v); err != nil {
				t.Errorf("README.md:%d: the Token example is not a Token document: %v", b.line, err)
			}
		}
	}
	if n < 2 {
		t.Fatalf("only %d json blocks", n)
	}
}

// TestReadmeBuildCommands runs the Build section's commands that work from a
// checkout: list-modules on the built Caddy, and the xcaddy build (xcaddy
// is a pinned Go tool, tools/xcaddy). Two settings are the test machine's,
// not the user's: this repository is not on the Go module proxy, which here
// answers 403 (not 404) for it, so module look-ups are off (make xcaddy
// downloads the Caddy module's module graph first) and the checksum
// database is reached through the proxy; and Caddy is pinned to the
// version caddymodule/go.mod names, which the build cache already holds.
func TestReadmeBuildCommands(t *testing.T) {
	root := repoRoot(t)
	var xcaddyLine string
	ran := 0
	for _, b := range readmeBlocks(t) {
		if b.lang != "sh" {
			continue
		}
		for _, c := range shellCommands(b.text) {
			switch {
			case strings.HasPrefix(c, "bin/caddy list-modules"):
				testproc.Binary(t, "STSGATE_CADDY", "../bin/caddy")
				cmd := exec.Command("bash", "-c", c)
				cmd.Dir = root
				if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "http.handlers.sts_token") {
					t.Errorf("README.md:%d: %s: %v\n%s", b.line, c, err, out)
				}
				ran++
			case strings.Contains(c, "xcaddy build") && strings.Contains(c, "=./caddymodule"):
				xcaddyLine = c
			case c == "(cd caddymodule && go mod download)":
				cmd := exec.Command("bash", "-c", c)
				cmd.Dir = root
				cmd.Env = append(os.Environ(), "GOWORK=off")
				if out, err := cmd.CombinedOutput(); err != nil {
					t.Errorf("README.md:%d: %s: %v\n%s", b.line, c, err, out)
				}
			}
		}
	}
	if ran == 0 || xcaddyLine == "" {
		t.Fatalf("the Build commands are not in README.md (ran %d, xcaddy %q)", ran, xcaddyLine)
	}
	if testing.Short() {
		t.Skip("the xcaddy build takes about a minute")
	}
	xcaddy := testproc.Binary(t, "STSGATE_XCADDY", "../.cache/bin/xcaddy")
	gomod, err := os.ReadFile(filepath.Join(root, "caddymodule", "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	caddyVersion := regexp.MustCompile(`github.com/caddyserver/caddy/v2 (v\S+)`).FindSubmatch(gomod)
	if caddyVersion == nil {
		t.Fatal("caddymodule/go.mod names no Caddy version")
	}
	// The line as written: its environment assignments, then xcaddy.
	before, after, _ := strings.Cut(xcaddyLine, "xcaddy build")
	lineEnv := strings.Fields(before)
	if !slices.Contains(lineEnv, "GOPROXY=off") || !slices.Contains(lineEnv, "CADDY_VERSION="+string(caddyVersion[1])) {
		t.Fatalf("README.md's xcaddy line sets %q; want GOPROXY=off and CADDY_VERSION=%s (caddymodule/go.mod's Caddy)", lineEnv, caddyVersion[1])
	}
	out := filepath.Join(t.TempDir(), "caddy")
	args := append(append([]string{"build"}, strings.Fields(after)...), "--output", out)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, xcaddy, args...)
	cmd.Dir = root
	// GOSUMDB through the proxy: this machine reaches sum.golang.org only
	// that way (a user's machine reaches it directly).
	cmd.Env = append(append(os.Environ(), "GOWORK=off",
		"GOSUMDB=sum.golang.org https://proxy.golang.org/sumdb/sum.golang.org"), lineEnv...)
	start := time.Now()
	if log, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", xcaddyLine, err, tail(string(log), 3000))
	}
	t.Logf("%s: built in %s", xcaddyLine, time.Since(start).Round(time.Second))
	list, err := exec.Command(out, "list-modules").CombinedOutput()
	if err != nil || !strings.Contains(string(list), "http.handlers.sts_token") {
		t.Fatalf("the xcaddy-built Caddy does not list http.handlers.sts_token: %v", err)
	}
}

// tail is the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[len(s)-n:]
}

// TestReadmeMakeRun runs the README's make run lines (with their STS= and
// GATEWAY= settings) the way the demo checks itself: --check starts the
// stack, runs the commands the demo prints, and stops everything.
func TestReadmeMakeRun(t *testing.T) {
	root := repoRoot(t)
	var lines []string
	for _, b := range readmeBlocks(t) {
		if b.lang != "sh" {
			continue
		}
		for _, c := range shellCommands(b.text) {
			if strings.HasPrefix(c, "make run") && !slices.Contains(lines, c) {
				lines = append(lines, c)
			}
		}
	}
	if len(lines) < 3 {
		t.Fatalf("README.md shows %d make run lines, want make run, STS=rgw and GATEWAY=traefik", len(lines))
	}
	for _, line := range lines {
		name := strings.TrimSpace(strings.TrimPrefix(line, "make run"))
		if name == "" {
			name = "MinIO_and_Caddy"
		}
		t.Run(name, func(t *testing.T) {
			env := os.Environ()
			for _, arg := range strings.Fields(strings.TrimPrefix(line, "make run")) {
				if !strings.Contains(arg, "=") {
					t.Fatalf("%s: %q is not a make variable", line, arg)
				}
				env = append(env, arg)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()
			cmd := exec.CommandContext(ctx, "bash", "scripts/run-demo.sh", "--check")
			cmd.Dir = root
			cmd.Env = append(env, "GOWORK=off")
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "--check: ok") {
				t.Fatalf("%s --check: %v\n%s", line, err, tail(string(out), 3000))
			}
		})
	}
}

// TestReadmeTraefikDynamicBlockServes: the README's dynamic configuration,
// pasted as it is into a real Traefik's file provider, builds the
// middleware (no ERROR) and answers the plugin's routes on its router. A
// readiness route is added beside it for the harness; nothing of the
// README's block is changed.
func TestReadmeTraefikDynamicBlockServes(t *testing.T) {
	testproc.Binary(t, "STSGATE_TRAEFIK", "../.cache/bin/traefik")
	var dynamic map[string]any
	for _, b := range readmeBlocks(t) {
		if b.lang == "yaml" && strings.Contains(b.text, "routers:") && strings.Contains(b.text, "plugin:") {
			if err := yaml.Unmarshal([]byte(b.text), &dynamic); err != nil {
				t.Fatalf("README.md:%d: %v", b.line, err)
			}
			break
		}
	}
	if dynamic == nil {
		t.Fatal("README.md has no dynamic configuration block with routers")
	}
	httpSection := dynamic["http"].(map[string]any)
	routers := httpSection["routers"].(map[string]any)
	services, _ := httpSection["services"].(map[string]any)
	if services == nil {
		services = map[string]any{}
		httpSection["services"] = services
	}
	for name, r := range routers {
		if svc := r.(map[string]any)["service"].(string); services[svc] == nil && !strings.HasSuffix(svc, "@internal") {
			t.Errorf("README.md: router %s routes to service %q, which the block does not define", name, svc)
		}
	}
	routers["zz-ready"] = map[string]any{"rule": "Path(`/__stsgate_ready`)", "service": "zz-ready"}
	services["zz-ready"] = map[string]any{"loadBalancer": map[string]any{"servers": []any{map[string]any{"url": startBackend(t, conformance.NextHandler())}}}}
	srv := startTraefik(t, dynamic)

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/apis/sts/healthz", nil)
	req.Host = "api-gw-service-nmn.local"
	resp, err := srv.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(string(body), "missing bearer token") {
		t.Fatalf("GET /apis/sts/healthz on the README's router: %d %s; want the plugin's 401", resp.StatusCode, body)
	}
	if line := errorLine(srv.out.String()); line != "" {
		t.Errorf("traefik logged an error for the README's block: %s", line)
	}
}

// TestMakeRunTwice: a second make run while one is up says so and exits,
// and the first keeps serving (it used to lose its MinIO data to the second).
func TestMakeRunTwice(t *testing.T) {
	root := repoRoot(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	first := exec.CommandContext(ctx, "bash", "scripts/run-demo.sh")
	first.Dir = root
	first.Env = append(os.Environ(), "GOWORK=off")
	out := &testproc.Buffer{}
	first.Stdout, first.Stderr = out, out
	if err := first.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := make(chan error, 1)
	go func() { stopped <- first.Wait() }()
	defer func() {
		_ = first.Process.Signal(os.Interrupt)
		select {
		case <-stopped:
		case <-time.After(30 * time.Second):
			_ = first.Process.Kill()
		}
	}()
	gateway := regexp.MustCompile(`gateway\s+(http://127\.0\.0\.1:[0-9]+)`)
	var url string
	for deadline := time.Now().Add(8 * time.Minute); url == ""; time.Sleep(200 * time.Millisecond) {
		if m := gateway.FindStringSubmatch(out.String()); m != nil {
			url = m[1]
		}
		select {
		case err := <-stopped:
			t.Fatalf("the first make run stopped: %v\n%s", err, tail(out.String(), 3000))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("the first make run did not come up\n%s", tail(out.String(), 3000))
		}
	}
	second := exec.CommandContext(ctx, "bash", "scripts/run-demo.sh", "--check")
	second.Dir = root
	second.Env = append(os.Environ(), "GOWORK=off")
	got, err := second.CombinedOutput()
	if err == nil || !strings.Contains(string(got), "another make run is using") {
		t.Fatalf("a second make run: %v\n%s", err, got)
	}
	resp, err := http.Get(url + "/apis/sts/healthz")
	if err != nil {
		t.Fatalf("the first demo stopped answering: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("the first demo's healthz without a token: %d, want 401", resp.StatusCode)
	}
}
