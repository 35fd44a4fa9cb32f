package core

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stsgate/stsgate/internal/fakests"
)

const (
	fakeAccessKey = "AKIDFAKEGATEWAY"
	fakeSecretKey = "fake-gateway-secret-key-value"
	fakeWebToken  = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.ZmFrZS1zaWduYXR1cmU"
	fakePolicy    = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::alice/*"}]}`
)

// fakeSTSCall is what the fake saw of one request, its signature checked.
type fakeSTSCall struct {
	form      url.Values
	header    http.Header
	sigError  string // "" when the signature verified (or there was none)
	unsigned  bool
	userAgent string
}

// newFakeSTS starts the tests' one fake STS (internal/fakests) answering
// the n-th call (from 0) with answer, stopped when the test ends.
func newFakeSTS(t *testing.T, answer fakests.Answer) *fakests.STS {
	t.Helper()
	f, err := fakests.Start(answer)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(f.Close)
	return f
}

// seen is what f was asked, each signature verified with the gateway's
// secret.
func seen(f *fakests.STS) []fakeSTSCall {
	var out []fakeSTSCall
	for _, c := range f.Calls() {
		r := c.Request
		call := fakeSTSCall{form: c.Form, header: r.Header, userAgent: r.UserAgent()}
		if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-www-form-urlencoded; charset=utf-8" {
			call.sigError = "method " + r.Method + ", content type " + r.Header.Get("Content-Type")
		} else if r.Header.Get("Authorization") == "" {
			call.unsigned = true
		} else {
			call.sigError = verifySigV4ForTest(r, c.Body, fakeSecretKey)
		}
		out = append(out, call)
	}
	return out
}

func answerXML(status int, body string) func(int, http.ResponseWriter, *http.Request) {
	return func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/xml")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// fixedKeys is a CredentialSource with fixed keys, or a fixed error.
type fixedKeys struct {
	keys AccessKeys
	err  error
}

func (k fixedKeys) AccessKeys(context.Context) (AccessKeys, error) { return k.keys, k.err }

var gatewayKeys = fixedKeys{keys: AccessKeys{AccessKeyID: fakeAccessKey, SecretAccessKey: fakeSecretKey}}

// newTestSTSClient builds a client for endpoint with quick retries and a
// fixed signing clock.
func newTestSTSClient(t *testing.T, endpoint string, timeout time.Duration, retries int, creds CredentialSource) *STSClient {
	t.Helper()
	c, err := NewSTSClient(Config{STS: STSConfig{Endpoint: endpoint, Region: "us-east-1", Timeout: timeout, Retries: retries}}, creds)
	if err != nil {
		t.Fatal(err)
	}
	c.retryBase = time.Millisecond
	c.now = func() time.Time { return time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC) }
	return c
}

var roleInput = AssumeRoleInput{
	RoleARN:     "arn:aws:iam::123456789012:role/s3-users",
	SessionName: "alice",
	Policy:      fakePolicy,
	Duration:    time.Hour,
}

// checkNoSecrets fails when an error shows a secret, the token or the policy.
func checkNoSecrets(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	msg := err.Error()
	for _, s := range []string{fakeSecretKey, fakeWebToken, fakePolicy, "Action="} {
		if strings.Contains(msg, s) {
			t.Errorf("error shows %q: %s", s, msg)
		}
	}
}

func TestSTSClientAssumeRole(t *testing.T) {
	cases := []struct {
		name      string
		keys      AccessKeys
		in        AssumeRoleInput
		wantForm  url.Values
		wantToken string
	}{
		{
			name: "with policy",
			keys: gatewayKeys.keys,
			in:   roleInput,
			wantForm: url.Values{
				"Action": {"AssumeRole"}, "Version": {"2011-06-15"},
				"RoleArn": {roleInput.RoleARN}, "RoleSessionName": {"alice"},
				"DurationSeconds": {"3600"}, "Policy": {fakePolicy},
			},
		},
		{
			name: "temporary gateway keys, no policy",
			keys: AccessKeys{AccessKeyID: fakeAccessKey, SecretAccessKey: fakeSecretKey, SessionToken: "gateway-session-token"},
			in:   AssumeRoleInput{RoleARN: "arn:aws:iam:::role/x", SessionName: "bob@example.com", Duration: 15 * time.Minute},
			wantForm: url.Values{
				"Action": {"AssumeRole"}, "Version": {"2011-06-15"},
				"RoleArn": {"arn:aws:iam:::role/x"}, "RoleSessionName": {"bob@example.com"},
				"DurationSeconds": {"900"},
			},
			wantToken: "gateway-session-token",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFakeSTS(t, answerXML(200, awsAssumeRoleXML))
			c := newTestSTSClient(t, fake.URL, 5*time.Second, 2, fixedKeys{keys: tc.keys})
			got, err := c.AssumeRole(context.Background(), tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got.AccessKeyID != "ASIAIOSFODNN7EXAMPLE" || got.SessionToken == "" ||
				!got.Expiration.Equal(time.Date(2019, 11, 9, 13, 34, 41, 0, time.UTC)) {
				t.Errorf("credentials %+v", got)
			}
			calls := seen(fake)
			if len(calls) != 1 {
				t.Fatalf("%d calls", len(calls))
			}
			call := calls[0]
			if call.unsigned || call.sigError != "" {
				t.Errorf("signature: unsigned=%v, %s", call.unsigned, call.sigError)
			}
			if fmt.Sprint(call.form) != fmt.Sprint(tc.wantForm) {
				t.Errorf("form\n got: %v\nwant: %v", call.form, tc.wantForm)
			}
			if got := call.header.Get("X-Amz-Security-Token"); got != tc.wantToken {
				t.Errorf("X-Amz-Security-Token = %q, want %q", got, tc.wantToken)
			}
			if auth := call.header.Get("Authorization"); !strings.Contains(auth, "Credential="+fakeAccessKey+"/20240501/us-east-1/sts/aws4_request") {
				t.Errorf("Authorization = %s", auth)
			}
			if call.userAgent != stsUserAgent {
				t.Errorf("User-Agent = %q", call.userAgent)
			}
		})
	}
}

func TestSTSClientWebIdentity(t *testing.T) {
	cases := []struct {
		name     string
		in       WebIdentityInput
		wantForm url.Values
	}{
		{
			name: "with role",
			in:   WebIdentityInput{RoleARN: "arn:aws:iam::123456789012:role/web", SessionName: "alice", Duration: time.Hour, Token: fakeWebToken, Policy: fakePolicy},
			wantForm: url.Values{
				"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"},
				"RoleArn": {"arn:aws:iam::123456789012:role/web"}, "RoleSessionName": {"alice"},
				"DurationSeconds": {"3600"}, "Policy": {fakePolicy}, "WebIdentityToken": {fakeWebToken},
			},
		},
		{
			name: "minio without role",
			in:   WebIdentityInput{SessionName: "alice", Duration: 2 * time.Hour, Token: fakeWebToken},
			wantForm: url.Values{
				"Action": {"AssumeRoleWithWebIdentity"}, "Version": {"2011-06-15"},
				"RoleSessionName": {"alice"}, "DurationSeconds": {"7200"}, "WebIdentityToken": {fakeWebToken},
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFakeSTS(t, answerXML(200, minioWebIdentityXML))
			// No gateway keys: web identity is unsigned.
			c := newTestSTSClient(t, fake.URL, 5*time.Second, 2, nil)
			got, err := c.AssumeRoleWithWebIdentity(context.Background(), tc.in)
			if err != nil {
				t.Fatal(err)
			}
			if got.AccessKeyID != "Y4RJU1RNFGK48LGO9I2S" {
				t.Errorf("credentials %+v", got)
			}
			calls := seen(fake)
			if len(calls) != 1 || !calls[0].unsigned || calls[0].sigError != "" {
				t.Fatalf("calls %+v", calls)
			}
			if fmt.Sprint(calls[0].form) != fmt.Sprint(tc.wantForm) {
				t.Errorf("form\n got: %v\nwant: %v", calls[0].form, tc.wantForm)
			}
		})
	}
}

// closedAddress is an address where nothing listens any more.
func closedAddress(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestSTSClientFailures(t *testing.T) {
	internalError := `<ErrorResponse><Error><Type>Receiver</Type><Code>InternalError</Code><Message>try again later</Message></Error></ErrorResponse>`
	// echo repeats the request's values in its message, as a careless STS might.
	echo := func(_ int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(403)
		fmt.Fprintf(w, "<ErrorResponse><Error><Code>AccessDenied</Code><Message>no for %s with %s</Message></Error></ErrorResponse>",
			fakeWebToken, strings.Replace(fakePolicy, "\"", "&quot;", -1))
	}
	cases := []struct {
		name       string
		answer     func(int, http.ResponseWriter, *http.Request) // nil: nothing listens
		retries    int
		timeout    time.Duration
		web        bool
		wantKind   Kind
		wantDetail string
		wantCalls  int // -1: not checked
	}{
		{
			name: "success after a 500", retries: 2,
			answer: func(n int, w http.ResponseWriter, r *http.Request) {
				if n == 0 {
					answerXML(500, internalError)(n, w, r)
					return
				}
				answerXML(200, awsAssumeRoleXML)(n, w, r)
			},
			wantCalls: 2,
		},
		{
			name: "success after a dropped connection", retries: 1,
			answer: func(n int, w http.ResponseWriter, r *http.Request) {
				if n == 0 {
					conn, _, err := w.(http.Hijacker).Hijack()
					if err == nil {
						conn.Close()
					}
					return
				}
				answerXML(200, awsAssumeRoleXML)(n, w, r)
			},
			wantCalls: 2,
		},
		{
			name: "500 always", retries: 2, answer: answerXML(500, internalError),
			wantKind: KindSTSRejected, wantDetail: "STS refused the request: InternalError: try again later", wantCalls: 3,
		},
		{
			name: "503 garbage always", retries: 1, answer: answerXML(503, "<html>maintenance"),
			wantKind: KindSTSBadAnswer, wantCalls: 2,
		},
		{
			name: "500 and no retries", retries: -1, answer: answerXML(500, internalError),
			wantKind: KindSTSRejected, wantCalls: 1,
		},
		{
			name: "access denied is not retried", retries: 2, answer: answerXML(403, awsAccessDeniedXML),
			wantKind:   KindSTSRejected,
			wantDetail: "STS refused the request: AccessDenied: User: arn:aws:iam::123456789012:user/gateway is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::123456789012:role/s3-users",
			wantCalls:  1,
		},
		{
			name: "echoed token and policy are redacted", retries: 2, web: true, answer: echo,
			wantKind: KindSTSRejected, wantDetail: "STS refused the request: AccessDenied: no for [redacted] with [redacted]", wantCalls: 1,
		},
		{
			name: "malformed XML", retries: 2, answer: answerXML(200, "<AssumeRoleResponse><AssumeRoleResult><Credentials>"),
			wantKind: KindSTSBadAnswer, wantCalls: 1,
		},
		{
			name: "4xx without a document", retries: 2, answer: answerXML(404, "404 page not found"),
			wantKind: KindSTSBadAnswer, wantCalls: 1,
		},
		{
			name: "redirect is not followed", retries: 2,
			answer: func(_ int, w http.ResponseWriter, r *http.Request) {
				http.Redirect(w, r, "http://elsewhere.invalid/", http.StatusTemporaryRedirect)
			},
			wantKind: KindSTSBadAnswer, wantCalls: 1,
		},
		{
			name: "refused connection", retries: 2,
			wantKind: KindSTSBadAnswer, wantDetail: "STS is unreachable", wantCalls: -1,
		},
		{
			name: "hang past the timeout", retries: 2, timeout: 150 * time.Millisecond,
			answer: func(_ int, _ http.ResponseWriter, r *http.Request) {
				<-r.Context().Done()
			},
			wantKind: KindSTSTimeout, wantDetail: "STS did not answer within 150ms", wantCalls: 1,
		},
		{
			name: "500 then hang", retries: 2, timeout: 150 * time.Millisecond,
			answer: func(n int, w http.ResponseWriter, r *http.Request) {
				if n == 0 {
					answerXML(500, internalError)(n, w, r)
					return
				}
				<-r.Context().Done()
			},
			wantKind: KindSTSTimeout, wantDetail: "STS did not answer within 150ms", wantCalls: 2,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			endpoint := ""
			var fake *fakests.STS
			if tc.answer != nil {
				fake = newFakeSTS(t, tc.answer)
				endpoint = fake.URL
			} else {
				endpoint = closedAddress(t)
			}
			timeout := tc.timeout
			if timeout == 0 {
				timeout = 5 * time.Second
			}
			c := newTestSTSClient(t, endpoint, timeout, tc.retries, gatewayKeys)
			start := time.Now()
			var err error
			if tc.web {
				_, err = c.AssumeRoleWithWebIdentity(context.Background(), WebIdentityInput{
					SessionName: "alice", Duration: time.Hour, Token: fakeWebToken, Policy: fakePolicy,
				})
			} else {
				_, err = c.AssumeRole(context.Background(), roleInput)
			}
			elapsed := time.Since(start)
			checkNoSecrets(t, err)
			if tc.wantKind == 0 {
				if err != nil {
					t.Fatalf("error: %v", err)
				}
			} else {
				e, ok := err.(*Error)
				if !ok {
					t.Fatalf("error %T is not *Error: %v", err, err)
				}
				if e.Kind != tc.wantKind {
					t.Errorf("kind %s, want %s: %v", e.Kind.Outcome(), tc.wantKind.Outcome(), e)
				}
				if tc.wantDetail != "" && e.Detail != tc.wantDetail {
					t.Errorf("detail\n got: %q\nwant: %q", e.Detail, tc.wantDetail)
				}
			}
			if fake != nil && tc.wantCalls >= 0 {
				calls := seen(fake)
				if len(calls) != tc.wantCalls {
					t.Errorf("%d calls, want %d", len(calls), tc.wantCalls)
				}
				for i, call := range calls {
					if call.sigError != "" {
						t.Errorf("call %d: %s", i, call.sigError)
					}
				}
			}
			if elapsed > timeout+2*time.Second {
				t.Errorf("took %s with a %s timeout", elapsed, timeout)
			}
		})
	}
}

func TestSTSClientCallerGoesAway(t *testing.T) {
	started := make(chan struct{}, 1)
	fake := newFakeSTS(t, func(_ int, _ http.ResponseWriter, r *http.Request) {
		started <- struct{}{}
		<-r.Context().Done()
	})
	c := newTestSTSClient(t, fake.URL, 5*time.Second, 2, gatewayKeys)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-started
		cancel()
	}()
	_, err := c.AssumeRole(ctx, roleInput)
	e, ok := err.(*Error)
	if !ok || e.Kind != KindSTSBadAnswer {
		t.Fatalf("got %v", err)
	}
	if n := len(seen(fake)); n != 1 {
		t.Errorf("%d calls after the caller went away", n)
	}
}

func TestSTSClientGatewayCredentials(t *testing.T) {
	unavailable := GatewayCredentialsUnavailable(fmt.Errorf("secret_key_file: open /run/secrets/sk: no such file or directory"))
	cases := []struct {
		name  string
		creds CredentialSource
		same  error // the very error expected back, when set
	}{
		{name: "no source", creds: nil},
		{name: "source error passed through", creds: fixedKeys{err: unavailable}, same: unavailable},
		{name: "plain source error", creds: fixedKeys{err: fmt.Errorf("vault sealed")}},
		{name: "empty keys", creds: fixedKeys{keys: AccessKeys{AccessKeyID: "AK"}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			fake := newFakeSTS(t, answerXML(200, awsAssumeRoleXML))
			c := newTestSTSClient(t, fake.URL, 5*time.Second, 2, tc.creds)
			_, err := c.AssumeRole(context.Background(), roleInput)
			e, ok := err.(*Error)
			if !ok || e.Kind != KindGatewayCredentials || e.Detail != "gateway credentials are unavailable" {
				t.Fatalf("got %#v", err)
			}
			if tc.same != nil && err != tc.same {
				t.Errorf("got %v, want the source's own error", err)
			}
			if n := len(seen(fake)); n != 0 {
				t.Errorf("STS called %d times", n)
			}
		})
	}
}

func TestNewSTSClientConfig(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name       string
		cfg        STSConfig
		wantOption string
	}{
		{"missing ca file", STSConfig{CAFile: filepath.Join(dir, "absent.pem")}, "ca_file"},
		{"garbage ca file", STSConfig{CAFile: garbage}, "ca_file"},
	}
	for _, tc := range cases {
		_, err := NewSTSClient(Config{STS: tc.cfg}, nil)
		ce, ok := err.(*ConfigError)
		if !ok || ce.Option != tc.wantOption {
			t.Errorf("%s: got %v, want a %s ConfigError", tc.name, err, tc.wantOption)
		}
	}

	c, err := NewSTSClient(Config{}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c.endpoint != "https://sts.us-east-1.amazonaws.com" || c.signing.region != DefaultRegion || c.timeout != DefaultSTSTimeout || c.retries != 0 {
		t.Errorf("defaults: %s %s %s %d", c.endpoint, c.signing.region, c.timeout, c.retries)
	}
	tr := c.client.Transport.(*http.Transport)
	if tr.MaxIdleConnsPerHost < 16 || tr.TLSClientConfig.InsecureSkipVerify {
		t.Errorf("transport: %d idle per host, insecure %v", tr.MaxIdleConnsPerHost, tr.TLSClientConfig.InsecureSkipVerify)
	}
}

func TestSTSClientTLS(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, minioWebIdentityXML)
	}))
	t.Cleanup(srv.Close)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(caFile, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name     string
		cfg      STSConfig
		wantKind Kind
	}{
		{"unknown authority", STSConfig{}, KindSTSBadAnswer},
		{"ca file", STSConfig{CAFile: caFile}, 0},
		{"insecure", STSConfig{InsecureSkipVerify: true}, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := tc.cfg
			cfg.Endpoint = srv.URL
			cfg.Timeout = 5 * time.Second
			c, err := NewSTSClient(Config{STS: cfg}, nil)
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.AssumeRoleWithWebIdentity(context.Background(), WebIdentityInput{SessionName: "a", Token: fakeWebToken})
			if tc.wantKind == 0 {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if e, ok := err.(*Error); !ok || e.Kind != tc.wantKind {
				t.Fatalf("got %v", err)
			}
		})
	}
}

func TestSTSClientBackoff(t *testing.T) {
	c := &STSClient{retryBase: 100 * time.Millisecond}
	cases := []struct {
		attempt  int
		min, max time.Duration
	}{
		{0, 50 * time.Millisecond, 100 * time.Millisecond},
		{1, 100 * time.Millisecond, 200 * time.Millisecond},
		{3, 400 * time.Millisecond, 800 * time.Millisecond},
		{10, 500 * time.Millisecond, time.Second},
	}
	for _, tc := range cases {
		for i := 0; i < 50; i++ {
			if d := c.backoff(tc.attempt); d < tc.min || d > tc.max {
				t.Fatalf("backoff(%d) = %s, want %s..%s", tc.attempt, d, tc.min, tc.max)
			}
		}
	}
}

// TestDurationHint: RGW's reasonless InvalidArgument for a duration over an
// hour names the likely cause; anything else is left as it is.
func TestDurationHint(t *testing.T) {
	bare := rejectedBySTS("InvalidArgument", "", nil)
	cases := []struct {
		name string
		err  error
		d    time.Duration
		hint bool
	}{
		{"RGW over an hour", bare, 2 * time.Hour, true},
		{"RGW at an hour", bare, time.Hour, false},
		{"a reason given", rejectedBySTS("InvalidArgument", "bad policy", nil), 2 * time.Hour, false},
		{"another code", rejectedBySTS("AccessDenied", "", nil), 2 * time.Hour, false},
		{"a timeout", stsTimedOut(time.Second, nil), 2 * time.Hour, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := withDurationHint(tc.err, tc.d)
			has := strings.Contains(got.Error(), "MaxSessionDuration")
			if has != tc.hint {
				t.Errorf("withDurationHint(%v, %s) = %v", tc.err, tc.d, got)
			}
			if tc.hint && (got.(*Error).Kind != KindSTSRejected || !strings.Contains(got.Error(), "2h0m0s")) {
				t.Errorf("hint lost the kind or the duration: %v", got)
			}
		})
	}
}
