package core

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// TestContainerCredentialsRoute: GET {prefix}/credentials answers the
// container credentials shape when container_credentials is on, refuses
// as PUT /token does, and is not ours when the option is off.
func TestContainerCredentialsRoute(t *testing.T) {
	keys := newTestKeys(t)
	cfg := testConfig()
	cfg.ContainerCredentials = true
	sts := &stubSTS{}
	iss := newTestIssuer(t, cfg, keys, sts, nil)
	tok := keys.sign(t, "RS256", testClaims(time.Now(), "jane"))
	get := func(h http.Handler, method, path, auth string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(method, path, nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}

	rec := get(iss, http.MethodGet, "/apis/sts/credentials", "Bearer "+tok)
	if rec.Code != http.StatusOK || rec.Header().Get("Cache-Control") != "no-store" || rec.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("GET credentials: %d %v %s", rec.Code, rec.Header(), rec.Body)
	}
	var doc map[string]string
	if err := json.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc) != 4 || doc["AccessKeyId"] == "" || doc["SecretAccessKey"] == "" || doc["Token"] == "" {
		t.Fatalf("document %v", doc)
	}
	if _, err := time.Parse(time.RFC3339, doc["Expiration"]); err != nil {
		t.Errorf("Expiration %q is not RFC 3339: %v", doc["Expiration"], err)
	}
	if sts.last.SessionName != "jane" || sts.last.RoleARN != cfg.RoleARN {
		t.Errorf("STS got %+v", sts.last)
	}

	refusals := []struct {
		name, method, auth string
		status             int
		header, value      string
	}{
		{"PUT", http.MethodPut, "Bearer " + tok, http.StatusMethodNotAllowed, "Allow", "GET"},
		{"no token", http.MethodGet, "", http.StatusUnauthorized, "WWW-Authenticate", `Bearer realm="sts"`},
		{"bad token", http.MethodGet, "Bearer not-a-jwt", http.StatusUnauthorized, "WWW-Authenticate", `Bearer realm="sts", error="invalid_token"`},
	}
	for _, r := range refusals {
		rec := get(iss, r.method, "/apis/sts/credentials", r.auth)
		if rec.Code != r.status || rec.Header().Get(r.header) != r.value ||
			rec.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: %d %v %s", r.name, rec.Code, rec.Header(), rec.Body)
		}
	}

	// Off (the default): the path is the next handler's.
	off := newTestIssuer(t, testConfig(), keys, &stubSTS{}, nil)
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	if rec := get(off.Wrap(next), http.MethodGet, "/apis/sts/credentials", "Bearer "+tok); rec.Code != http.StatusTeapot {
		t.Errorf("off: %d %s", rec.Code, rec.Body)
	}
	if rec := get(iss.Wrap(next), http.MethodGet, "/apis/sts/credentials/", "Bearer "+tok); rec.Code != http.StatusTeapot {
		t.Errorf("trailing slash: %d %s", rec.Code, strings.TrimSpace(rec.Body.String()))
	}
}
