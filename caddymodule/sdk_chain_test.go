package caddymodule

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/fakests"
)

// isolatedAWSEnv clears every place the SDK's default chain looks, so that
// a test sees only what it sets; IMDS is off (its address is not ours).
func isolatedAWSEnv(t *testing.T) string {
	t.Helper()
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(home, "config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(home, "credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	for _, name := range []string{
		"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
		"AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
		"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
	} {
		t.Setenv(name, "")
		os.Unsetenv(name)
	}
	return home
}

func fakeSTS(t *testing.T) *fakests.STS {
	t.Helper()
	fake, err := fakests.Start(nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	return fake
}

// chainConfig is an assume_role config with no access_key*: the gateway's
// keys come from the SDK's default chain.
func chainConfig(stsURL string) core.Config {
	cfg := core.DefaultConfig()
	cfg.EndpointURL = "http://s3.test:9000"
	cfg.RoleARN = fakests.RoleOK
	cfg.STS.Endpoint = stsURL
	cfg.JWT.Issuer = "https://idp.test"
	return cfg
}

// TestDefaultChainSignsAssumeRole: without access_key*, the core's client
// signs with what the SDK's chain finds, loaded on first use.
func TestDefaultChainSignsAssumeRole(t *testing.T) {
	in := core.AssumeRoleInput{RoleARN: fakests.RoleOK, SessionName: "jane", Duration: time.Hour}
	cases := []struct {
		name      string
		setup     func(t *testing.T, home string)
		wantKey   string
		wantToken string
	}{
		{"environment", func(t *testing.T, _ string) {
			t.Setenv("AWS_ACCESS_KEY_ID", "AKIDFROMENV")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env")
		}, "AKIDFROMENV", ""},
		{"environment with a session token", func(t *testing.T, _ string) {
			t.Setenv("AWS_ACCESS_KEY_ID", "ASIAFROMENV")
			t.Setenv("AWS_SECRET_ACCESS_KEY", "secret-from-env")
			t.Setenv("AWS_SESSION_TOKEN", "session-token-from-env")
		}, "ASIAFROMENV", "session-token-from-env"},
		{"shared config profile", func(t *testing.T, home string) {
			writeFile(t, filepath.Join(home, "credentials"), "[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = default-secret\n\n[gateway]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = profile-secret\n")
			t.Setenv("AWS_PROFILE", "gateway")
		}, "AKIDPROFILE", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			home := isolatedAWSEnv(t)
			tc.setup(t, home)
			fake := fakeSTS(t)
			client, err := newSTSClient(chainConfig(fake.URL))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(client.Retire)
			if _, err := client.AssumeRole(context.Background(), in); err != nil {
				t.Fatal(err)
			}
			calls := fake.Calls()
			last := calls[len(calls)-1]
			if last.AccessKeyID != tc.wantKey || last.SecurityToken != tc.wantToken {
				t.Errorf("signed with %q (security token %q), want %q (%q)", last.AccessKeyID, last.SecurityToken, tc.wantKey, tc.wantToken)
			}
		})
	}
}

// TestDefaultChainIsLazy: building the client reads nothing; a chain that
// finds no keys is a 503 without an STS call, and is asked again later.
func TestDefaultChainIsLazy(t *testing.T) {
	isolatedAWSEnv(t)
	fake := fakeSTS(t)
	client, err := newSTSClient(chainConfig(fake.URL))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(client.Retire)
	in := core.AssumeRoleInput{RoleARN: fakests.RoleOK, SessionName: "jane", Duration: time.Hour}
	_, err = client.AssumeRole(context.Background(), in)
	var e *core.Error
	if !errors.As(err, &e) || e.Kind != core.KindGatewayCredentials {
		t.Fatalf("want a gateway-credentials error, got %v", err)
	}
	if n := len(fake.Calls()); n != 0 {
		t.Fatalf("the STS was called %d times without keys", n)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
