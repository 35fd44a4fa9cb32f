package e2e

// The MinIO harness: a real MinIO (the STS and the S3 server) on loopback,
// set up to trust the conformance IdP for AssumeRoleWithWebIdentity, with an
// admin client to make users and an S3 client for the credentials a gateway
// hands out.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stsgate/stsgate/internal/testproc"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/smithy-go"
	"github.com/minio/madmin-go/v3"

	"github.com/stsgate/stsgate/internal/conformance"
)

const (
	minioRootUser     = "stsgate-root"
	minioRootPassword = "stsgate-root-password"
	// minioClaimPolicy is the claim MinIO reads the caller's policy names
	// from in claim-based web identity (its default claim_name).
	minioClaimPolicy = "policy"
	// minioRegion is what the S3 clients sign with; MinIO without a
	// configured region accepts it.
	minioRegion = "us-east-1"
	// minioRoleARN is sent with AssumeRole; MinIO ignores it, but the core
	// requires a role in assume_role mode.
	minioRoleARN = "arn:minio:iam:::role/stsgate-e2e"
)

// minioServer is one running MinIO.
type minioServer struct {
	URL   string
	admin *madmin.AdminClient
	cmd   *exec.Cmd
	done  <-chan struct{}
	log   *testproc.Buffer
}

// minioEnv is what every MinIO scenario shares: the IdP, MinIO trusting it,
// and a gateway user (readwrite) that assume_role configurations sign with.
type minioEnv struct {
	IdP       *conformance.IdP
	MinIO     *minioServer
	GatewayAK string
	GatewaySK string
}

func newMinIOEnv(t *testing.T) *minioEnv {
	t.Helper()
	bin := testproc.Binary(t, "STSGATE_MINIO", "../.cache/bin/minio")
	idp, err := conformance.NewIdP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	m := startMinIO(t, bin, idp.URL+"/.well-known/openid-configuration", "")
	env := &minioEnv{IdP: idp, MinIO: m, GatewayAK: "stsgate-gateway", GatewaySK: "stsgate-gateway-secret"}
	env.addUser(t, env.GatewayAK, env.GatewaySK, "readwrite")
	return env
}

// startMinIO runs MinIO on free loopback ports with a throwaway data dir
// (under dataParent, or the test's temporary directory when it is "") and
// waits until its IAM answers. It is stopped when the test ends.
func startMinIO(t testing.TB, bin, oidcConfigURL, dataParent string) *minioServer {
	t.Helper()
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		m, err := tryStartMinIO(t, bin, oidcConfigURL, dataParent)
		if err == nil {
			return m
		}
		lastErr = err
		t.Logf("minio: start attempt %d: %v", attempt+1, err)
	}
	t.Fatalf("minio did not start: %v", lastErr)
	return nil
}

func tryStartMinIO(t testing.TB, bin, oidcConfigURL, dataParent string) (*minioServer, error) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if dataParent != "" {
		var err error
		if data, err = os.MkdirTemp(dataParent, "stsgate-minio-"); err != nil {
			return nil, err
		}
		t.Cleanup(func() { os.RemoveAll(data) })
	}
	addr, console := testproc.LoopbackAddr(t), testproc.LoopbackAddr(t)
	cmd := exec.Command(bin, "server", data,
		"--address", addr, "--console-address", console,
		"--certs-dir", filepath.Join(dir, "certs"), "--quiet")
	cmd.Env = append(minimalEnv(dir),
		"MINIO_ROOT_USER="+minioRootUser,
		"MINIO_ROOT_PASSWORD="+minioRootPassword,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_IDENTITY_OPENID_CONFIG_URL="+oidcConfigURL,
		"MINIO_IDENTITY_OPENID_CLIENT_ID="+conformance.Audience,
		"MINIO_IDENTITY_OPENID_CLAIM_NAME="+minioClaimPolicy,
	)
	m := &minioServer{URL: "http://" + addr, cmd: cmd}
	start := time.Now()
	m.log, m.done = testproc.Start(t, cmd)
	t.Cleanup(func() {
		m.stop()
		if t.Failed() {
			t.Logf("minio output:\n%s", m.log.String())
		}
	})
	if err := m.waitReady(60 * time.Second); err != nil {
		m.stop()
		return nil, fmt.Errorf("%v; output:\n%s", err, m.log.String())
	}
	t.Logf("minio: ready on %s in %s", m.URL, time.Since(start).Round(time.Millisecond))
	return m, nil
}

// minimalEnv keeps MinIO's environment free of the caller's AWS or MinIO
// variables, with HOME inside the test's directory.
func minimalEnv(home string) []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + home}
}

func (m *minioServer) stop() {
	testproc.Stop(m.cmd, m.done, 10*time.Second)
}

// waitReady waits for /minio/health/live, then for the admin API (IAM
// initialised) to answer.
func (m *minioServer) waitReady(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	client := &http.Client{Timeout: 2 * time.Second}
	for {
		select {
		case <-m.done:
			return errors.New("minio exited")
		default:
		}
		resp, err := client.Get(m.URL + "/minio/health/live")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				break
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no /minio/health/live within %s", limit)
		}
		time.Sleep(100 * time.Millisecond)
	}
	admin, err := madmin.New(strings.TrimPrefix(m.URL, "http://"), minioRootUser, minioRootPassword, false)
	if err != nil {
		return err
	}
	m.admin = admin
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_, err := admin.ListUsers(ctx)
		cancel()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("admin API not ready within %s: %v", limit, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// addUser creates a MinIO user and attaches policies to it.
func (e *minioEnv) addUser(t testing.TB, accessKey, secretKey string, policies ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := e.MinIO.admin.AddUser(ctx, accessKey, secretKey); err != nil {
		t.Fatalf("minio add user %s: %v", accessKey, err)
	}
	if len(policies) > 0 {
		if _, err := e.MinIO.admin.AttachPolicy(ctx, madmin.PolicyAssociationReq{Policies: policies, User: accessKey}); err != nil {
			t.Fatalf("minio attach %v to %s: %v", policies, accessKey, err)
		}
	}
}

// rootS3 is an S3 client with MinIO's root keys, for setting the stage.
func (e *minioEnv) rootS3() *s3.Client {
	return newS3Client(e.MinIO.URL, minioRootUser, minioRootPassword, "")
}

// token mints an RS256 token from the IdP for sub (also its
// preferred_username), valid for an hour, with extra claims.
func (e *minioEnv) token(sub string, extra map[string]any) string {
	claims := e.IdP.Claims(time.Now(), sub)
	for k, v := range extra {
		claims[k] = v
	}
	return conformance.Sign("RS256", e.IdP.RSA, claims, nil)
}

// tokenDocument is the Token document of docs/api.md, with an S3 client.
type tokenDocument conformance.TokenDocument

// S3 returns an S3 client using the document's credentials and endpoint.
func (d tokenDocument) S3() *s3.Client {
	c := d.Credentials
	return newS3Client(c.EndpointURL, c.AccessKeyId, c.SecretAccessKey, c.SessionToken)
}

func newS3Client(endpoint, ak, sk, session string) *s3.Client {
	return s3.New(s3.Options{
		Region:       minioRegion,
		BaseEndpoint: aws.String(endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(ak, sk, session),
	})
}

// putToken calls PUT {tokenURL} with the bearer token and returns the status,
// the body and, on 201, the decoded document.
func putToken(t testing.TB, tokenURL, bearer string) (int, []byte, tokenDocument) {
	t.Helper()
	status, body, err := tryPutToken(context.Background(), tokenURL, bearer)
	if err != nil {
		t.Fatalf("PUT %s: %v", tokenURL, err)
	}
	var doc tokenDocument
	if status == http.StatusCreated {
		if err := json.Unmarshal(body, &doc); err != nil {
			t.Fatalf("PUT %s: 201 with a body that is not a Token document: %v: %s", tokenURL, err, body)
		}
	}
	return status, body, doc
}

var tokenHTTPClient = &http.Client{Timeout: 30 * time.Second}

func tryPutToken(ctx context.Context, tokenURL, bearer string) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, tokenURL, nil)
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+bearer)
	resp, err := tokenHTTPClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, body, err
}

// mustIssue asserts a 201 and a complete Token document naming endpoint.
func mustIssue(t testing.TB, tokenURL, bearer, endpoint string) tokenDocument {
	t.Helper()
	status, body, doc := putToken(t, tokenURL, bearer)
	if status != http.StatusCreated {
		t.Fatalf("PUT token: status %d, want 201: %s", status, body)
	}
	c := doc.Credentials
	if c.AccessKeyId == "" || c.SecretAccessKey == "" || c.SessionToken == "" {
		t.Fatalf("Token document lacks credentials: %s", body)
	}
	if c.EndpointURL != endpoint {
		t.Fatalf("EndpointURL = %q, want %q", c.EndpointURL, endpoint)
	}
	exp, err := time.Parse(time.RFC3339Nano, c.Expiration)
	if err != nil || !strings.HasSuffix(c.Expiration, "+00:00") {
		t.Fatalf("Expiration %q is not an isoformat UTC time: %v", c.Expiration, err)
	}
	if d := time.Until(exp); d < 10*time.Minute || d > 13*time.Hour {
		t.Fatalf("Expiration %s is %s away", c.Expiration, d)
	}
	return doc
}

// s3ErrorCode is the S3 error code of err ("" when err is not an S3 error).
func s3ErrorCode(err error) string {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return apiErr.ErrorCode()
	}
	return ""
}

// bucketRoundTrip creates bucket with c, then writes an object into it and
// reads it back.
func bucketRoundTrip(t *testing.T, ctx context.Context, c *s3.Client, bucket, body string) {
	t.Helper()
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	if err := putObject(ctx, c, bucket, "hello.txt", body); err != nil {
		t.Fatalf("put object: %v", err)
	}
	if got, err := getObject(ctx, c, bucket, "hello.txt"); err != nil || got != body {
		t.Fatalf("get object: %q, %v", got, err)
	}
}

func putObject(ctx context.Context, c *s3.Client, bucket, key, body string) error {
	_, err := c.PutObject(ctx, &s3.PutObjectInput{
		Bucket: aws.String(bucket), Key: aws.String(key), Body: strings.NewReader(body),
	})
	return err
}

func getObject(ctx context.Context, c *s3.Client, bucket, key string) (string, error) {
	out, err := c.GetObject(ctx, &s3.GetObjectInput{Bucket: aws.String(bucket), Key: aws.String(key)})
	if err != nil {
		return "", err
	}
	defer out.Body.Close()
	data, err := io.ReadAll(out.Body)
	return string(data), err
}

// stsRecorder is a reverse proxy in front of MinIO's STS that keeps the form
// of every request it forwards.
type stsRecorder struct {
	URL     string
	mu      sync.Mutex
	forms   []url.Values
	headers []http.Header
	answers []string
}

func newSTSRecorder(t testing.TB, target string) *stsRecorder {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rec := &stsRecorder{}
	// NewSingleHostReverseProxy keeps the incoming Host header, which the
	// gateway's SigV4 signature covers.
	proxy := httputil.NewSingleHostReverseProxy(u)
	// Pooled like a gateway's STS client, so that a burst of calls
	// (BenchmarkGateways' cache row) reuses its connections.
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns, transport.MaxIdleConnsPerHost = 2048, 2048
	proxy.Transport = transport
	proxy.ModifyResponse = func(resp *http.Response) error {
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return err
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
		rec.mu.Lock()
		rec.answers = append(rec.answers, string(body))
		rec.mu.Unlock()
		return nil
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		form, _ := url.ParseQuery(string(body))
		rec.mu.Lock()
		rec.forms = append(rec.forms, form)
		rec.headers = append(rec.headers, r.Header.Clone())
		rec.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	rec.URL = srv.URL
	return rec
}

// Headers returns the request headers recorded so far, in the order of
// Forms.
func (r *stsRecorder) Headers() []http.Header {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]http.Header(nil), r.headers...)
}

// Answers returns the STS's answers recorded so far, in order.
func (r *stsRecorder) Answers() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.answers...)
}

// Count is how many calls of an STS action were recorded so far.
func (r *stsRecorder) Count(action string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, f := range r.forms {
		if f.Get("Action") == action {
			n++
		}
	}
	return n
}

// Forms returns what was recorded so far.
func (r *stsRecorder) Forms() []url.Values {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]url.Values(nil), r.forms...)
}

// replaceFileAtomically replaces path's contents the way a secret rotation does:
// write a temporary file beside it, then rename it over path.
func replaceFileAtomically(t testing.TB, path, content string) {
	t.Helper()
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(content+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}
