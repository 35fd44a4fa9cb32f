package core

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoadTimeFileChecks: what is certainly wrong fails New; what may come
// right later, or accepts more than meant, is a warning naming the option
// and the path.
func TestLoadTimeFileChecks(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	garbage := write("garbage.json", `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`)
	emptyKey := write("empty_access_key", "\n")
	goodKey := write("secret_key", "s3cret\n")
	missing := filepath.Join(dir, "not-yet", "jwks.json")

	cases := []struct {
		name     string
		edit     func(c *Config)
		err      string   // New's error, "" for none
		warnings []string // each "option: start of reason"
	}{
		{"a sound config", func(c *Config) {}, "", nil},
		{"no audience", func(c *Config) { c.JWT.Audience = nil }, "",
			[]string{"jwt.audience: not set: every token the issuer signs"}},
		{"jwks_file that does not exist yet", func(c *Config) { c.JWT.Issuer, c.JWT.JWKSFile = "", missing }, "",
			[]string{"jwt.jwks_file: " + missing + " does not exist (yet)"}},
		{"jwks_file with no usable key", func(c *Config) { c.JWT.Issuer, c.JWT.JWKSFile = "", garbage },
			"jwt.jwks_file: " + garbage + " holds no usable key", nil},
		{"jwks_file a directory", func(c *Config) { c.JWT.Issuer, c.JWT.JWKSFile = "", dir },
			"jwt.jwks_file: " + dir + " is a directory", nil},
		{"key files missing and empty", func(c *Config) {
			c.Credentials = CredentialsConfig{AccessKeyFile: emptyKey, SecretKeyFile: filepath.Join(dir, "nope")}
		}, "", []string{
			"access_key_file: " + emptyKey + " is empty",
			"secret_key_file: " + filepath.Join(dir, "nope") + " does not exist (yet)",
		}},
		{"a key file that is a directory", func(c *Config) {
			c.Credentials = CredentialsConfig{AccessKeyFile: dir, SecretKeyFile: goodKey}
		}, "access_key_file: " + dir + " is a directory", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig()
			tc.edit(&cfg)
			got, err := loadWarnings(cfg)
			if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err)) {
				t.Fatalf("New: %v, want %q", err, tc.err)
			}
			if tc.err != "" && len(got) > 0 {
				t.Fatalf("New refused the config and logged warnings %q", got)
			}
			if len(got) != len(tc.warnings) {
				t.Fatalf("warnings %v, want %q", got, tc.warnings)
			}
			for i, w := range tc.warnings {
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("warning %d: %q, want it to start with %q", i, got[i], w)
				}
			}
		})
	}
}
