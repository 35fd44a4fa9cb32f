package e2e

// Ceph RGW end to end: every gateway target in front of a real RGW (its STS
// and its S3), the reference deployment's backend. What RGW does unlike AWS
// and MinIO is in docs/backends.md; each scenario pins one part of it.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/conformance"
)

var rgwScenarios = []scenario[*rgwEnv]{
	{"assume_role", rgwAssumeRole},
	{"session_policy", rgwSessionPolicy},
	{"sts_errors", rgwSTSErrors},
	{"web_identity", rgwWebIdentity},
	{"clients", rgwClients},
}

// TestRGW starts one RGW and IdP, then runs every scenario through every
// gateway target.
func TestRGW(t *testing.T) {
	env := newRGWEnv(t)
	env.trustIdP(t)
	runScenarios(t, env, rgwScenarios)
}

// rgwAssumeRole: a token buys credentials for the pathed role that create a
// bucket and write and read an object; the STS call names the role and the
// person, and the credentials have RGW's shape.
func rgwAssumeRole(t *testing.T, env *rgwEnv, gw gatewayTarget) {
	ctx := testContext(t)
	rec := newSTSRecorder(t, env.RGW.URL)
	cfg := env.baseConfig()
	cfg.STS.Endpoint = rec.URL
	tokenURL := gw.start(t, cfg) + cfg.Prefix + "/token"
	doc := mustIssue(t, tokenURL, env.token("u-1", map[string]any{"preferred_username": "Jane Doe (ops)"}), env.RGW.URL)

	bucketRoundTrip(t, ctx, doc.S3(), bucketName("assume-role", gw), "hello from "+gw.name)
	forms := rec.Forms()
	if len(forms) != 1 {
		t.Fatalf("STS saw %d requests, want 1", len(forms))
	}
	f := forms[0]
	if f.Get("RoleArn") != env.RGW.RoleARN || f.Get("RoleSessionName") != "Jane-Doe--ops-" || f.Get("DurationSeconds") != "3600" {
		t.Errorf("STS form: RoleArn %q, RoleSessionName %q, DurationSeconds %q", f.Get("RoleArn"), f.Get("RoleSessionName"), f.Get("DurationSeconds"))
	}
	// What RGW recorded: the assumed-role user it names is the person.
	want := "<Arn>arn:aws:sts:::assumed-role/application_abc/component_xyz/S3Access/Jane-Doe--ops-</Arn>"
	if answers := rec.Answers(); len(answers) != 1 || !strings.Contains(answers[0], want) {
		t.Errorf("RGW's answer does not name the session %s: %v", want, answers)
	}
	// RGW's keys are not AWS-shaped; the Token document passes them as
	// they are, and its Expiration keeps RGW's microseconds.
	if strings.HasPrefix(doc.Credentials.AccessKeyId, "ASIA") {
		t.Logf("note: RGW issued an ASIA key: %s", doc.Credentials.AccessKeyId)
	}
	if !strings.Contains(doc.Credentials.Expiration, ".") {
		t.Errorf("Expiration %q lost RGW's fraction of a second", doc.Credentials.Expiration)
	}
}

// rgwSessionPolicy: a session policy whose claim values hold spaces, '+',
// '/' and non-ASCII letters grants exactly the prefix each names, on RGW,
// which reads '+' in an STS form as a plus sign.
func rgwSessionPolicy(t *testing.T, env *rgwEnv, gw gatewayTarget) {
	ctx := testContext(t)
	bucket := bucketName("home", gw)
	admin := env.RGW.gatewayS3()
	if _, err := admin.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	cfg := env.baseConfig()
	cfg.Policy = homePolicy(bucket + "/home/")
	tokenURL := gw.start(t, cfg) + cfg.Prefix + "/token"
	for _, tc := range []struct{ name, lookalike string }{
		{"dave smith", "dave+smith"},
		{"a+b", "a b"},
		{"team/alice", "team/bob"},
		{"zoë ünïcode", "zoe unicode"},
	} {
		t.Run(strings.ReplaceAll(tc.name, "/", "_"), func(t *testing.T) {
			c := mustIssue(t, tokenURL, env.token("u-2", map[string]any{"preferred_username": tc.name}), env.RGW.URL).S3()
			if err := putObject(ctx, c, bucket, "home/"+tc.name+"/f.txt", "mine"); err != nil {
				t.Fatalf("put under home/%s/: %v", tc.name, err)
			}
			if got, err := getObject(ctx, c, bucket, "home/"+tc.name+"/f.txt"); err != nil || got != "mine" {
				t.Fatalf("get under home/%s/: %q, %v", tc.name, got, err)
			}
			for _, key := range []string{"home/" + tc.lookalike + "/f.txt", "home/other/f.txt", "top.txt"} {
				if code := s3ErrorCode(putObject(ctx, c, bucket, key, "not mine")); code != "AccessDenied" {
					t.Errorf("put %s: code %q, want AccessDenied", key, code)
				}
			}
		})
	}
}

// rgwSTSErrors: RGW's refusals (S3-style <Error> documents with an empty
// Message) reach the caller as 502 problem documents that name RGW's code;
// a duration over the role's MaxSessionDuration says so.
func rgwSTSErrors(t *testing.T, env *rgwEnv, gw gatewayTarget) {
	cfg := env.baseConfig()
	cfg.RoleARN = "arn:aws:iam:::role/application_abc/component_xyz/NoSuchRole"
	tokenURL := gw.start(t, cfg) + cfg.Prefix + "/token"
	assertProblem(t, tokenURL, env.token("u-3", nil), http.StatusBadGateway, "NoSuchEntity")

	cfg = env.baseConfig()
	cfg.Duration = 2 * time.Hour // the role allows 1h (RGW's default)
	tokenURL = gw.start(t, cfg) + cfg.Prefix + "/token"
	assertProblem(t, tokenURL, env.token("u-3", nil), http.StatusBadGateway, "InvalidArgument", "MaxSessionDuration")
}

// assertProblem asserts a problem document of status whose detail holds
// every one of want.
func assertProblem(t *testing.T, tokenURL, bearer string, status int, want ...string) {
	t.Helper()
	got, body, _ := putToken(t, tokenURL, bearer)
	if got != status {
		t.Fatalf("status %d, want %d: %s", got, status, body)
	}
	var p struct{ Detail string }
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("not problem JSON: %s", body)
	}
	for _, w := range want {
		if !strings.Contains(p.Detail, w) {
			t.Errorf("detail %q does not name %q", p.Detail, w)
		}
	}
}

// rgwWebIdentity: RGW trusts the test IdP (an OpenID Connect provider made
// with IAM's CreateOpenIDConnectProvider); the gateway forwards the caller's
// token and holds no key of its own.
func rgwWebIdentity(t *testing.T, env *rgwEnv, gw gatewayTarget) {
	ctx := testContext(t)
	cfg := env.baseConfig()
	cfg.Mode = core.ModeWebIdentity
	cfg.RoleARN = rgwWebRoleARN
	cfg.Credentials = core.CredentialsConfig{}
	tokenURL := gw.start(t, cfg) + cfg.Prefix + "/token"
	c := mustIssue(t, tokenURL, env.token("erin", nil), env.RGW.URL).S3()
	bucket := bucketName("webid", gw)
	if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
		t.Fatalf("create bucket %s: %v", bucket, err)
	}
	if err := putObject(ctx, c, bucket, "erin.txt", "web identity"); err != nil {
		t.Fatalf("put object: %v", err)
	}
}

const rgwWebRoleARN = "arn:aws:iam:::role/WebUsers"

// trustIdP registers the IdP with RGW as an OpenID Connect provider and
// makes a role (WebUsers) its tokens may assume.
func (e *rgwEnv) trustIdP(t *testing.T) {
	t.Helper()
	u, _ := url.Parse(e.IdP.URL)
	form := url.Values{
		"Action":                  {"CreateOpenIDConnectProvider"},
		"Version":                 {"2010-05-08"},
		"Url":                     {e.IdP.URL},
		"ClientIDList.member.1":   {conformance.Audience},
		"ThumbprintList.member.1": {strings.Repeat("0", 40)},
	}.Encode()
	e.RGW.iam(t, form)
	trust := fmt.Sprintf(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Federated":["arn:aws:iam:::oidc-provider/%s"]},"Action":["sts:AssumeRoleWithWebIdentity"]}]}`, u.Host)
	e.RGW.admin(t, "role", "create", "--role-name=WebUsers", "--assume-role-policy-doc="+trust)
	e.RGW.admin(t, "role-policy", "put", "--role-name=WebUsers", "--policy-name=AllS3",
		`--policy-doc={"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],"Resource":"arn:aws:s3:::*"}]}`)
}

// iam makes one IAM Query API call on RGW with the gateway user's keys.
func (r *rgwServer) iam(t *testing.T, form string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.URL+"/", bytes.NewReader([]byte(form)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	sum := sha256.Sum256([]byte(form))
	creds := aws.Credentials{AccessKeyID: r.AccessKey, SecretAccessKey: r.SecretKey}
	if err := v4.NewSigner().SignHTTP(ctx, creds, req, hex.EncodeToString(sum[:]), "iam", "us-east-1", time.Now()); err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("IAM %s: status %d: %s", form, resp.StatusCode, body)
	}
}
