package e2e

// docs/openapi.yaml is the API as an OpenAPI document; these tests keep it
// and the code from drifting apart. Every answer of the conformance table
// (which every target must give byte for byte) is validated against it, as
// written in the table and as the compiled core, the interpreted core and a
// real Traefik give it, every header included; so are the answers of the
// container credentials route.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/conformance"
	"github.com/stsgate/stsgate/internal/fakests"
)

var (
	apiOnce sync.Once
	apiDoc  *openapi3.T
	apiErr  error
)

// openAPI loads and validates docs/openapi.yaml once.
func openAPI(t testing.TB) *openapi3.T {
	t.Helper()
	apiOnce.Do(func() {
		loader := openapi3.NewLoader()
		apiDoc, apiErr = loader.LoadFromFile("../docs/openapi.yaml")
		if apiErr == nil {
			apiErr = apiDoc.Validate(context.Background())
		}
	})
	if apiErr != nil {
		t.Fatalf("docs/openapi.yaml: %v", apiErr)
	}
	return apiDoc
}

// apiRoute is the document's path for a request path under the default or
// the empty prefix, "" for a path that is not the gateway's.
func apiRoute(path string) string {
	route := strings.TrimPrefix(path, core.DefaultPrefix)
	switch route {
	case "/token", "/healthz", "/credentials":
		return route
	}
	return ""
}

// checkAgainstAPI validates one answer to method route. With complete set,
// header is every header of the answer, and headers the document requires
// must be there; otherwise header holds only some of them.
func checkAgainstAPI(doc *openapi3.T, method, route string, a conformance.Answer, complete bool) error {
	item := doc.Paths.Find(route)
	if item == nil {
		return fmt.Errorf("openapi: no path %s", route)
	}
	op := item.GetOperation(method)
	if op == nil {
		return fmt.Errorf("openapi: %s %s is not documented", method, route)
	}
	ref := op.Responses.Status(a.Status)
	if ref == nil || ref.Value == nil {
		return fmt.Errorf("openapi: %s %s does not document status %d", method, route, a.Status)
	}
	resp := ref.Value
	for name, h := range resp.Headers {
		v := a.Header.Get(name)
		if v == "" {
			if complete && h.Value.Required {
				return fmt.Errorf("openapi: %s %s %d: header %s is required", method, route, a.Status, name)
			}
			continue
		}
		if err := h.Value.Schema.Value.VisitJSON(v); err != nil {
			return fmt.Errorf("openapi: %s %s %d: header %s %q: %v", method, route, a.Status, name, v, err)
		}
	}
	if method == http.MethodHead || len(resp.Content) == 0 {
		if len(a.Body) != 0 {
			return fmt.Errorf("openapi: %s %s %d: a body where none is documented", method, route, a.Status)
		}
		return nil
	}
	ct := a.Header.Get("Content-Type")
	mt := resp.Content.Get(ct)
	if mt == nil {
		return fmt.Errorf("openapi: %s %s %d: content type %q is not documented", method, route, a.Status, ct)
	}
	var v any
	if err := json.Unmarshal(a.Body, &v); err != nil {
		return fmt.Errorf("openapi: %s %s %d: body is not JSON: %v", method, route, a.Status, err)
	}
	if err := mt.Schema.Value.VisitJSON(v); err != nil {
		return fmt.Errorf("openapi: %s %s %d: body %s: %v", method, route, a.Status, strings.TrimSpace(string(a.Body)), err)
	}
	return nil
}

// openAPIChecker is the conformance runner's extra check of live answers.
func openAPIChecker(t testing.TB) func(c conformance.Case, a conformance.Answer) error {
	doc := openAPI(t)
	return func(c conformance.Case, a conformance.Answer) error {
		route := apiRoute(c.Path)
		if route == "" {
			return nil // not the gateway's: the next handler answered
		}
		return checkAgainstAPI(doc, c.Method, route, a, true)
	}
}

// TestOpenAPIDocumentsTheConformanceTable: the table's expected answers,
// which every target must give byte for byte, are what the document says.
func TestOpenAPIDocumentsTheConformanceTable(t *testing.T) {
	doc := openAPI(t)
	checked := 0
	for _, c := range conformance.Cases() {
		route := apiRoute(c.Path)
		if route == "" {
			continue
		}
		h := http.Header{}
		for k, v := range c.Headers {
			h.Set(k, v)
		}
		if err := checkAgainstAPI(doc, c.Method, route, conformance.Answer{Status: c.Status, Header: h, Body: []byte(c.Body)}, false); err != nil {
			t.Errorf("%s: %v", c.Name, err)
		}
		checked++
	}
	if checked < 20 {
		t.Fatalf("only %d rows checked", checked)
	}
}

// TestOpenAPICompiledCore: every live answer of the compiled core, every
// header included.
func TestOpenAPICompiledCore(t *testing.T) {
	env, err := conformance.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	h, err := conformance.ChainHandler(env.Mounts(), func(cfg core.Config) (func(http.Handler) http.Handler, error) {
		iss, err := core.New(cfg, core.Options{})
		if err != nil {
			return nil, err
		}
		return iss.Wrap, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	conformance.RunChecked(t, env, conformance.HandlerDoer(h), openAPIChecker(t))
}

// TestOpenAPIContainerCredentials: the credentials route's answers.
func TestOpenAPIContainerCredentials(t *testing.T) {
	doc := openAPI(t)
	env, err := conformance.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	cfg := env.Mounts()[0].Config
	cfg.ContainerCredentials = true
	cfg.RoleARN = fakests.RoleOK // admit every caller
	iss, err := core.New(cfg, core.Options{})
	if err != nil {
		t.Fatal(err)
	}
	good := conformance.Sign("RS256", env.IdP.RSA, env.IdP.Claims(time.Now(), "jane"), nil)
	expired := conformance.Sign("RS256", env.IdP.RSA, env.IdP.Claims(time.Now().Add(-2*time.Hour), "jane"), nil)
	for _, r := range []struct {
		method, auth string
		status       int
	}{
		{http.MethodGet, "Bearer " + good, http.StatusOK},
		{http.MethodGet, "", http.StatusUnauthorized},
		{http.MethodGet, "Bearer " + expired, http.StatusUnauthorized},
		{http.MethodPut, "Bearer " + good, http.StatusMethodNotAllowed},
	} {
		req := httptest.NewRequest(r.method, cfg.Prefix+"/credentials", nil)
		if r.auth != "" {
			req.Header.Set("Authorization", r.auth)
		}
		rec := httptest.NewRecorder()
		iss.ServeHTTP(rec, req)
		if rec.Code != r.status {
			t.Fatalf("%s: status %d, want %d: %s", r.method, rec.Code, r.status, rec.Body)
		}
		a := conformance.Answer{Status: rec.Code, Header: rec.Header(), Body: rec.Body.Bytes()}
		if err := checkAgainstAPI(doc, r.method, "/credentials", a, true); err != nil {
			t.Error(err)
		}
	}
}

// TestOpenAPIRefusesWhatItDoesNotDocument: the validator is not a rubber
// stamp.
func TestOpenAPIRefusesWhatItDoesNotDocument(t *testing.T) {
	doc := openAPI(t)
	token := func(exp string) []byte {
		return []byte(`{"Credentials":{"EndpointURL":"http://s3","AccessKeyId":"a","SecretAccessKey":"s","SessionToken":"t","Expiration":"` + exp + `"}}`)
	}
	jsonHeader := http.Header{"Content-Type": {"application/json"}, "Cache-Control": {"no-store"}, "Pragma": {"no-cache"}}
	problem := []byte(`{"type":"about:blank","title":"Unauthorized","status":401,"detail":"token is expired"}`)
	problemHeader := http.Header{"Content-Type": {"application/problem+json"}, "Cache-Control": {"no-store"}}
	cases := []struct {
		name, method string
		a            conformance.Answer
	}{
		{"Expiration with Z", http.MethodPut, conformance.Answer{Status: 201, Header: jsonHeader, Body: token("2030-01-02T03:04:05Z")}},
		{"milliseconds", http.MethodPut, conformance.Answer{Status: 201, Header: jsonHeader, Body: token("2030-01-02T03:04:05.123+00:00")}},
		{"an undocumented status", http.MethodPut, conformance.Answer{Status: 500, Header: problemHeader, Body: problem}},
		{"401 without a challenge", http.MethodPut, conformance.Answer{Status: 401, Header: problemHeader, Body: problem}},
		{"201 without no-store", http.MethodPut, conformance.Answer{Status: 201, Header: http.Header{"Content-Type": {"application/json"}}, Body: token("2030-01-02T03:04:05+00:00")}},
		{"an extra field", http.MethodPut, conformance.Answer{Status: 201, Header: jsonHeader, Body: []byte(`{"Credentials":{},"Extra":1}`)}},
	}
	for _, c := range cases {
		if err := checkAgainstAPI(doc, c.method, "/token", c.a, true); err == nil {
			t.Errorf("%s: validated", c.name)
		}
	}
	ok := conformance.Answer{Status: 201, Header: jsonHeader, Body: token("2030-01-02T03:04:05.123456+00:00")}
	if err := checkAgainstAPI(doc, http.MethodPut, "/token", ok, true); err != nil {
		t.Errorf("a good Token document: %v", err)
	}
}
