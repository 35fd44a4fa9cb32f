package e2e

// Traefik's Kubernetes CRD provider against the real API server: Traefik's
// own CRDs applied, the README's Middleware and an IngressRoute created
// through the API, a PUT through Traefik with a service-account token, a
// change of the Middleware taking effect without a restart, and a
// Middleware with a misspelt option refused with the option named.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/stsgate/stsgate/internal/conformance"
	"github.com/stsgate/stsgate/internal/testproc"
)

// traefikCRDs are the CustomResourceDefinitions that ship in the pinned
// Traefik module (tools/traefik), as their documentation tells operators to
// apply them.
func traefikCRDs(t *testing.T) []map[string]any {
	t.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", "github.com/traefik/traefik/v3")
	cmd.Dir = filepath.Join(repoRoot(t), "tools", "traefik")
	cmd.Env = append(os.Environ(), "GOWORK=off")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("locating the Traefik module: %v", err)
	}
	var mod struct{ Dir string }
	if err := json.Unmarshal(out, &mod); err != nil || mod.Dir == "" {
		t.Fatalf("locating the Traefik module: %v %s", err, out)
	}
	data, err := os.ReadFile(filepath.Join(mod.Dir, "docs", "content", "reference", "dynamic-configuration", "kubernetes-crd-definition-v1.yml"))
	if err != nil {
		t.Fatal(err)
	}
	var crds []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc map[string]any
		if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatal(err)
		}
		if doc != nil {
			crds = append(crds, doc)
		}
	}
	return crds
}

// readmeMiddleware is the README's Kubernetes Middleware.
func readmeMiddleware(t *testing.T) map[string]any {
	t.Helper()
	for _, b := range readmeBlocks(t) {
		if b.lang == "yaml" && strings.Contains(b.text, "kind: Middleware") {
			var doc map[string]any
			if err := yaml.Unmarshal([]byte(b.text), &doc); err != nil {
				t.Fatalf("README.md:%d: %v", b.line, err)
			}
			return doc
		}
	}
	t.Fatal("README.md has no Kubernetes Middleware")
	return nil
}

func TestKubeTraefikCRDProvider(t *testing.T) {
	testproc.Binary(t, "STSGATE_TRAEFIK", "../.cache/bin/traefik")
	k := startKube(t)
	env := newMinIOEnv(t)
	for _, crd := range traefikCRDs(t) {
		k.must(t, http.MethodPost, "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd, nil)
	}
	ns := "services"
	deadline := time.Now().Add(60 * time.Second)
	for {
		status, _ := k.call(http.MethodGet, "/apis/traefik.io/v1alpha1/namespaces/"+ns+"/middlewares", nil, nil)
		if status == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Traefik's CRDs are not served (last status %d)", status)
		}
		time.Sleep(100 * time.Millisecond)
	}
	k.must(t, http.MethodPost, "/api/v1/namespaces", map[string]any{"metadata": map[string]any{"name": ns}}, nil)

	// The README's Middleware, with this test's addresses and files in its
	// options; its shape and option names are the README's.
	mw := readmeMiddleware(t)
	opts := mw["spec"].(map[string]any)["plugin"].(map[string]any)[traefikPluginName].(map[string]any)
	dir := t.TempDir()
	opts["endpointURL"] = env.MinIO.URL
	opts["stsEndpoint"] = env.MinIO.URL
	opts["roleArn"] = minioRoleARN
	opts["accessKeyFile"] = filepath.Join(dir, "access_key")
	opts["secretKeyFile"] = filepath.Join(dir, "secret_key")
	writeFile(t, opts["accessKeyFile"].(string), []byte(env.GatewayAK))
	writeFile(t, opts["secretKeyFile"].(string), []byte(env.GatewaySK))
	jwt := opts["jwt"].(map[string]any)
	jwt["issuer"] = k.URL
	jwt["caFile"] = k.CAFile
	jwt["audience"] = kubeAudience
	name := mw["metadata"].(map[string]any)["name"].(string)
	if mw["metadata"].(map[string]any)["namespace"] != ns {
		t.Fatalf("the README's Middleware is not in namespace %s", ns)
	}
	k.must(t, http.MethodPost, "/apis/traefik.io/v1alpha1/namespaces/"+ns+"/middlewares", mw, nil)
	ingressRoute := func(name, prefix, middleware string) map[string]any {
		return map[string]any{
			"apiVersion": "traefik.io/v1alpha1", "kind": "IngressRoute",
			"metadata": map[string]any{"name": name, "namespace": ns},
			"spec": map[string]any{
				"entryPoints": []any{"web"},
				"routes": []any{map[string]any{
					"match": "PathPrefix(`" + prefix + "`)", "kind": "Rule",
					"middlewares": []any{map[string]any{"name": middleware}},
					"services":    []any{map[string]any{"name": "noop@internal", "kind": "TraefikService"}},
				}},
			},
		}
	}
	k.must(t, http.MethodPost, "/apis/traefik.io/v1alpha1/namespaces/"+ns+"/ingressroutes", ingressRoute("sts", "/apis/sts", name), nil)

	ready := map[string]any{"http": map[string]any{
		"routers":  map[string]any{"ready": map[string]any{"rule": "Path(`/__stsgate_ready`)", "service": "ready"}},
		"services": map[string]any{"ready": map[string]any{"loadBalancer": map[string]any{"servers": []any{map[string]any{"url": startBackend(t, conformance.NextHandler())}}}}},
	}}
	srv := startTraefikProviders(t, ready, nil, map[string]any{"kubernetesCRD": map[string]any{
		"endpoint": k.URL, "token": k.AdminToken, "certAuthFilePath": k.CAFile,
		"namespaces": []any{ns}, "throttleDuration": "100ms",
	}})
	bearer := "Bearer " + k.serviceAccountToken(t, "backup", "nightly", kubeAudience)

	// put waits (bounded) until a PUT through the IngressRoute answers 201
	// with credentials whose lifetime is within a minute of want.
	put := func(want time.Duration) {
		t.Helper()
		var last string
		err := srv.waitFor(60*time.Second, func(c *http.Client) bool {
			req, _ := http.NewRequest(http.MethodPut, srv.URL+"/apis/sts/token", nil)
			req.Header.Set("Authorization", bearer)
			resp, err := c.Do(req)
			if err != nil {
				last = err.Error()
				return false
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			last = resp.Status + " " + string(body)
			var doc conformance.TokenDocument
			if resp.StatusCode != http.StatusCreated || json.Unmarshal(body, &doc) != nil {
				return false
			}
			exp, err := time.Parse(time.RFC3339Nano, doc.Credentials.Expiration)
			left := time.Until(exp)
			return err == nil && left > want-time.Minute && left <= want+time.Minute
		})
		if err != nil {
			t.Fatalf("PUT through the IngressRoute, want credentials for %s: %v; last answer %s", want, err, last)
		}
	}
	put(time.Hour)

	// A change of the Middleware object takes effect without a restart.
	k.must(t, http.MethodPatch, "/apis/traefik.io/v1alpha1/namespaces/"+ns+"/middlewares/"+name, map[string]any{
		"spec": map[string]any{"plugin": map[string]any{traefikPluginName: map[string]any{"duration": "2h"}}},
	}, nil)
	put(2 * time.Hour)

	// A Middleware with a misspelt option is refused, naming it.
	bad := readmeMiddleware(t)
	bad["metadata"].(map[string]any)["name"] = "sts-misspelt"
	badOpts := bad["spec"].(map[string]any)["plugin"].(map[string]any)[traefikPluginName].(map[string]any)
	badOpts["accesKeyFil"] = badOpts["accessKeyFile"]
	delete(badOpts, "accessKeyFile")
	k.must(t, http.MethodPost, "/apis/traefik.io/v1alpha1/namespaces/"+ns+"/middlewares", bad, nil)
	k.must(t, http.MethodPost, "/apis/traefik.io/v1alpha1/namespaces/"+ns+"/ingressroutes", ingressRoute("sts-misspelt", "/misspelt", "sts-misspelt"), nil)
	const refusal = "accesKeyFil: unknown option; did you mean accessKeyFile?"
	if err := srv.waitFor(60*time.Second, func(*http.Client) bool { return strings.Contains(srv.out.String(), refusal) }); err != nil {
		t.Fatalf("Traefik did not refuse the misspelt option with %q: %v", refusal, err)
	}
	put(2 * time.Hour) // the good Middleware still serves

	// The same issuer as an element of issuers, with a duration of its own.
	k.must(t, http.MethodPatch, "/apis/traefik.io/v1alpha1/namespaces/"+ns+"/middlewares/"+name, map[string]any{
		"spec": map[string]any{"plugin": map[string]any{traefikPluginName: map[string]any{
			"jwt": nil,
			"issuers": []any{map[string]any{
				"issuer": k.URL, "caFile": k.CAFile, "audience": []any{kubeAudience}, "duration": "3h",
			}},
		}}},
	}, nil)
	put(3 * time.Hour)
}

// TestKubernetesDocBlocks: docs/kubernetes.md's YAML parses, and each
// Middleware's options load in the plugin (interpreted, as Traefik runs
// it), with the in-cluster CA path pointed at a real CA file.
func TestKubernetesDocBlocks(t *testing.T) {
	p := loadYaegiPlugin(t)
	loaded := 0
	for _, b := range docBlocks(t, "docs/kubernetes.md") {
		if b.lang != "yaml" {
			continue
		}
		dec := yaml.NewDecoder(strings.NewReader(inClusterCA(t, b.text)))
		for {
			var doc map[string]any
			if err := dec.Decode(&doc); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("docs/kubernetes.md:%d: not YAML: %v", b.line, err)
			}
			var options []map[string]any
			findPluginOptions(doc, false, &options)
			for _, o := range options {
				if _, err := p.build(o, conformance.NextHandler(), "docs"); err != nil {
					t.Errorf("docs/kubernetes.md:%d: the plugin refuses these options: %v", b.line, err)
				}
				loaded++
			}
		}
	}
	if loaded == 0 {
		t.Fatal("no plugin options in docs/kubernetes.md")
	}
	bin := testproc.Binary(t, "STSGATE_CADDY", "../bin/caddy")
	validated := 0
	for _, b := range docBlocks(t, "docs/kubernetes.md") {
		if b.lang != "caddyfile" {
			continue
		}
		dir := t.TempDir()
		path := filepath.Join(dir, "Caddyfile")
		writeFile(t, path, []byte(inClusterCA(t, b.text)))
		cmd := exec.Command(bin, "validate", "--config", path, "--adapter", "caddyfile")
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "XDG_DATA_HOME=" + dir, "XDG_CONFIG_HOME=" + dir}
		if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "Valid configuration") {
			t.Errorf("docs/kubernetes.md:%d: caddy validate: %v\n%s", b.line, err, out)
		}
		validated++
	}
	if validated == 0 {
		t.Fatal("no Caddyfile in docs/kubernetes.md")
	}
}
