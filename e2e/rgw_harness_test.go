package e2e

// The Ceph RGW harness: a real single-node Ceph cluster with RGW (its STS
// and S3) on loopback, started by scripts/start-rgw.sh for one test and
// stopped after it. RGW is the STS the reference deployment (HPE Cray EX)
// runs; see docs/backends.md for how it differs from AWS and MinIO.

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/conformance"
	"github.com/stsgate/stsgate/internal/testproc"
)

// rgwServer is one running RGW with its gateway user and pathed role.
type rgwServer struct {
	URL       string
	AccessKey string
	SecretKey string
	RoleARN   string
	UserARN   string
	// conf is the cluster's ceph.conf, for radosgw-admin.
	conf string
}

// rgwEnv is an RGW and the conformance IdP.
type rgwEnv struct {
	IdP *conformance.IdP
	RGW *rgwServer
}

func newRGWEnv(t *testing.T) *rgwEnv {
	t.Helper()
	idp, err := conformance.NewIdP()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(idp.Close)
	return &rgwEnv{IdP: idp, RGW: startRGW(t)}
}

// startRGW runs scripts/start-rgw.sh and waits for the env file it writes
// when RGW answers. The script, its daemons and its directory go when the
// test ends.
func startRGW(t *testing.T) *rgwServer {
	t.Helper()
	if _, err := exec.LookPath("radosgw"); err != nil {
		testproc.Missing(t, "radosgw: not installed (scripts/install-test-deps.sh installs Ceph)")
	}
	script, err := filepath.Abs("../scripts/start-rgw.sh")
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "rgw")
	cmd := exec.Command("bash", script, dir)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME")}
	// Its own process group, so that the daemons go with it whatever happens.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	start := time.Now()
	out, done := testproc.Start(t, cmd)
	t.Cleanup(func() {
		// SIGTERM lets the script stop its daemons and remove dir; the
		// group kill is for a script that could not.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
			<-done
		}
		if t.Failed() {
			t.Logf("start-rgw output:\n%s", out.String())
		}
	})
	envFile := filepath.Join(dir, "env")
	testproc.WaitReady(t, "start-rgw", 150*time.Second, done, out, func() bool {
		_, err := os.Stat(envFile)
		return err == nil
	})
	vars := readEnvFile(t, envFile)
	r := &rgwServer{
		URL: vars["RGW_URL"], AccessKey: vars["RGW_ACCESS_KEY"], SecretKey: vars["RGW_SECRET_KEY"],
		RoleARN: vars["RGW_ROLE_ARN"], UserARN: vars["RGW_USER_ARN"], conf: vars["CEPH_CONF"],
	}
	t.Logf("rgw: ready on %s in %s", r.URL, time.Since(start).Round(time.Millisecond))
	return r
}

// readEnvFile reads NAME=value lines.
func readEnvFile(t *testing.T, path string) map[string]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	vars := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if k, v, ok := strings.Cut(sc.Text(), "="); ok {
			vars[k] = v
		}
	}
	return vars
}

// admin runs radosgw-admin against the cluster.
func (r *rgwServer) admin(t *testing.T, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "radosgw-admin", append([]string{"-c", r.conf}, args...)...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("radosgw-admin %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// gatewayS3 is an S3 client with the gateway user's own keys, for setting
// the stage (RGW ignores the region).
func (r *rgwServer) gatewayS3() *s3.Client {
	return newS3Client(r.URL, r.AccessKey, r.SecretKey, "")
}

// baseConfig is an assume_role configuration for RGW's pathed role, signed
// with the gateway user's keys.
func (e *rgwEnv) baseConfig() core.Config {
	c := core.DefaultConfig()
	c.EndpointURL = e.RGW.URL
	c.RoleARN = e.RGW.RoleARN
	c.STS.Endpoint = e.RGW.URL
	c.STS.Timeout = 10 * time.Second
	c.Credentials = core.CredentialsConfig{AccessKey: e.RGW.AccessKey, SecretKey: e.RGW.SecretKey}
	c.JWT.Issuer = e.IdP.URL
	c.JWT.Audience = []string{conformance.Audience}
	return c
}

// token mints an RS256 token for sub with extra claims.
func (e *rgwEnv) token(sub string, extra map[string]any) string {
	claims := e.IdP.Claims(time.Now(), sub)
	for k, v := range extra {
		claims[k] = v
	}
	return conformance.Sign("RS256", e.IdP.RSA, claims, nil)
}
