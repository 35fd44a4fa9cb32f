package e2e

// Workload identity on a real Kubernetes API server: a "pod" whose
// projected service-account token file (raw JWT, rotated by a symlink swap,
// as the kubelet writes it) gets S3 credentials through stsgate's
// credentials route, with boto3, the aws CLI and the Go SDK refreshing by
// themselves; role rules, session names and session policies read the
// token's kubernetes.io claim through JSON Pointer claim paths.

import (
	"context"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stsgate/stsgate/core"
)

// kubeAudience is the audience pods request their stsgate tokens for.
const kubeAudience = "sts"

// kubeWorkloadConfig makes cfg trust the API server's service-account
// issuer (OIDC discovery, its CA) and map namespace "backup" to role, name
// sessions after the service account, and narrow each session to the
// bucket named like the namespace.
func kubeWorkloadConfig(cfg core.Config, k *kubeAPI, role string) core.Config {
	jwt := core.DefaultConfig().JWT
	jwt.Issuer = k.URL
	jwt.CAFile = k.CAFile
	jwt.Audience = []string{kubeAudience}
	cfg.JWT = jwt
	cfg.RoleARN = ""
	cfg.Roles = []core.RoleRule{{Claim: "/kubernetes.io/namespace", Value: "backup", RoleARN: role}}
	cfg.SessionNameClaims = []string{"/kubernetes.io/serviceaccount/name"}
	cfg.ContainerCredentials = true
	// 15 minutes: inside the SDKs' refresh window from the start, so every
	// call after the first asks the gateway again with the token file's
	// current content.
	cfg.Duration = 15 * time.Minute
	return cfg
}

// namespacePolicy allows S3 only on the bucket named like the caller's
// namespace.
const namespacePolicy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],` +
	`"Resource":["arn:aws:s3:::${claim:/kubernetes.io/namespace}","arn:aws:s3:::${claim:/kubernetes.io/namespace}/*"]}]}`

func TestKubeWorkloadIdentityMinIO(t *testing.T) {
	k := startKube(t)
	env := newMinIOEnv(t)
	py := pythonWithContainerTokenFile(t)
	awsCLI := awsCLIWithContainerTokenFile(t)
	rec := newSTSRecorder(t, env.MinIO.URL)
	cfg := kubeWorkloadConfig(env.baseConfig(), k, minioRoleARN)
	cfg.STS.Endpoint = rec.URL
	cfg.Policy = namespacePolicy
	gateway := startCaddyGateway(t, cfg)
	credURL := gateway + cfg.Prefix + "/credentials"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	for _, b := range []string{"backup", "web"} {
		if _, err := env.rootS3().CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(b)}); err != nil {
			t.Fatal(err)
		}
	}

	nightly := k.serviceAccountToken(t, "backup", "nightly", kubeAudience)
	pod := newProjectedToken(t, nightly)
	home := t.TempDir()
	vars := []string{
		"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + credURL,
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=" + pod.Path(),
		"AWS_ENDPOINT_URL_S3=" + env.MinIO.URL,
		"AWS_DEFAULT_REGION=" + minioRegion,
	}
	sessions := func(from int) []string {
		var names []string
		for _, f := range rec.Forms()[from:] {
			names = append(names, f.Get("RoleSessionName"))
		}
		return names
	}

	t.Run("raw token on the routes", func(t *testing.T) {
		for _, c := range []struct {
			method, url, auth string
			status            int
		}{
			{http.MethodGet, credURL, nightly, http.StatusOK},
			{http.MethodGet, credURL, "Bearer " + nightly, http.StatusOK},
			{http.MethodPut, gateway + "/apis/sts/token", "Bearer " + nightly, http.StatusCreated},
			{http.MethodPut, gateway + "/apis/sts/token", nightly, http.StatusUnauthorized},
			{http.MethodGet, credURL, "garbage", http.StatusUnauthorized},
			{http.MethodGet, credURL, nightly + "x", http.StatusUnauthorized},
		} {
			req, _ := http.NewRequest(c.method, c.url, nil)
			req.Header.Set("Authorization", c.auth)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != c.status {
				t.Errorf("%s %s with %.12s…: %d, want %d", c.method, c.url, c.auth, resp.StatusCode, c.status)
			}
		}
	})

	t.Run("boto3 through a rotated token file", func(t *testing.T) {
		script := `
import boto3, botocore.exceptions, sys
s3 = boto3.client("s3")
for i in range(2):
    s3.put_object(Bucket="backup", Key="%s-%d.txt" % (sys.argv[1], i), Body=b"from a pod")
try:
    s3.put_object(Bucket="web", Key="escape.txt", Body=b"x")
    print("policy not applied")
except botocore.exceptions.ClientError as e:
    print("other bucket:", e.response["Error"]["Code"])
`
		before := len(rec.Forms())
		out := runClient(t, clientEnv(home, vars...), py, "-c", script, "nightly")
		if !strings.Contains(out, "other bucket: AccessDenied") {
			t.Fatalf("boto3 as backup/nightly: %s", out)
		}
		// The kubelet rotates the token; this one is another service
		// account's, so the STS shows which token the SDK sent.
		pod.rotate(t, k.serviceAccountToken(t, "backup", "weekly", kubeAudience))
		mid := len(rec.Forms())
		runClient(t, clientEnv(home, vars...), py, "-c", script, "weekly")
		first, second := sessions(before)[:mid-before], sessions(mid)
		if len(first) < 2 || len(second) < 2 {
			t.Fatalf("STS calls before and after the rotation: %v, %v; want refreshes on both sides", first, second)
		}
		for _, s := range first {
			if s != "nightly" {
				t.Errorf("session before the rotation: %q, want nightly (from /kubernetes.io/serviceaccount/name)", s)
			}
		}
		for _, s := range second {
			if s != "weekly" {
				t.Errorf("session after the rotation: %q, want weekly", s)
			}
		}
		for _, f := range rec.Forms()[before:] {
			if p := f.Get("Policy"); !strings.Contains(p, `"arn:aws:s3:::backup/*"`) {
				t.Fatalf("the STS got policy %q; want the namespace filled in", p)
			}
		}
		if obj, err := getObject(ctx, env.rootS3(), "backup", "weekly-1.txt"); err != nil || obj != "from a pod" {
			t.Fatalf("the object boto3 wrote: %q, %v", obj, err)
		}
	})

	t.Run("aws CLI", func(t *testing.T) {
		src := filepath.Join(home, "dump.sql")
		writeFile(t, src, []byte("backup of the night"))
		runClient(t, clientEnv(home, vars...), awsCLI, "s3", "cp", src, "s3://backup/dump.sql")
		if out := runClient(t, clientEnv(home, vars...), awsCLI, "s3", "ls", "s3://backup/"); !strings.Contains(out, "dump.sql") {
			t.Fatalf("aws s3 ls: %s", out)
		}
	})

	t.Run("Go SDK", func(t *testing.T) {
		for _, v := range append(vars, "AWS_REGION="+minioRegion, "AWS_EC2_METADATA_DISABLED=true",
			"AWS_CONFIG_FILE="+filepath.Join(home, "config"), "AWS_SHARED_CREDENTIALS_FILE="+filepath.Join(home, "credentials"),
			"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_PROFILE=") {
			name, value, _ := strings.Cut(v, "=")
			t.Setenv(name, value)
		}
		awsCfg, err := config.LoadDefaultConfig(ctx, config.WithCredentialsCacheOptions(func(o *aws.CredentialsCacheOptions) {
			o.ExpiryWindow = 15 * time.Minute // refresh on every use, inside the test
		}))
		if err != nil {
			t.Fatal(err)
		}
		c := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true })
		before := len(rec.Forms())
		for i := 0; i < 2; i++ {
			if err := putObject(ctx, c, "backup", "go.txt", "from aws-sdk-go-v2"); err != nil {
				t.Fatalf("put %d: %v", i, err)
			}
		}
		if n := len(rec.Forms()) - before; n < 2 {
			t.Fatalf("the Go SDK asked the gateway %d times; want a refresh", n)
		}
	})

	t.Run("another namespace has no role", func(t *testing.T) {
		req, _ := http.NewRequest(http.MethodGet, credURL, nil)
		req.Header.Set("Authorization", k.serviceAccountToken(t, "web", "frontend", kubeAudience))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden {
			t.Fatalf("a token of namespace web: %d, want 403", resp.StatusCode)
		}
	})
}

func TestKubeWorkloadIdentityRGW(t *testing.T) {
	k := startKube(t)
	env := newRGWEnv(t)
	py := pythonWithContainerTokenFile(t)
	rec := newSTSRecorder(t, env.RGW.URL)
	cfg := kubeWorkloadConfig(env.baseConfig(), k, env.RGW.RoleARN)
	cfg.STS.Endpoint = rec.URL
	gateway := startCaddyGateway(t, cfg)
	pod := newProjectedToken(t, k.serviceAccountToken(t, "backup", "nightly", kubeAudience))
	script := `
import boto3
s3 = boto3.client("s3")
s3.create_bucket(Bucket="kube-backup")
for i in range(2):
    s3.put_object(Bucket="kube-backup", Key="rgw-%d.txt" % i, Body=b"from a pod")
print("keys:", sorted(o["Key"] for o in s3.list_objects_v2(Bucket="kube-backup")["Contents"]))
`
	out := runClient(t, clientEnv(t.TempDir(),
		"AWS_CONTAINER_CREDENTIALS_FULL_URI="+gateway+cfg.Prefix+"/credentials",
		"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="+pod.Path(),
		"AWS_ENDPOINT_URL_S3="+env.RGW.URL,
		"AWS_DEFAULT_REGION=us-east-1",
	), py, "-c", script)
	if !strings.Contains(out, "rgw-1.txt") {
		t.Fatalf("boto3 on RGW: %s", out)
	}
	forms := rec.Forms()
	if len(forms) < 2 {
		t.Fatalf("%d STS calls; want a refresh", len(forms))
	}
	for _, f := range forms {
		if f.Get("RoleSessionName") != "nightly" || f.Get("RoleArn") != env.RGW.RoleARN {
			t.Errorf("RGW got session %q for role %q; want nightly for %s", f.Get("RoleSessionName"), f.Get("RoleArn"), env.RGW.RoleARN)
		}
	}
}
