package conformance

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Doer sends one request to the system under test.
type Doer func(*http.Request) (*http.Response, error)

// HandlerDoer serves requests with an in-process handler.
func HandlerDoer(h http.Handler) Doer {
	return func(r *http.Request) (*http.Response, error) {
		rec := httptest.NewRecorder()
		r.RemoteAddr = "127.0.0.1:40000"
		h.ServeHTTP(rec, r)
		return rec.Result(), nil
	}
}

// URLDoer sends requests to a running gateway at base (http://host:port).
func URLDoer(base string) Doer {
	client := &http.Client{Timeout: 30 * time.Second}
	return func(r *http.Request) (*http.Response, error) {
		u := strings.TrimRight(base, "/") + r.URL.RequestURI()
		out, err := http.NewRequestWithContext(r.Context(), r.Method, u, r.Body)
		if err != nil {
			return nil, err
		}
		out.Header = r.Header
		return client.Do(out)
	}
}

// Run runs every case against do, each as a subtest.
func Run(t *testing.T, e *Env, do Doer) {
	t.Helper()
	RunChecked(t, e, do, nil)
}

// Answer is one answer as a target gave it: every header, the whole body.
type Answer struct {
	Status int
	Header http.Header
	Body   []byte
}

// RunChecked is Run with one more check of every answer (the e2e module
// validates them against docs/openapi.yaml); extra may be nil.
func RunChecked(t *testing.T, e *Env, do Doer, extra func(c Case, a Answer) error) {
	t.Helper()
	for _, c := range Cases() {
		c := c
		t.Run(c.Name, func(t *testing.T) {
			if err := check(e, do, c, extra); err != nil {
				t.Error(err)
			}
		})
	}
}

// Check sends one case and compares the answer; the error lists every
// difference.
func Check(e *Env, do Doer, c Case) error {
	return check(e, do, c, nil)
}

func check(e *Env, do Doer, c Case, extra func(c Case, a Answer) error) error {
	req := httptest.NewRequest(c.Method, c.Path, nil)
	if c.Auth != nil {
		req.Header.Set("Authorization", c.Auth(e, time.Now()))
	}
	before := len(e.STS.Calls())
	fetched := e.IdP.Fetches() + e.IdP2.Fetches()
	resp, err := do(req)
	if err != nil {
		return &Mismatch{Case: c.Name, Diffs: []string{"request failed: " + err.Error()}}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var diffs []string
	if resp.StatusCode != c.Status {
		diffs = append(diffs, fmt.Sprintf("status: got %d, want %d", resp.StatusCode, c.Status))
	}
	if string(body) != c.Body {
		diffs = append(diffs, fmt.Sprintf("body:\n  got  %q\n  want %q", body, c.Body))
	}
	for name, want := range c.Headers {
		if got := resp.Header.Get(name); got != want {
			diffs = append(diffs, fmt.Sprintf("header %s: got %q, want %q", name, got, want))
		}
	}
	if c.NoKeyFetch {
		if n := e.IdP.Fetches() + e.IdP2.Fetches() - fetched; n != 0 {
			diffs = append(diffs, fmt.Sprintf("%d key fetches; want none", n))
		}
	}
	calls := e.STS.Calls()
	if c.SessionName != "" || c.WebIdentity {
		if len(calls) == before {
			diffs = append(diffs, "the STS was not called")
		} else {
			last := calls[len(calls)-1]
			if c.SessionName != "" && last.RoleSessionName != c.SessionName {
				diffs = append(diffs, fmt.Sprintf("RoleSessionName: got %q, want %q", last.RoleSessionName, c.SessionName))
			}
			if c.WebIdentity && (last.Action != "AssumeRoleWithWebIdentity" || !last.HasWebIdentityToken || last.AccessKeyID != "") {
				diffs = append(diffs, fmt.Sprintf("want an unsigned AssumeRoleWithWebIdentity with the token, got %+v", last))
			}
			if !c.WebIdentity && last.AccessKeyID != GatewayAccessKey {
				diffs = append(diffs, fmt.Sprintf("AssumeRole signed with %q, want %q", last.AccessKeyID, GatewayAccessKey))
			}
		}
	}
	if extra != nil {
		if err := extra(c, Answer{Status: resp.StatusCode, Header: resp.Header, Body: body}); err != nil {
			diffs = append(diffs, err.Error())
		}
	}
	if len(diffs) > 0 {
		return &Mismatch{Case: c.Name, Diffs: diffs}
	}
	return nil
}

// Mismatch lists how an answer differs from the contract.
type Mismatch struct {
	Case  string
	Diffs []string
}

func (m *Mismatch) Error() string {
	return m.Case + ":\n  " + strings.Join(m.Diffs, "\n  ")
}
