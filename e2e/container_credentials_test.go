package e2e

// GET {prefix}/credentials: AWS SDKs and the aws CLI given only
// AWS_CONTAINER_CREDENTIALS_FULL_URI, AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
// ("Bearer <jwt>") and AWS_ENDPOINT_URL_S3 fetch their credentials from the
// gateway, use them on MinIO, and fetch again when they near expiry.
//
// Every client reaches the gateway over TLS, with a test CA. Neither SDK
// applies AWS_CA_BUNDLE to its container-credentials fetch: aws-sdk-go-v2
// (config v1.33) builds that client without it, so the program hands the CA
// over with config.WithEndpointCredentialOptions; botocore checks that
// fetch against certifi's bundle, so Python and the aws CLI get a certifi
// whose bundle holds the test CA (what trusting a site CA amounts to).

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/endpointcreds"
	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/conformance"
	"github.com/stsgate/stsgate/internal/testproc"
)

// containerConfig is env's assume_role configuration with the credentials
// route on and the shortest lifetime, through a recorder that counts STS
// calls.
func containerConfig(t *testing.T, env *minioEnv) (core.Config, *stsRecorder) {
	rec := newSTSRecorder(t, env.MinIO.URL)
	cfg := env.baseConfig()
	cfg.ContainerCredentials = true
	cfg.Duration = 15 * time.Minute
	cfg.STS.Endpoint = rec.URL
	return cfg, rec
}

// writeAuthorization writes "Bearer <token>" without a newline (botocore
// refuses a header value with CR or LF).
func writeAuthorization(t *testing.T, token string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "authorization")
	if err := os.WriteFile(path, []byte("Bearer "+token), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestContainerCredentialsGoSDK(t *testing.T) {
	env := newMinIOEnv(t)
	tt := newTestTLS(t)
	for _, gw := range tlsGatewayTargets {
		t.Run(gw.name, func(t *testing.T) {
			cfg, rec := containerConfig(t, env)
			credURL := gw.start(t, cfg, tt) + cfg.Prefix + "/credentials"
			home := t.TempDir()
			for k, v := range map[string]string{
				"AWS_CONTAINER_CREDENTIALS_FULL_URI":     credURL,
				"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE": writeAuthorization(t, env.token("gopher", nil)),
				"AWS_CA_BUNDLE":                          tt.CAFile,
				"AWS_ENDPOINT_URL_S3":                    env.MinIO.URL,
				"AWS_REGION":                             minioRegion,
				"AWS_EC2_METADATA_DISABLED":              "true",
				"AWS_CONFIG_FILE":                        filepath.Join(home, "config"),
				"AWS_SHARED_CREDENTIALS_FILE":            filepath.Join(home, "credentials"),
				"AWS_ACCESS_KEY_ID":                      "",
				"AWS_SECRET_ACCESS_KEY":                  "",
				"AWS_PROFILE":                            "",
			} {
				t.Setenv(k, v)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			awsCfg, err := config.LoadDefaultConfig(ctx,
				config.WithEndpointCredentialOptions(func(o *endpointcreds.Options) {
					o.HTTPClient = tt.client()
				}),
				// The SDK refreshes 5 minutes before expiry by default; with
				// the whole 15 minutes as the window it refreshes on every
				// use, so the refresh happens inside this test.
				config.WithCredentialsCacheOptions(func(o *aws.CredentialsCacheOptions) {
					o.ExpiryWindow = 15 * time.Minute
				}))
			if err != nil {
				t.Fatal(err)
			}
			c := s3.NewFromConfig(awsCfg, func(o *s3.Options) { o.UsePathStyle = true })
			bucket := "cc-go-" + gw.name
			if _, err := c.CreateBucket(ctx, &s3.CreateBucketInput{Bucket: aws.String(bucket)}); err != nil {
				t.Fatalf("create bucket with container credentials: %v", err)
			}
			if err := putObject(ctx, c, bucket, "go.txt", "from aws-sdk-go-v2"); err != nil {
				t.Fatalf("after the refresh: %v", err)
			}
			if n := len(rec.Forms()); n < 2 {
				t.Fatalf("the gateway made %d STS calls, want a refresh (2 or more)", n)
			}
		})
	}
}

func TestContainerCredentialsBotocore(t *testing.T) {
	env := newMinIOEnv(t)
	py := pythonWithContainerTokenFile(t)
	aws := awsCLIWithContainerTokenFile(t)
	tt := newTestTLS(t)
	certifi := certifiTrusting(t, py, tt)
	for _, gw := range tlsGatewayTargets {
		t.Run(gw.name, func(t *testing.T) {
			cfg, rec := containerConfig(t, env)
			credURL := gw.start(t, cfg, tt) + cfg.Prefix + "/credentials"
			home := t.TempDir()
			vars := []string{
				"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + credURL,
				"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=" + writeAuthorization(t, env.token("pythonista", nil)),
				"AWS_ENDPOINT_URL_S3=" + env.MinIO.URL,
				"AWS_DEFAULT_REGION=" + minioRegion,
				"PYTHONPATH=" + certifi,
			}
			bucket := "cc-py-" + gw.name
			t.Run("boto3", func(t *testing.T) {
				// Credentials of 15 minutes are inside botocore's refresh
				// window from the start: every call after the first asks the
				// gateway again, and keeps working.
				script := `
import boto3, sys
s3 = boto3.client("s3")
s3.create_bucket(Bucket=sys.argv[1])
for i in range(3):
    s3.put_object(Bucket=sys.argv[1], Key="py-%d.txt" % i, Body=b"from boto3")
print("keys:", sorted(o["Key"] for o in s3.list_objects_v2(Bucket=sys.argv[1])["Contents"]))
`
				before := len(rec.Forms())
				out := runClient(t, clientEnv(home, vars...), py, "-c", script, bucket)
				if !strings.Contains(out, "py-2.txt") {
					t.Fatalf("boto3: %s", out)
				}
				if got := len(rec.Forms()) - before; got < 2 {
					t.Fatalf("boto3 asked the gateway %d times, want a refresh (2 or more)", got)
				}
			})
			t.Run("aws_cli", func(t *testing.T) {
				src := filepath.Join(home, "boot.img")
				data := bytes.Repeat([]byte("boot image "), 100<<10)
				if err := os.WriteFile(src, data, 0o600); err != nil {
					t.Fatal(err)
				}
				runClient(t, clientEnv(home, vars...), aws, "s3", "cp", src, "s3://"+bucket+"/boot.img")
				if out := runClient(t, clientEnv(home, vars...), aws, "s3", "ls", "s3://"+bucket+"/"); !strings.Contains(out, "boot.img") {
					t.Fatalf("aws s3 ls: %s", out)
				}
			})
			claims := env.IdP.Claims(time.Now().Add(-2*time.Hour), "late")
			expired := conformance.Sign("RS256", env.IdP.RSA, claims, nil)
			for name, bearer := range map[string]string{"expired_token": expired, "no_token": ""} {
				t.Run(name, func(t *testing.T) {
					bad := []string{
						"AWS_CONTAINER_CREDENTIALS_FULL_URI=" + credURL,
						"AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=" + writeAuthorization(t, bearer),
						"AWS_ENDPOINT_URL_S3=" + env.MinIO.URL,
						"AWS_DEFAULT_REGION=" + minioRegion,
						"PYTHONPATH=" + certifi,
					}
					ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
					defer cancel()
					cmd := exec.CommandContext(ctx, aws, "s3", "ls")
					cmd.Env = clientEnv(home, bad...)
					out, err := cmd.CombinedOutput()
					if err == nil || ctx.Err() != nil || !strings.Contains(string(out), "401") {
						t.Fatalf("aws s3 ls: %v (context %v)\n%s", err, ctx.Err(), out)
					}
				})
			}
		})
	}
}

// certifiTrusting makes a directory to put first on PYTHONPATH: a certifi
// module whose bundle is py's own certifi bundle plus the test CA.
func certifiTrusting(t *testing.T, py string, tt *testTLS) string {
	t.Helper()
	real, err := exec.Command(py, "-c", "import certifi; print(certifi.where(), end='')").Output()
	if err != nil {
		t.Fatalf("certifi: %v", err)
	}
	bundle, err := os.ReadFile(string(real))
	if err != nil {
		t.Fatal(err)
	}
	ca, err := os.ReadFile(tt.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	pkg := filepath.Join(dir, "certifi")
	if err := os.MkdirAll(pkg, 0o755); err != nil {
		t.Fatal(err)
	}
	pem := filepath.Join(pkg, "cacert.pem")
	if err := os.WriteFile(pem, append(append(bundle, '\n'), ca...), 0o644); err != nil {
		t.Fatal(err)
	}
	src := "def where():\n    return " + strconv.Quote(pem) + "\n\ndef contents():\n    return open(where()).read()\n"
	if err := os.WriteFile(filepath.Join(pkg, "__init__.py"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// pythonWithContainerTokenFile is a python3 whose botocore reads
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (botocore 1.43 here; Debian
// bookworm's 1.29 does not).
func pythonWithContainerTokenFile(t *testing.T) string {
	t.Helper()
	for _, p := range toolCandidates("python3", "python3.11", "python3.12") {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		check := "import boto3, botocore.credentials as c; c.ContainerProvider.ENV_VAR_AUTH_TOKEN_FILE"
		if exec.Command(path, "-c", check).Run() == nil {
			return path
		}
	}
	testproc.Missing(t, "python3 with boto3 whose botocore reads AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
	return ""
}

// toolCandidates are the places to look for a Python tool: names on PATH,
// then Debian's /usr/bin, then every pyenv installation (the machine image
// keeps a newer boto3 and aws CLI there; a non-interactive shell such as
// CI's may not have pyenv's directories on PATH).
func toolCandidates(names ...string) []string {
	out := append([]string(nil), names...)
	out = append(out, "/usr/bin/"+names[0])
	for _, root := range []string{os.Getenv("PYENV_ROOT"), filepath.Join(os.Getenv("HOME"), ".pyenv")} {
		if root == "" {
			continue
		}
		found, _ := filepath.Glob(filepath.Join(root, "versions", "*", "bin", names[0]))
		out = append(out, found...)
	}
	return out
}

var (
	awsCLIVersion   = regexp.MustCompile(`aws-cli/(\d+)\.(\d+)`)
	botocoreVersion = regexp.MustCompile(`botocore/(\d+)\.(\d+)`)
)

// awsCLIWithContainerTokenFile is an aws CLI that reads
// AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE, which came with EKS Pod Identity
// (late 2023): taken here as v1 on botocore 1.34 or later, or v2.15 or
// later (the machine's are v1.45 on botocore 1.43, and Debian's v2.9).
func awsCLIWithContainerTokenFile(t *testing.T) string {
	t.Helper()
	for _, p := range toolCandidates("aws") {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		out, err := exec.Command(path, "--version").CombinedOutput()
		m := awsCLIVersion.FindStringSubmatch(string(out))
		if err != nil || m == nil {
			continue
		}
		major, _ := strconv.Atoi(m[1])
		minor, _ := strconv.Atoi(m[2])
		bcMajor, bcMinor := 0, 0
		if b := botocoreVersion.FindStringSubmatch(string(out)); b != nil {
			bcMajor, _ = strconv.Atoi(b[1])
			bcMinor, _ = strconv.Atoi(b[2])
		}
		if (major == 2 && minor >= 15) || (major == 1 && (bcMajor > 1 || bcMinor >= 34)) {
			return path
		}
	}
	testproc.Missing(t, "an aws CLI that reads AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (v1 on botocore 1.34+, or v2.15+)")
	return ""
}
