package caddymodule

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/middleware"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/conformance"
)

const (
	testAccessKey = "AKIDGATEWAYTEST00001"
	testSecretKey = "gateway/test/secret/key"
)

// answerServer answers every STS call with fn and counts the calls.
type answerServer struct {
	*httptest.Server
	calls atomic.Int64
	mu    sync.Mutex
	last  *http.Request
	form  map[string]string
}

func newAnswerServer(t *testing.T, fn http.HandlerFunc) *answerServer {
	t.Helper()
	s := &answerServer{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.calls.Add(1)
		_ = r.ParseForm()
		s.mu.Lock()
		s.last = r
		s.form = map[string]string{}
		for k := range r.PostForm {
			s.form[k] = r.PostForm.Get(k)
		}
		s.mu.Unlock()
		fn(w, r)
	}))
	t.Cleanup(s.Close)
	return s
}

func reply(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func errorResponse(code, message string) string {
	var b strings.Builder
	b.WriteString(`<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>`)
	if code != "" {
		b.WriteString("<Code>" + code + "</Code>")
	}
	if message != "" {
		b.WriteString("<Message>" + message + "</Message>")
	}
	b.WriteString(`</Error><RequestId>req-1</RequestId></ErrorResponse>`)
	return b.String()
}

func successResponse(action string) string {
	return fmt.Sprintf(`<%[1]sResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <%[1]sResult>
    <Credentials>
      <AccessKeyId>ASIATEST</AccessKeyId>
      <SecretAccessKey>secret/test</SecretAccessKey>
      <SessionToken>
        token-part-1
        token-part-2
      </SessionToken>
      <Expiration>2030-01-02T03:04:05.123456Z</Expiration>
    </Credentials>
  </%[1]sResult>
</%[1]sResponse>`, action)
}

// clients builds the core's standard-library client and this module's SDK
// client for the same STS settings.
func clients(t *testing.T, cfg core.Config) (coreClient, sdkClient core.STS) {
	t.Helper()
	var creds core.CredentialSource
	if cfg.Mode == core.ModeAssumeRole {
		var err error
		if creds, err = core.NewCredentialSource(cfg.Credentials); err != nil {
			t.Fatal(err)
		}
	}
	cc, err := core.NewSTSClient(cfg.STS, creds)
	if err != nil {
		t.Fatal(err)
	}
	sc, err := newSTSClient(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(sc.close)
	return cc, sc
}

func testConfig(endpoint string) core.Config {
	cfg := core.DefaultConfig()
	cfg.EndpointURL = "http://s3.test:9000"
	cfg.RoleARN = "arn:aws:iam:::role/ok"
	cfg.STS.Endpoint = endpoint
	cfg.STS.Timeout = 3 * time.Second
	cfg.STS.Retries = 1
	cfg.Credentials = core.CredentialsConfig{AccessKey: testAccessKey, SecretKey: testSecretKey}
	cfg.JWT.Issuer = "https://idp.test"
	return cfg
}

type outcome struct {
	creds  core.Credentials
	kind   core.Kind
	detail string
	calls  int64
}

func (o outcome) String() string {
	if o.kind == 0 {
		return fmt.Sprintf("credentials %+v after %d call(s)", o.creds, o.calls)
	}
	return fmt.Sprintf("%s %q after %d call(s)", o.kind.Outcome(), o.detail, o.calls)
}

func call(t *testing.T, client core.STS, srv *answerServer, mode string, token string) outcome {
	t.Helper()
	before := srv.calls.Load()
	var c core.Credentials
	var err error
	if mode == core.ModeWebIdentity {
		c, err = client.AssumeRoleWithWebIdentity(context.Background(), core.WebIdentityInput{
			RoleARN: "arn:aws:iam:::role/ok", SessionName: "jane", Duration: time.Hour, Token: token,
		})
	} else {
		c, err = client.AssumeRole(context.Background(), core.AssumeRoleInput{
			RoleARN: "arn:aws:iam:::role/ok", SessionName: "jane", Duration: time.Hour,
			Policy: `{"Version":"2012-10-17"}`,
		})
	}
	o := outcome{creds: c, calls: srv.calls.Load() - before}
	if err != nil {
		var e *core.Error
		if !errors.As(err, &e) {
			t.Fatalf("error is not a *core.Error: %T %v", err, err)
		}
		o.kind, o.detail = e.Kind, e.Detail
	}
	return o
}

// TestSTSClientMatchesCore sends the same STS answers to the core's client
// and to the SDK client: both must come back with the same credentials, or
// the same Kind and Detail (the problem document the caller gets), after
// the same number of calls.
func TestSTSClientMatchesCore(t *testing.T) {
	const token = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJqYW5lIn0.c2lnbmF0dXJlLXRoYXQtaXMtbG9uZw"
	long := strings.Repeat("é", 150) // 300 bytes: cut on a character boundary
	cases := []struct {
		name   string
		mode   string
		answer http.HandlerFunc
		want   core.Kind
	}{
		{"success", core.ModeAssumeRole, reply(200, "text/xml", successResponse("AssumeRole")), 0},
		{"web identity success", core.ModeWebIdentity, reply(200, "text/xml", successResponse("AssumeRoleWithWebIdentity")), 0},
		{"AccessDenied", core.ModeAssumeRole, reply(403, "text/xml", errorResponse("AccessDenied", "Not authorized to perform sts:AssumeRole")), core.KindSTSRejected},
		{"500 is retried", core.ModeAssumeRole, reply(500, "text/xml", errorResponse("InternalError", "try later")), core.KindSTSRejected},
		{"503 with HTML is retried", core.ModeAssumeRole, reply(503, "text/html", "<html><body>503 Service Unavailable</body></html>"), core.KindSTSBadAnswer},
		{"code without message", core.ModeAssumeRole, reply(400, "text/xml", errorResponse("ValidationError", "")), core.KindSTSRejected},
		{"message without code", core.ModeAssumeRole, reply(400, "text/xml", errorResponse("", "something is wrong")), core.KindSTSRejected},
		{"bare Error document", core.ModeAssumeRole, reply(403, "application/xml", `<?xml version="1.0"?><Error><Code>AccessDenied</Code><Message>RGW says no</Message><RequestId>tx1</RequestId></Error>`), core.KindSTSRejected},
		{"typed SDK error", core.ModeAssumeRole, reply(400, "text/xml", errorResponse("MalformedPolicyDocument", "policy is bad")), core.KindSTSRejected},
		{"control characters and long message", core.ModeAssumeRole, reply(400, "text/xml", errorResponse("Bad\tCode", "line1\nline2 "+long)), core.KindSTSRejected},
		{"token echoed in message is redacted", core.ModeWebIdentity, reply(400, "text/xml", errorResponse("InvalidIdentityToken", "bad token "+token)), core.KindSTSRejected},
		{"error document with status 200", core.ModeAssumeRole, reply(200, "text/xml", errorResponse("AccessDenied", "denied with 200")), core.KindSTSRejected},
		{"HTML 200", core.ModeAssumeRole, reply(200, "text/html", "<html><body>502 proxy error</body></html>"), core.KindSTSBadAnswer},
		{"not XML 200", core.ModeAssumeRole, reply(200, "text/plain", "hello"), core.KindSTSBadAnswer},
		{"empty 200", core.ModeAssumeRole, reply(200, "text/xml", ""), core.KindSTSBadAnswer},
		{"empty 403", core.ModeAssumeRole, reply(403, "", ""), core.KindSTSBadAnswer},
		{"not XML 400", core.ModeAssumeRole, reply(400, "text/plain", "oops"), core.KindSTSBadAnswer},
		{"credentials with a failure status", core.ModeAssumeRole, reply(400, "text/xml", successResponse("AssumeRole")), core.KindSTSBadAnswer},
		{"success without session token", core.ModeAssumeRole, reply(200, "text/xml",
			`<AssumeRoleResponse><AssumeRoleResult><Credentials><AccessKeyId>A</AccessKeyId><SecretAccessKey>S</SecretAccessKey><Expiration>2030-01-02T03:04:05Z</Expiration></Credentials></AssumeRoleResult></AssumeRoleResponse>`), core.KindSTSBadAnswer},
		{"expiration without a zone", core.ModeAssumeRole, reply(200, "text/xml", strings.Replace(successResponse("AssumeRole"), ".123456Z", ".123456", 1)), 0},
		{"expiration without a fraction (MinIO)", core.ModeAssumeRole, reply(200, "text/xml", strings.Replace(successResponse("AssumeRole"), ".123456Z", "Z", 1)), 0},
		{"redirect", core.ModeAssumeRole, func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "http://127.0.0.1:1/elsewhere", http.StatusFound)
		}, core.KindSTSBadAnswer},
		{"answer over 1 MiB", core.ModeAssumeRole, reply(400, "text/xml", "<ErrorResponse><Error><Code>Big</Code><Message>"+strings.Repeat("x", 1<<20)+"</Message></Error></ErrorResponse>"), core.KindSTSBadAnswer},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			srv := newAnswerServer(t, tc.answer)
			cfg := testConfig(srv.URL)
			if tc.mode == core.ModeWebIdentity {
				cfg.Mode = core.ModeWebIdentity
				cfg.Credentials = core.CredentialsConfig{}
			}
			coreClient, sdkClient := clients(t, cfg)
			want := call(t, coreClient, srv, tc.mode, token)
			got := call(t, sdkClient, srv, tc.mode, token)
			if want.kind != tc.want {
				t.Fatalf("the core's client gave %s, the test expects kind %s", want, tc.want.Outcome())
			}
			if got.kind != want.kind || got.detail != want.detail || got.creds != want.creds || got.calls != want.calls {
				t.Errorf("SDK client: %s\n        core client: %s", got, want)
			}
			if strings.Contains(got.detail, token) {
				t.Errorf("detail holds the caller's token: %q", got.detail)
			}
		})
	}
}

// TestSTSClientAgainstConformanceSTS runs the SDK client against the
// conformance fake STS, whose requests it inspects.
func TestSTSClientAgainstConformanceSTS(t *testing.T) {
	fake, err := conformance.NewFakeSTS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)

	t.Run("AssumeRole is signed with the gateway key", func(t *testing.T) {
		_, client := clients(t, testConfig(fake.URL))
		c, err := client.AssumeRole(context.Background(), core.AssumeRoleInput{
			RoleARN: conformance.RoleOK, SessionName: "jane.doe", Duration: 2 * time.Hour, Policy: `{"Version":"2012-10-17"}`,
		})
		if err != nil {
			t.Fatal(err)
		}
		if c.AccessKeyID != conformance.FakeAccessKeyID || !c.Expiration.Equal(conformance.FakeExpiration) {
			t.Errorf("credentials %+v", c)
		}
		last := lastCall(t, fake)
		if last.Action != "AssumeRole" || last.AccessKeyID != testAccessKey || last.RoleARN != conformance.RoleOK ||
			last.RoleSessionName != "jane.doe" || last.DurationSeconds != "7200" || last.Policy != `{"Version":"2012-10-17"}` {
			t.Errorf("STS saw %+v", last)
		}
	})

	t.Run("web identity without a role ARN", func(t *testing.T) {
		cfg := testConfig(fake.URL)
		cfg.Mode, cfg.Credentials = core.ModeWebIdentity, core.CredentialsConfig{}
		_, client := clients(t, cfg)
		if _, err := client.AssumeRoleWithWebIdentity(context.Background(), core.WebIdentityInput{
			SessionName: "jane.doe", Duration: time.Hour, Token: "header.payload.signature",
		}); err != nil {
			t.Fatal(err)
		}
		last := lastCall(t, fake)
		if last.Action != "AssumeRoleWithWebIdentity" || last.RoleARN != "" || !last.HasWebIdentityToken || last.AccessKeyID != "" {
			t.Errorf("want an unsigned AssumeRoleWithWebIdentity without RoleArn, STS saw %+v", last)
		}
	})

	t.Run("hang is a timeout", func(t *testing.T) {
		cfg := testConfig(fake.URL)
		cfg.STS.Timeout = 300 * time.Millisecond
		coreClient, client := clients(t, cfg)
		for _, c := range []core.STS{coreClient, client} {
			_, err := c.AssumeRole(context.Background(), core.AssumeRoleInput{RoleARN: conformance.RoleHang, SessionName: "jane", Duration: time.Hour})
			assertKind(t, err, core.KindSTSTimeout, "STS did not answer within 300ms")
		}
	})

	t.Run("caller gone is a bad answer", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		time.AfterFunc(100*time.Millisecond, cancel)
		_, client := clients(t, testConfig(fake.URL))
		_, err := client.AssumeRole(ctx, core.AssumeRoleInput{RoleARN: conformance.RoleHang, SessionName: "jane", Duration: time.Hour})
		assertKind(t, err, core.KindSTSBadAnswer, "STS answered with something that is not an STS answer")
	})
}

// TestSTSClientUnreachable: nothing listens on the STS port.
func TestSTSClientUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	coreClient, client := clients(t, testConfig(url))
	for _, c := range []core.STS{coreClient, client} {
		_, err := c.AssumeRole(context.Background(), core.AssumeRoleInput{RoleARN: "arn:aws:iam:::role/ok", SessionName: "jane", Duration: time.Hour})
		assertKind(t, err, core.KindSTSBadAnswer, "STS is unreachable")
	}
}

// TestSTSClientGatewayCredentials: key files that are missing give 503
// before any call; once they exist they are used, and a rotated file takes
// effect without a new client.
func TestSTSClientGatewayCredentials(t *testing.T) {
	fake, err := conformance.NewFakeSTS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	dir := t.TempDir()
	cfg := testConfig(fake.URL)
	cfg.Credentials = core.CredentialsConfig{
		AccessKeyFile: filepath.Join(dir, "access_key"),
		SecretKeyFile: filepath.Join(dir, "secret_key"),
	}
	coreClient, client := clients(t, cfg)
	in := core.AssumeRoleInput{RoleARN: conformance.RoleOK, SessionName: "jane", Duration: time.Hour}
	for _, c := range []core.STS{coreClient, client} {
		_, err := c.AssumeRole(context.Background(), in)
		assertKind(t, err, core.KindGatewayCredentials, "gateway credentials are unavailable")
	}
	if n := len(fake.Calls()); n != 0 {
		t.Fatalf("the STS was called %d times without credentials", n)
	}

	write := func(name, value string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, name), []byte(value+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write("access_key", "AKIDFIRST")
	write("secret_key", "first-secret")
	time.Sleep(1100 * time.Millisecond) // the core's file source looks at most once a second
	if _, err := client.AssumeRole(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if got := lastCall(t, fake).AccessKeyID; got != "AKIDFIRST" {
		t.Fatalf("signed with %q, want AKIDFIRST", got)
	}
	write("access_key", "AKIDROTATED2")
	time.Sleep(1100 * time.Millisecond)
	if _, err := client.AssumeRole(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if got := lastCall(t, fake).AccessKeyID; got != "AKIDROTATED2" {
		t.Fatalf("signed with %q after rotation, want AKIDROTATED2", got)
	}
}

// TestSourceProviderAsksEveryTime: no SDK cache sits between the SDK and
// the core's credential source.
func TestSourceProviderAsksEveryTime(t *testing.T) {
	fake, err := conformance.NewFakeSTS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	client, err := newSTSClient(testConfig(fake.URL), true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.close)
	counting := &countingSource{}
	opts := client.client.Options()
	opts.Credentials = sourceProvider{src: counting}
	client.client = sts.New(opts)
	for i := 1; i <= 3; i++ {
		if _, err := client.AssumeRole(context.Background(), core.AssumeRoleInput{RoleARN: conformance.RoleOK, SessionName: "jane", Duration: time.Hour}); err != nil {
			t.Fatal(err)
		}
		if got := counting.n.Load(); got != int64(i) {
			t.Fatalf("after %d calls the source was asked %d times", i, got)
		}
		if got := lastCall(t, fake).AccessKeyID; got != fmt.Sprintf("AKIDCOUNT%d", i) {
			t.Fatalf("call %d signed with %q", i, got)
		}
	}
}

type countingSource struct{ n atomic.Int64 }

func (c *countingSource) AccessKeys(context.Context) (core.AccessKeys, error) {
	n := c.n.Add(1)
	return core.AccessKeys{AccessKeyID: fmt.Sprintf("AKIDCOUNT%d", n), SecretAccessKey: "secret"}, nil
}

// TestDefaultChainIsLazy: without keys, assume_role uses the SDK's default
// chain, loaded on the first call, and its failure is a 503.
func TestDefaultChainIsLazy(t *testing.T) {
	fake, err := conformance.NewFakeSTS()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", "")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "")
	t.Setenv("AWS_PROFILE", "")
	cfg := testConfig(fake.URL)
	cfg.Credentials = core.CredentialsConfig{}
	client, err := newSTSClient(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.close)
	if client.chain == nil || client.chain.provider != nil {
		t.Fatal("the default chain should exist and be unloaded after newSTSClient")
	}
	in := core.AssumeRoleInput{RoleARN: conformance.RoleOK, SessionName: "jane", Duration: time.Hour}
	_, err = client.AssumeRole(context.Background(), in)
	assertKind(t, err, core.KindGatewayCredentials, "gateway credentials are unavailable")

	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env")
	client2, err := newSTSClient(cfg, true)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client2.close)
	if _, err := client2.AssumeRole(context.Background(), in); err != nil {
		t.Fatal(err)
	}
	if got := lastCall(t, fake).AccessKeyID; got != "AKIDFROMENV" {
		t.Fatalf("signed with %q, want the environment's key", got)
	}
}

// wireRequest is a request as the STS received it.
type wireRequest struct {
	host, path, body string
	header           http.Header
}

// wireServer answers every call with credentials and keeps the last request.
func wireServer(t *testing.T) (*httptest.Server, func() wireRequest) {
	t.Helper()
	var mu sync.Mutex
	var last wireRequest
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		last = wireRequest{host: r.Host, path: r.URL.Path, body: string(body), header: r.Header.Clone()}
		mu.Unlock()
		form, _ := url.ParseQuery(string(body))
		w.Header().Set("Content-Type", "text/xml")
		_, _ = io.WriteString(w, successResponse(form.Get("Action")))
	}))
	t.Cleanup(srv.Close)
	return srv, func() wireRequest {
		mu.Lock()
		defer mu.Unlock()
		return last
	}
}

// fullSDKClient is c's SDK client as the SDK builds it by default: every
// middleware, the rules-based endpoint resolver, a plain HTTP client.
func fullSDKClient(c *stsClient) *sts.Client {
	o := c.client.Options()
	o.APIOptions = nil
	o.HTTPClient = c.http
	o.EndpointResolverV2 = sts.NewDefaultEndpointResolverV2()
	return sts.New(o)
}

// countWrites makes c's transport count the writes to its connections.
func countWrites(c *stsClient) *atomic.Int64 {
	n := new(atomic.Int64)
	var d net.Dialer
	c.http.Transport.(*http.Transport).DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		conn, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return writeCounter{conn, n}, nil
	}
	return n
}

type writeCounter struct {
	net.Conn
	n *atomic.Int64
}

func (w writeCounter) Write(p []byte) (int, error) {
	w.n.Add(1)
	return w.Conn.Write(p)
}

func signedHeaders(authorization string) []string {
	_, rest, _ := strings.Cut(authorization, "SignedHeaders=")
	list, _, _ := strings.Cut(rest, ",")
	return strings.Split(list, ";")
}

// checkSignature signs again what the STS received, with the gateway's
// key, and compares.
func checkSignature(t *testing.T, r wireRequest, region string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, "http://"+r.host+r.path, strings.NewReader(r.body))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range signedHeaders(r.header.Get("Authorization")) {
		if h != "host" && h != "content-length" {
			req.Header.Set(h, r.header.Get(h))
		}
	}
	when, err := time.Parse("20060102T150405Z", r.header.Get("X-Amz-Date"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(r.body))
	creds := aws.Credentials{AccessKeyID: testAccessKey, SecretAccessKey: testSecretKey}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, hex.EncodeToString(sum[:]), "sts", region, when); err != nil {
		t.Fatal(err)
	}
	if req.Header.Get("Authorization") != r.header.Get("Authorization") {
		t.Error("the signature does not verify over the request the STS received")
	}
}

// TestSTSClientRequestOnTheWire: with the middlewares trimStack removes,
// the static endpoint resolver and wireClient, the STS receives the request
// the SDK's full stack sends (same URL, form and signed headers, a valid
// signature) less amz-sdk-invocation-id, with stsUserAgent, in one write.
// Without sts_endpoint the call goes to AWS STS for the region.
func TestSTSClientRequestOnTheWire(t *testing.T) {
	t.Run("AssumeRole", func(t *testing.T) {
		srv, last := wireServer(t)
		cfg := testConfig(srv.URL + "/sts")
		c, err := newSTSClient(cfg, true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.close)
		writes := countWrites(c)
		policy := `{"Version":"2012-10-17"}`
		if _, err := fullSDKClient(c).AssumeRole(context.Background(), &sts.AssumeRoleInput{
			RoleArn: aws.String("arn:aws:iam:::role/ok"), RoleSessionName: aws.String("jane"), DurationSeconds: aws.Int32(3600), Policy: aws.String(policy),
		}); err != nil {
			t.Fatal(err)
		}
		want := last()
		before := writes.Load()
		if _, err := c.AssumeRole(context.Background(), core.AssumeRoleInput{
			RoleARN: "arn:aws:iam:::role/ok", SessionName: "jane", Duration: time.Hour, Policy: policy,
		}); err != nil {
			t.Fatal(err)
		}
		if n := writes.Load() - before; n != 1 {
			t.Errorf("the request took %d writes, want 1", n)
		}
		got := last()
		if got.path != want.path || got.body != want.body || got.header.Get("Content-Type") != want.header.Get("Content-Type") {
			t.Errorf("STS saw %s %q (%s), the full SDK sends %s %q (%s)", got.path, got.body, got.header.Get("Content-Type"),
				want.path, want.body, want.header.Get("Content-Type"))
		}
		if got.path != "/sts" {
			t.Errorf("path %q, want the endpoint's /sts", got.path)
		}
		if ua := got.header.Get("User-Agent"); ua != stsUserAgent {
			t.Errorf("User-Agent %q, want %q", ua, stsUserAgent)
		}
		if want.header.Get("Amz-Sdk-Invocation-Id") == "" || got.header.Get("Amz-Sdk-Invocation-Id") != "" {
			t.Errorf("amz-sdk-invocation-id: the full SDK sends %q, the gateway %q", want.header.Get("Amz-Sdk-Invocation-Id"), got.header.Get("Amz-Sdk-Invocation-Id"))
		}
		wantSigned := slices.DeleteFunc(signedHeaders(want.header.Get("Authorization")), func(h string) bool { return h == "amz-sdk-invocation-id" })
		if gotSigned := signedHeaders(got.header.Get("Authorization")); !slices.Equal(gotSigned, wantSigned) {
			t.Errorf("signed headers %v, want %v", gotSigned, wantSigned)
		}
		checkSignature(t, got, cfg.STS.Region)
	})

	t.Run("AssumeRoleWithWebIdentity", func(t *testing.T) {
		srv, last := wireServer(t)
		cfg := testConfig(srv.URL)
		cfg.Mode, cfg.Credentials = core.ModeWebIdentity, core.CredentialsConfig{}
		c, err := newSTSClient(cfg, true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.close)
		if _, err := fullSDKClient(c).AssumeRoleWithWebIdentity(context.Background(), &sts.AssumeRoleWithWebIdentityInput{
			RoleArn: aws.String("arn:aws:iam:::role/ok"), RoleSessionName: aws.String("jane"), DurationSeconds: aws.Int32(3600), WebIdentityToken: aws.String("header.payload.signature"),
		}); err != nil {
			t.Fatal(err)
		}
		want := last()
		if _, err := c.AssumeRoleWithWebIdentity(context.Background(), core.WebIdentityInput{
			RoleARN: "arn:aws:iam:::role/ok", SessionName: "jane", Duration: time.Hour, Token: "header.payload.signature",
		}); err != nil {
			t.Fatal(err)
		}
		got := last()
		if got.path != want.path || got.body != want.body || got.header.Get("Authorization") != "" {
			t.Errorf("STS saw %s %q (Authorization %q), the full SDK sends %s %q unsigned", got.path, got.body, got.header.Get("Authorization"), want.path, want.body)
		}
	})

	t.Run("AWS STS without sts_endpoint", func(t *testing.T) {
		cfg := testConfig("")
		cfg.STS.Region = "eu-west-3"
		c, err := newSTSClient(cfg, false)
		if err != nil {
			t.Fatal(err)
		}
		var sentTo string
		c.http.Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
			sentTo = r.URL.String()
			body := successResponse("AssumeRole")
			return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/xml"}},
				Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r}, nil
		})
		if _, err := c.AssumeRole(context.Background(), core.AssumeRoleInput{RoleARN: "arn:aws:iam:::role/ok", SessionName: "jane", Duration: time.Hour}); err != nil {
			t.Fatal(err)
		}
		if sentTo != "https://sts.eu-west-3.amazonaws.com/" {
			t.Errorf("sent to %q, want https://sts.eu-west-3.amazonaws.com/", sentTo)
		}
	})

	t.Run("every middleware trimStack removes exists", func(t *testing.T) {
		c, err := newSTSClient(testConfig("http://127.0.0.1:1"), true)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(c.close)
		var steps [5][]string
		_, _ = fullSDKClient(c).AssumeRole(context.Background(), &sts.AssumeRoleInput{}, func(o *sts.Options) {
			o.APIOptions = append(o.APIOptions, func(s *middleware.Stack) error {
				steps = [5][]string{s.Initialize.List(), s.Serialize.List(), s.Build.List(), s.Finalize.List(), s.Deserialize.List()}
				return errors.New("stop before sending")
			})
		})
		u := unusedMiddlewares
		for i, ids := range [5][]string{u.initialize, u.serialize, u.build, u.finalize, u.deserialize} {
			for _, id := range ids {
				if !slices.Contains(steps[i], id) {
					t.Errorf("the SDK has no middleware %q in %v", id, steps[i])
				}
			}
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func lastCall(t *testing.T, fake *conformance.FakeSTS) conformance.STSCall {
	t.Helper()
	calls := fake.Calls()
	if len(calls) == 0 {
		t.Fatal("the STS was not called")
	}
	return calls[len(calls)-1]
}

func assertKind(t *testing.T, err error, kind core.Kind, detail string) {
	t.Helper()
	var e *core.Error
	if !errors.As(err, &e) {
		t.Fatalf("want a *core.Error of kind %s, got %T %v", kind.Outcome(), err, err)
	}
	if e.Kind != kind || e.Detail != detail {
		t.Fatalf("got %s %q, want %s %q (cause: %v)", e.Kind.Outcome(), e.Detail, kind.Outcome(), detail, e.Err)
	}
}

// BenchmarkAssumeRole compares one AssumeRole through the SDK client with
// the core's standard-library client, against the loopback fake STS.
func BenchmarkAssumeRole(b *testing.B) {
	fake, err := conformance.NewFakeSTS()
	if err != nil {
		b.Fatal(err)
	}
	defer fake.Close()
	cfg := testConfig(fake.URL)
	creds, err := core.NewCredentialSource(cfg.Credentials)
	if err != nil {
		b.Fatal(err)
	}
	coreClient, err := core.NewSTSClient(cfg.STS, creds)
	if err != nil {
		b.Fatal(err)
	}
	sdkClient, err := newSTSClient(cfg, true)
	if err != nil {
		b.Fatal(err)
	}
	defer sdkClient.close()
	in := core.AssumeRoleInput{RoleARN: conformance.RoleOK, SessionName: "jane", Duration: time.Hour}
	for _, c := range []struct {
		name   string
		client core.STS
	}{{"sdk", sdkClient}, {"core", coreClient}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.client.AssumeRole(context.Background(), in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
