package e2e

// The real backend end to end: every gateway (the core in-process, the built
// Caddy, the real Traefik) in front of a real MinIO, and the credentials it
// hands out used with the AWS SDK's S3 client.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/minio/madmin-go/v3"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/conformance"
)

var minioScenarios = []scenario[*minioEnv]{
	{"assume_role", minioAssumeRole},
	{"session_policy", minioSessionPolicy},
	{"web_identity", minioWebIdentity},
	{"session_name", minioSessionName},
	{"rotation", minioRotation},
	{"cold_concurrent", minioColdConcurrent},
	{"clients", minioClients},
}

// TestMinIO starts one MinIO and IdP, then runs every scenario through every
// gateway target.
func TestMinIO(t *testing.T) {
	runScenarios(t, newMinIOEnv(t), minioScenarios)
}

// baseConfig is an assume_role configuration against env's MinIO, signed
// with the gateway user's keys.
func (e *minioEnv) baseConfig() core.Config {
	c := core.DefaultConfig()
	c.EndpointURL = e.MinIO.URL
	c.RoleARN = minioRoleARN
	c.STS.Endpoint = e.MinIO.URL
	c.STS.Timeout = 10 * time.Second
	c.Credentials = core.CredentialsConfig{AccessKey: e.GatewayAK, SecretKey: e.GatewaySK}
	c.JWT.Issuer = e.IdP.URL
	c.JWT.Audience = []string{conformance.Audience}
	return c
}

// bucketName is a bucket for one scenario on one target.
func bucketName(scenario string, gw gatewayTarget) string {
	return strings.ReplaceAll(scenario+"-"+gw.name, "_", "-")
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// minioAssumeRole: a token buys credentials that create a bucket and write
// and read an object.
func minioAssumeRole(t *testing.T, env *minioEnv, gw gatewayTarget) {
	ctx := testContext(t)
	cfg := env.baseConfig()
	url := gw.start(t, cfg) + cfg.Prefix + "/token"
	doc := mustIssue(t, url, env.token("alice", nil), env.MinIO.URL)

	bucketRoundTrip(t, ctx, doc.S3(), bucketName("assume-role", gw), "hello from "+gw.name)
}

// minioSessionPolicy: a session policy with a claim placeholder confines the
// caller to home/<preferred_username>/ and MinIO enforces it.
func minioSessionPolicy(t *testing.T, env *minioEnv, gw gatewayTarget) {
	ctx := testContext(t)
	bucket := bucketName("home", gw)
	if _, err := env.rootS3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	if err := putObject(ctx, env.rootS3(), bucket, "bob/secret.txt", "bob's"); err != nil {
		t.Fatal(err)
	}
	cfg := env.baseConfig()
	cfg.Policy = homePolicy(bucket + "/")
	url := gw.start(t, cfg) + cfg.Prefix + "/token"
	c := mustIssue(t, url, env.token("alice", nil), env.MinIO.URL).S3()

	if err := putObject(ctx, c, bucket, "alice/notes.txt", "mine"); err != nil {
		t.Fatalf("put under own prefix: %v", err)
	}
	if got, err := getObject(ctx, c, bucket, "alice/notes.txt"); err != nil || got != "mine" {
		t.Fatalf("get under own prefix: %q, %v", got, err)
	}
	denied := map[string]error{
		"put bob/x.txt":  putObject(ctx, c, bucket, "bob/x.txt", "not mine"),
		"get bob/secret": func() error { _, err := getObject(ctx, c, bucket, "bob/secret.txt"); return err }(),
		"put top.txt":    putObject(ctx, c, bucket, "top.txt", "not mine"),
		"put alice2/x":   putObject(ctx, c, bucket, "alice2/x.txt", "not mine"),
		"create a bucket": func() error {
			_, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket + "-x")})
			return err
		}(),
	}
	for what, err := range denied {
		if code := s3ErrorCode(err); code != "AccessDenied" {
			t.Errorf("%s: got %v (code %q), want AccessDenied", what, err, code)
		}
	}
}

// homePolicy is a session policy that lets the caller put and get objects
// under prefix (bucket/...) followed by its preferred_username, and
// nothing else.
func homePolicy(prefix string) string {
	return fmt.Sprintf(`{
  "Version": "2012-10-17",
  "Statement": [{
    "Effect": "Allow",
    "Action": ["s3:PutObject", "s3:GetObject"],
    "Resource": ["arn:aws:s3:::%s${claim:preferred_username}/*"]
  }]
}`, prefix)
}

// minioWebIdentity: MinIO trusts the IdP itself; the gateway forwards the
// caller's token, and MinIO's policy claim decides what the credentials may
// do.
func minioWebIdentity(t *testing.T, env *minioEnv, gw gatewayTarget) {
	ctx := testContext(t)
	cfg := env.baseConfig()
	cfg.Mode = core.ModeWebIdentity
	cfg.RoleARN = ""
	cfg.Credentials = core.CredentialsConfig{}
	url := gw.start(t, cfg) + cfg.Prefix + "/token"

	doc := mustIssue(t, url, env.token("carol", map[string]any{minioClaimPolicy: "readwrite"}), env.MinIO.URL)
	c := doc.S3()
	bucket := bucketName("webid", gw)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	if err := putObject(ctx, c, bucket, "carol.txt", "web identity"); err != nil {
		t.Fatalf("put object: %v", err)
	}
	if got, err := getObject(ctx, c, bucket, "carol.txt"); err != nil || got != "web identity" {
		t.Fatalf("get object: %q, %v", got, err)
	}

	// The token is MinIO's to judge: one naming no MinIO policy gets no
	// credentials, and the gateway says the STS refused (502).
	status, body, _ := putToken(t, url, env.token("carol", map[string]any{minioClaimPolicy: "no-such-policy"}))
	if status != http.StatusBadGateway {
		t.Fatalf("token with an unknown policy claim: status %d, want 502: %s", status, body)
	}
}

// minioSessionName: the RoleSessionName that reaches the STS names the
// caller (from preferred_username, sanitised), seen by a recording proxy in
// front of MinIO.
func minioSessionName(t *testing.T, env *minioEnv, gw gatewayTarget) {
	ctx := testContext(t)
	rec := newSTSRecorder(t, env.MinIO.URL)
	cfg := env.baseConfig()
	cfg.STS.Endpoint = rec.URL
	url := gw.start(t, cfg) + cfg.Prefix + "/token"

	tok := env.token("u-1234", map[string]any{"preferred_username": "Jane Doe (ops)"})
	doc := mustIssue(t, url, tok, env.MinIO.URL)
	if _, err := doc.S3().ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		t.Fatalf("list buckets with the issued credentials: %v", err)
	}
	forms := rec.Forms()
	if len(forms) != 1 {
		t.Fatalf("STS saw %d requests, want 1: %v", len(forms), forms)
	}
	f := forms[0]
	if got := f.Get("Action"); got != "AssumeRole" {
		t.Errorf("Action = %q, want AssumeRole", got)
	}
	if got, want := f.Get("RoleSessionName"), "Jane-Doe--ops-"; got != want {
		t.Errorf("RoleSessionName = %q, want %q", got, want)
	}
	if got := f.Get("RoleArn"); got != minioRoleARN {
		t.Errorf("RoleArn = %q, want %q", got, minioRoleARN)
	}
	if got := f.Get("DurationSeconds"); got != "3600" {
		t.Errorf("DurationSeconds = %q, want 3600", got)
	}

	// Without preferred_username the subject names the session.
	claims := env.IdP.Claims(time.Now(), "sub-only")
	delete(claims, "preferred_username")
	mustIssue(t, url, conformance.Sign("RS256", env.IdP.RSA, claims, nil), env.MinIO.URL)
	forms = rec.Forms()
	if got := forms[len(forms)-1].Get("RoleSessionName"); got != "sub-only" {
		t.Errorf("RoleSessionName without preferred_username = %q, want sub-only", got)
	}
}

// minioRotation: the gateway's keys live in files; they are replaced with
// another user's keys and the old user is disabled and removed, while
// requests keep coming. After the core's re-check window every request
// succeeds, with no restart.
func minioRotation(t *testing.T, env *minioEnv, gw gatewayTarget) {
	ctx := testContext(t)
	userA, userB := "rot-a-"+strings.ReplaceAll(gw.name, "_", "-"), "rot-b-"+strings.ReplaceAll(gw.name, "_", "-")
	dir := t.TempDir()
	akFile, skFile := filepath.Join(dir, "access_key"), filepath.Join(dir, "secret_key")
	replaceFileAtomically(t, akFile, userA)
	replaceFileAtomically(t, skFile, userA+"-secret")
	cfg := env.baseConfig()
	cfg.Credentials = core.CredentialsConfig{AccessKeyFile: akFile, SecretKeyFile: skFile}
	url := gw.start(t, cfg) + cfg.Prefix + "/token"
	env.addUser(t, userA, userA+"-secret", "readwrite")
	env.addUser(t, userB, userB+"-secret", "readwrite")
	bearer := env.token("rotor", nil)
	// One request first, so that this scenario is about rotation alone
	// (cold_concurrent covers concurrent first requests).
	mustIssue(t, url, bearer, env.MinIO.URL)

	type result struct {
		start  time.Time
		end    time.Time
		status int
		err    error
		doc    tokenDocument
	}
	var (
		mu      sync.Mutex
		results []result
		stop    = make(chan struct{})
		wg      sync.WaitGroup
	)
	// Two callers, each sending its next request 5ms after the last was
	// answered; bounded by stop and by a hard cap.
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for n := 0; n < 5000; n++ {
				select {
				case <-stop:
					return
				default:
				}
				r := result{start: time.Now()}
				var body []byte
				r.status, body, r.err = tryPutToken(ctx, url, bearer)
				r.end = time.Now()
				if r.status == http.StatusCreated {
					r.err = json.Unmarshal(body, &r.doc)
				} else if r.err == nil {
					r.err = fmt.Errorf("status %d: %s", r.status, body)
				}
				mu.Lock()
				results = append(results, r)
				mu.Unlock()
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	finish := func() []result {
		close(stop)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return results
	}
	countOK := func() int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, r := range results {
			if r.status == http.StatusCreated {
				n++
			}
		}
		return n
	}

	// Traffic flows with user A first.
	deadline := time.Now().Add(20 * time.Second)
	for countOK() < 10 {
		if time.Now().After(deadline) {
			rs := finish()
			t.Fatalf("no traffic with user A: %d requests, last: %+v", len(rs), rs[len(rs)-1])
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Rotate: B's keys in place, then A disabled and removed.
	switched := time.Now()
	replaceFileAtomically(t, akFile, userB)
	replaceFileAtomically(t, skFile, userB+"-secret")
	if err := env.MinIO.admin.SetUserStatus(ctx, userA, madmin.AccountDisabled); err != nil {
		t.Errorf("disable %s: %v", userA, err)
	}
	if err := env.MinIO.admin.RemoveUser(ctx, userA); err != nil {
		t.Errorf("remove %s: %v", userA, err)
	}
	grace := switched.Add(1500 * time.Millisecond)
	for time.Now().Before(grace.Add(2500 * time.Millisecond)) {
		time.Sleep(50 * time.Millisecond)
	}
	rs := finish()

	var before, window, after int
	windowFailed := map[int]int{}
	var last tokenDocument
	for _, r := range rs {
		switch {
		case r.end.Before(switched):
			before++
			if r.err != nil {
				t.Errorf("request before the switch failed: %v", r.err)
			}
		case r.start.Before(grace):
			window++
			if r.err != nil {
				windowFailed[r.status]++
			}
		default:
			after++
			if r.err != nil {
				t.Errorf("request %s after the switch failed: %v", r.start.Sub(switched).Round(time.Millisecond), r.err)
				continue
			}
			last = r.doc
		}
	}
	t.Logf("rotation: %d requests before the switch, %d in flight at it or started in the 1.5s after (failed, by status: %v), %d after (all must succeed)",
		before, window, windowFailed, after)
	if after < 10 {
		t.Fatalf("only %d requests after the window; the test proves nothing", after)
	}
	// User A is gone, so credentials that still work are B's.
	if _, err := last.S3().ListBuckets(ctx, &s3.ListBucketsInput{}); err != nil {
		t.Fatalf("credentials issued after the rotation do not work: %v", err)
	}
}

// minioColdConcurrent: the first requests a fresh gateway sees arrive
// together (as they do after every start or reload): OIDC discovery, the
// JWKS fetch and the STS call happen under concurrency, and every caller
// gets credentials.
func minioColdConcurrent(t *testing.T, env *minioEnv, gw gatewayTarget) {
	cfg := env.baseConfig()
	url := gw.start(t, cfg) + cfg.Prefix + "/token"
	bearer := env.token("crowd", nil)
	const callers = 4
	errs := make(chan error, callers)
	start := make(chan struct{})
	for i := 0; i < callers; i++ {
		go func() {
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			status, body, err := tryPutToken(ctx, url, bearer)
			if err == nil && status != http.StatusCreated {
				err = fmt.Errorf("status %d: %s", status, body)
			}
			errs <- err
		}()
	}
	close(start)
	for i := 0; i < callers; i++ {
		if err := <-errs; err != nil {
			t.Errorf("concurrent first request: %v", err)
		}
	}
	// The gateway is still there afterwards.
	mustIssue(t, url, bearer, env.MinIO.URL)
}
