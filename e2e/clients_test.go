package e2e

// The clients people run, against the credentials a gateway hands out: the
// Cray CLI's way (Python requests, then boto3 with region_name='';
// testdata/cray_client.py) and the aws CLI with the keys in its
// environment. Both are Debian packages (python3-boto3, python3-requests,
// awscli), installed by scripts/install-test-deps.sh.

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stsgate/stsgate/internal/testproc"
)

// python3 is an interpreter that imports boto3 and requests: Debian's
// (/usr/bin/python3, where python3-boto3 installs) before any other.
func python3(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/python3", "python3"} {
		path, err := exec.LookPath(p)
		if err != nil {
			continue
		}
		if exec.Command(path, "-c", "import boto3, requests").Run() == nil {
			return path
		}
	}
	testproc.Missing(t, "python3 with boto3 and requests: not installed (scripts/install-test-deps.sh installs them)")
	return ""
}

// awsCLI is Debian's aws CLI, else the first on PATH.
func awsCLI(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/bin/aws", "aws"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	testproc.Missing(t, "aws: the aws CLI is not installed (scripts/install-test-deps.sh installs it)")
	return ""
}

// clientEnv is a clean environment for a client process: its own HOME, no
// AWS settings but extra, no instance metadata lookups.
func clientEnv(home string, extra ...string) []string {
	return append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + home, "LANG=C.UTF-8",
		"AWS_CONFIG_FILE=" + filepath.Join(home, "aws-config"),
		"AWS_SHARED_CREDENTIALS_FILE=" + filepath.Join(home, "aws-credentials"),
		"AWS_EC2_METADATA_DISABLED=true",
	}, extra...)
}

// runClient runs a client process for at most two minutes and fails the
// test with its output when it fails.
func runClient(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = env
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(name), strings.Join(args, " "), err, out.String())
	}
	return out.String()
}

// checkClients runs the Cray CLI's flow and the aws CLI against tokenURL.
// bucket names this gateway and backend; the clients make buckets from it.
func checkClients(t *testing.T, tokenURL, bearer, bucket string) {
	t.Run("cray_cli_boto3", func(t *testing.T) {
		py := python3(t)
		home := t.TempDir()
		// The Cray CLI runs boto3 without awscrt; Debian's awscli pulls it in,
		// and botocore's CRT signer refuses region_name='' (see docs/clients.md).
		out := runClient(t, clientEnv(home, "STSGATE_BEARER="+bearer, "BOTO_DISABLE_CRT=true"), py, "testdata/cray_client.py", tokenURL, "cray-"+bucket)
		if !strings.Contains(out, "ok: delete") {
			t.Fatalf("cray_client.py did not finish:\n%s", out)
		}
	})
	t.Run("aws_cli", func(t *testing.T) {
		aws := awsCLI(t)
		doc := mustIssueAny(t, tokenURL, bearer)
		c := doc.Credentials
		home := t.TempDir()
		env := clientEnv(home,
			"AWS_ACCESS_KEY_ID="+c.AccessKeyId, "AWS_SECRET_ACCESS_KEY="+c.SecretAccessKey,
			"AWS_SESSION_TOKEN="+c.SessionToken, "AWS_DEFAULT_REGION=us-east-1")
		ep := []string{"--endpoint-url", c.EndpointURL}
		src := filepath.Join(home, "boot.img")
		data := bytes.Repeat([]byte("stsgate aws cli "), 64<<10) // 1 MiB
		if err := os.WriteFile(src, data, 0o600); err != nil {
			t.Fatal(err)
		}
		b := "s3://awscli-" + bucket
		runClient(t, env, aws, append(ep, "s3", "mb", b)...)
		runClient(t, env, aws, append(ep, "s3", "cp", src, b+"/images/boot.img")...)
		if out := runClient(t, env, aws, append(ep, "s3", "ls", b+"/images/")...); !strings.Contains(out, "boot.img") {
			t.Fatalf("aws s3 ls does not show boot.img:\n%s", out)
		}
		back := filepath.Join(home, "back.img")
		runClient(t, env, aws, append(ep, "s3", "cp", b+"/images/boot.img", back)...)
		if got, err := os.ReadFile(back); err != nil || !bytes.Equal(got, data) {
			t.Fatalf("aws s3 cp back: %d bytes, %v", len(got), err)
		}
	})
}

// mustIssueAny is mustIssue without an endpoint to compare.
func mustIssueAny(t *testing.T, tokenURL, bearer string) tokenDocument {
	t.Helper()
	status, body, doc := putToken(t, tokenURL, bearer)
	if status != 201 {
		t.Fatalf("PUT token: status %d, want 201: %s", status, body)
	}
	return doc
}

// minioClients: the Cray CLI's flow and the aws CLI on MinIO.
func minioClients(t *testing.T, env *minioEnv, gw gatewayTarget) {
	cfg := env.baseConfig()
	tokenURL := gw.start(t, cfg) + cfg.Prefix + "/token"
	checkClients(t, tokenURL, env.token("cray", nil), "minio-"+gw.name)
}

// rgwClients: the Cray CLI's flow and the aws CLI on RGW.
func rgwClients(t *testing.T, env *rgwEnv, gw gatewayTarget) {
	cfg := env.baseConfig()
	tokenURL := gw.start(t, cfg) + cfg.Prefix + "/token"
	checkClients(t, tokenURL, env.token("cray", nil), "rgw-"+gw.name)
}
