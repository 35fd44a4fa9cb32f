package e2e

// A real Kubernetes API server for the workload-identity tests: Debian's
// etcd and kube-apiserver v1.34 (built by scripts/build-kube-apiserver.sh),
// on loopback ports, with an admin token, RBAC, and the service-account
// issuer at https://127.0.0.1:<port> so that stsgate can check its tokens by
// OIDC discovery. No controller manager or kubelet: the tests request
// tokens with the TokenRequest API and write them as the kubelet would.

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stsgate/stsgate/internal/testproc"
)

// kubeAPI is a running API server.
type kubeAPI struct {
	// URL is the API server and its service-account issuer; CAFile the CA
	// of its serving certificate; AdminToken a token in system:masters.
	URL, CAFile, AdminToken string
	client                  *http.Client
}

// startKube starts etcd and kube-apiserver for the test, ready to serve, with
// OIDC discovery open to unauthenticated callers (the standard
// system:service-account-issuer-discovery ClusterRole bound to
// system:unauthenticated, as docs/kubernetes.md tells operators to do).
func startKube(t *testing.T) *kubeAPI {
	t.Helper()
	apiserver := testproc.Binary(t, "STSGATE_KUBE_APISERVER", "../.cache/bin/kube-apiserver")
	etcd, err := exec.LookPath("etcd")
	if err != nil {
		testproc.Missing(t, "etcd is not installed (Debian's etcd-server; make deps installs it)")
	}
	dir := t.TempDir()

	client, peer := testproc.LoopbackAddr(t), testproc.LoopbackAddr(t)
	ecmd := exec.Command(etcd, "--name", "stsgate", "--data-dir", filepath.Join(dir, "etcd"),
		"--listen-client-urls", "http://"+client, "--advertise-client-urls", "http://"+client,
		"--listen-peer-urls", "http://"+peer, "--initial-advertise-peer-urls", "http://"+peer,
		"--initial-cluster", "stsgate=http://"+peer, "--log-level", "warn")
	ecmd.Env = []string{"HOME=" + dir}
	eout, edone := testproc.Start(t, ecmd)
	t.Cleanup(func() { testproc.Stop(ecmd, edone, 10*time.Second) })
	testproc.WaitReady(t, "etcd", 30*time.Second, edone, eout, func() bool {
		resp, err := http.Get("http://" + client + "/health")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})

	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(dir, "sa.key")
	writeFile(t, keyFile, pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(key)}))
	k := &kubeAPI{AdminToken: "stsgate-admin-" + randomHex(t)}
	writeFile(t, filepath.Join(dir, "tokens.csv"), []byte(k.AdminToken+`,admin,admin-uid,"system:masters"`+"\n"))

	addr := testproc.LoopbackAddr(t)
	port := addr[strings.LastIndexByte(addr, ':')+1:]
	k.URL = "https://" + addr
	k.CAFile = filepath.Join(dir, "certs", "apiserver.crt")
	acmd := exec.Command(apiserver,
		"--etcd-servers=http://"+client,
		"--bind-address=127.0.0.1", "--advertise-address=127.0.0.1", "--secure-port="+port,
		"--cert-dir="+filepath.Join(dir, "certs"),
		"--service-account-issuer="+k.URL,
		"--service-account-key-file="+keyFile, "--service-account-signing-key-file="+keyFile,
		"--api-audiences="+k.URL,
		"--token-auth-file="+filepath.Join(dir, "tokens.csv"),
		"--authorization-mode=RBAC",
		"--service-cluster-ip-range=10.96.0.0/24",
		"--profiling=false")
	acmd.Env = []string{"HOME=" + dir}
	aout, adone := testproc.Start(t, acmd)
	t.Cleanup(func() {
		testproc.Stop(acmd, adone, 15*time.Second)
		if t.Failed() {
			t.Logf("kube-apiserver output (last part):\n%s", tail(aout.String(), 4000))
		}
	})
	start := time.Now()
	testproc.WaitReady(t, "kube-apiserver", 90*time.Second, adone, aout, func() bool {
		if k.client == nil {
			pemData, err := os.ReadFile(k.CAFile)
			if err != nil {
				return false
			}
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(pemData)
			k.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
		}
		status, _ := k.call(http.MethodGet, "/readyz", nil, nil)
		return status == http.StatusOK
	})
	t.Logf("kube-apiserver ready in %s", time.Since(start).Round(time.Millisecond))
	k.must(t, http.MethodPost, "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings", map[string]any{
		"metadata": map[string]any{"name": "service-account-issuer-discovery-public"},
		"roleRef":  map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": "system:service-account-issuer-discovery"},
		"subjects": []any{map[string]any{"apiGroup": "rbac.authorization.k8s.io", "kind": "Group", "name": "system:unauthenticated"}},
	}, nil)
	return k
}

// call sends an API request as the admin; in and out are JSON (nil: none).
func (k *kubeAPI) call(method, path string, in, out any) (int, []byte) {
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return 0, []byte(err.Error())
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, k.URL+path, body)
	if err != nil {
		return 0, []byte(err.Error())
	}
	req.Header.Set("Authorization", "Bearer "+k.AdminToken)
	switch method {
	case http.MethodPatch:
		req.Header.Set("Content-Type", "application/merge-patch+json")
	default:
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := k.client.Do(req)
	if err != nil {
		return 0, []byte(err.Error())
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && resp.StatusCode < 300 {
		_ = json.Unmarshal(data, out)
	}
	return resp.StatusCode, data
}

// must is call for a request that must succeed (409 Conflict, "already
// exists", counts as success for a create).
func (k *kubeAPI) must(t *testing.T, method, path string, in, out any) {
	t.Helper()
	status, body := k.call(method, path, in, out)
	if status >= 300 && !(status == http.StatusConflict && method == http.MethodPost) {
		t.Fatalf("%s %s: %d %s", method, path, status, body)
	}
}

// serviceAccountToken creates namespace ns and service account sa (when
// they do not exist) and returns a token for audience from the TokenRequest
// API, as the kubelet gets one for a projected volume.
func (k *kubeAPI) serviceAccountToken(t *testing.T, ns, sa, audience string) string {
	t.Helper()
	k.must(t, http.MethodPost, "/api/v1/namespaces", map[string]any{"metadata": map[string]any{"name": ns}}, nil)
	k.must(t, http.MethodPost, "/api/v1/namespaces/"+ns+"/serviceaccounts", map[string]any{"metadata": map[string]any{"name": sa}}, nil)
	var tr struct {
		Status struct {
			Token string `json:"token"`
		} `json:"status"`
	}
	k.must(t, http.MethodPost, "/api/v1/namespaces/"+ns+"/serviceaccounts/"+sa+"/token", map[string]any{
		"spec": map[string]any{"audiences": []string{audience}, "expirationSeconds": 600},
	}, &tr)
	if tr.Status.Token == "" {
		t.Fatal("the TokenRequest API returned no token")
	}
	return tr.Status.Token
}

// projectedToken is a service-account token volume as the kubelet writes
// it: the token file is dir/token, a link to ..data/token, where ..data
// links to a timestamped directory; a rotation writes a new directory and
// swaps ..data atomically. The file holds the raw JWT without a newline.
type projectedToken struct {
	dir string
	n   int
}

func newProjectedToken(t *testing.T, token string) *projectedToken {
	t.Helper()
	p := &projectedToken{dir: t.TempDir()}
	p.rotate(t, token)
	if err := os.Symlink(filepath.Join("..data", "token"), p.Path()); err != nil {
		t.Fatal(err)
	}
	return p
}

// Path is the token file's path, the pod's AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE.
func (p *projectedToken) Path() string { return filepath.Join(p.dir, "token") }

// rotate writes token as the kubelet rotates a projected token.
func (p *projectedToken) rotate(t *testing.T, token string) {
	t.Helper()
	p.n++
	ts := fmt.Sprintf("..2026_12_06_00_00_%02d.%d", p.n, p.n)
	if err := os.Mkdir(filepath.Join(p.dir, ts), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(p.dir, ts, "token"), []byte(token))
	tmp := filepath.Join(p.dir, "..data_tmp")
	if err := os.Symlink(ts, tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(p.dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

func randomHex(t *testing.T) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}
