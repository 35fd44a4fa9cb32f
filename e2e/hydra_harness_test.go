package e2e

// The Ory Hydra harness: a real, OpenID Certified provider (tools/hydra,
// `make hydra`) on loopback with an in-memory database, issuing JWT access
// tokens. A client gets tokens by client_credentials; a person-like caller
// (sub plus preferred_username) through the authorization-code flow, driven
// headless by accepting login and consent through Hydra's admin API.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stsgate/stsgate/internal/conformance"
	"github.com/stsgate/stsgate/internal/testproc"
)

// hydraAccessTokenSet is the key set Hydra signs JWT access tokens with.
const hydraAccessTokenSet = "hydra.jwt.access-token"

type hydraServer struct {
	// Issuer is the public URL, also the iss of its tokens.
	Issuer       string
	admin        string
	redirect     string
	clientID     string
	clientSecret string
	// stop ends Hydra (the test's cleanup does too).
	stop func()
}

// startHydra runs Hydra with `serve all --dev` (plain-HTTP issuer) and
// registers a client for both grants. Tokens name conformance.Audience in
// aud, and may carry preferred_username and policy at the top level.
func startHydra(t *testing.T) *hydraServer {
	t.Helper()
	bin := testproc.Binary(t, "STSGATE_HYDRA", "../.cache/bin/hydra")
	dir := t.TempDir()
	public, admin := testproc.LoopbackAddr(t), testproc.LoopbackAddr(t)
	pubHost, pubPort, _ := strings.Cut(public, ":")
	admHost, admPort, _ := strings.Cut(admin, ":")
	h := &hydraServer{Issuer: "http://" + public, admin: "http://" + admin, redirect: "http://127.0.0.1:1/callback"}
	config := fmt.Sprintf(`dsn: memory
serve:
  public: {host: %s, port: %s}
  admin: {host: %s, port: %s}
urls:
  self: {issuer: %s}
  login: http://127.0.0.1:1/login
  consent: http://127.0.0.1:1/consent
secrets:
  system: [stsgate-e2e-hydra-system-secret-0123456789]
strategies:
  access_token: jwt
oauth2:
  allowed_top_level_claims: [preferred_username, %s]
log:
  level: warn
`, pubHost, pubPort, admHost, admPort, h.Issuer, minioClaimPolicy)
	configFile := filepath.Join(dir, "hydra.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "serve", "all", "--dev", "--config", configFile)
	// SQA_OPT_OUT: no usage reports; this machine talks to loopback only.
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "SQA_OPT_OUT=true"}
	start := time.Now()
	out, done := testproc.Start(t, cmd)
	h.stop = func() { testproc.Stop(cmd, done, 10*time.Second) }
	t.Cleanup(func() {
		h.stop()
		if t.Failed() {
			t.Logf("hydra output:\n%s", out.String())
		}
	})
	testproc.WaitReady(t, "hydra", 60*time.Second, done, out, func() bool {
		resp, err := http.Get(h.admin + "/health/ready")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	var client struct {
		ID     string `json:"client_id"`
		Secret string `json:"client_secret"`
	}
	h.call(t, http.MethodPost, h.admin+"/admin/clients", map[string]any{
		"client_name":                "stsgate-e2e",
		"grant_types":                []string{"client_credentials", "authorization_code"},
		"response_types":             []string{"code"},
		"scope":                      "openid",
		"audience":                   []string{conformance.Audience},
		"redirect_uris":              []string{h.redirect},
		"token_endpoint_auth_method": "client_secret_basic",
	}, &client)
	h.clientID, h.clientSecret = client.ID, client.Secret
	t.Logf("hydra: ready on %s in %s", h.Issuer, time.Since(start).Round(time.Millisecond))
	return h
}

// call sends a JSON request and decodes a 2xx JSON answer into out.
func (h *hydraServer) call(t *testing.T, method, u string, in, out any) {
	t.Helper()
	var body io.Reader
	if in != nil {
		data, _ := json.Marshal(in)
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, u, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode/100 != 2 {
		t.Fatalf("%s %s: %s: %s", method, u, resp.Status, data)
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, u, err, data)
		}
	}
}

// token exchanges a grant at the token endpoint for an access token.
func (h *hydraServer) token(t *testing.T, form url.Values) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, h.Issuer+"/oauth2/token", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(url.QueryEscape(h.clientID), url.QueryEscape(h.clientSecret))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(data, &tok) != nil || tok.AccessToken == "" {
		t.Fatalf("token endpoint: %s: %s", resp.Status, data)
	}
	return tok.AccessToken
}

// clientToken is a client_credentials access token (sub is the client ID).
func (h *hydraServer) clientToken(t *testing.T) string {
	t.Helper()
	return h.token(t, url.Values{"grant_type": {"client_credentials"}, "audience": {conformance.Audience}})
}

// userToken walks the authorization-code flow for subject, accepting login
// and consent through the admin API; claims go into the access token.
func (h *hydraServer) userToken(t *testing.T, subject string, claims map[string]any) string {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	browser := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	// redirected GETs u and returns the Location it redirects to.
	redirected := func(u string) *url.URL {
		t.Helper()
		resp, err := browser.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc, err := resp.Location()
		if err != nil {
			t.Fatalf("GET %s: %s without a redirect", u, resp.Status)
		}
		return loc
	}
	auth := h.Issuer + "/oauth2/auth?" + url.Values{
		"client_id": {h.clientID}, "response_type": {"code"}, "scope": {"openid"},
		"redirect_uri": {h.redirect}, "state": {"stsgate-e2e-state-0001"},
	}.Encode()
	login := redirected(auth).Query().Get("login_challenge")
	var next struct {
		RedirectTo string `json:"redirect_to"`
	}
	h.call(t, http.MethodPut, h.admin+"/admin/oauth2/auth/requests/login/accept?login_challenge="+url.QueryEscape(login),
		map[string]any{"subject": subject}, &next)
	consent := redirected(next.RedirectTo).Query().Get("consent_challenge")
	h.call(t, http.MethodPut, h.admin+"/admin/oauth2/auth/requests/consent/accept?consent_challenge="+url.QueryEscape(consent),
		map[string]any{
			"grant_scope":                 []string{"openid"},
			"grant_access_token_audience": []string{conformance.Audience},
			"session":                     map[string]any{"access_token": claims},
		}, &next)
	code := redirected(next.RedirectTo).Query().Get("code")
	if code == "" {
		t.Fatal("the authorization-code flow ended without a code")
	}
	return h.token(t, url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {h.redirect}})
}

// rotateKey adds a new RS256 key to the access-token key set, which Hydra
// signs new tokens with, and returns its kid.
func (h *hydraServer) rotateKey(t *testing.T) string {
	t.Helper()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
		} `json:"keys"`
	}
	h.call(t, http.MethodPost, h.admin+"/admin/keys/"+hydraAccessTokenSet, map[string]any{"alg": "RS256", "use": "sig", "kid": ""}, &set)
	if len(set.Keys) == 0 {
		t.Fatal("hydra made no key")
	}
	return set.Keys[0].Kid
}

// deleteKey removes a key from the access-token key set.
func (h *hydraServer) deleteKey(t *testing.T, kid string) {
	t.Helper()
	h.call(t, http.MethodDelete, h.admin+"/admin/keys/"+hydraAccessTokenSet+"/"+url.PathEscape(kid), nil, nil)
}

// kidOf reads the kid from a JWT's header.
func kidOf(t *testing.T, token string) string {
	t.Helper()
	header, _, _ := strings.Cut(token, ".")
	var h struct {
		Kid string `json:"kid"`
	}
	if err := json.Unmarshal(b64decode(t, header), &h); err != nil {
		t.Fatal(err)
	}
	return h.Kid
}

func b64decode(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("base64url %q: %v", s, err)
	}
	return b
}
