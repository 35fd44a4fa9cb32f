package core

import (
	"strings"
	"testing"
	"time"
)

func TestValidateNamesTheOption(t *testing.T) {
	tests := []struct {
		option string
		edit   func(*Config)
	}{
		{"endpoint_url", func(c *Config) { c.EndpointURL = "" }},
		{"endpoint_url", func(c *Config) { c.EndpointURL = "s3.local" }},
		{"role_arn", func(c *Config) { c.RoleARN = "" }},
		{"mode", func(c *Config) { c.Mode = "magic" }},
		{"duration", func(c *Config) { c.Duration = time.Minute }},
		{"duration", func(c *Config) { c.Duration = 13 * time.Hour }},
		{"secret_key", func(c *Config) { c.Credentials.SecretKey = "" }},
		{"access_key", func(c *Config) {
			c.Credentials.AccessKey = ""
			c.Credentials.AccessKeyFile = ""
			c.Credentials.SecretKeyFile = "/x"
			c.Credentials.SecretKey = ""
		}},
		{"access_key", func(c *Config) { c.Credentials.AccessKeyFile = "/x" }},
		{"jwt.algorithms", func(c *Config) { c.JWT.Algorithms = []string{"none"} }},
		{"jwt.algorithms", func(c *Config) { c.JWT.Algorithms = []string{"HS256"} }},
		{"jwt.algorithms", func(c *Config) { c.JWT.Algorithms = []string{"RS1"} }},
		{"jwt", func(c *Config) { c.JWT.Issuer = "" }},
		{"jwt.jwks_url", func(c *Config) { c.JWT.JWKSURL = "ftp://x" }},
		{"jwt.leeway", func(c *Config) { c.JWT.Leeway = -time.Second }},
		{"jwt.refresh_cooldown", func(c *Config) { c.JWT.RefreshCooldown = -time.Second }},
		{"jwt.fetch_timeout", func(c *Config) { c.JWT.FetchTimeout = -time.Second }},
		{"timeout", func(c *Config) { c.STS.Timeout = -time.Second }},
		{"cache", func(c *Config) { c.Cache = -time.Second }},
		{"policy", func(c *Config) { c.Policy = "{" }},
		{"role", func(c *Config) { c.Roles = []RoleRule{{Claim: "groups", Value: "x"}} }},
		{"cache", func(c *Config) { c.Cache = 2 * time.Hour }},
		{"cache", func(c *Config) { c.Cache = 14 * time.Minute }},
		{"cache_max_entries", func(c *Config) { c.CacheMaxEntries = -1 }},
		{"jwt.key_max_age", func(c *Config) { c.JWT.KeyMaxAge = -time.Second }},
		{"sts_endpoint", func(c *Config) { c.STS.Endpoint = "localhost:9000" }},
		{"prefix", func(c *Config) { c.Prefix = "apis" }},
		{"access_key", func(c *Config) { c.Mode = ModeWebIdentity }},
	}
	for _, tt := range tests {
		c := testConfig()
		tt.edit(&c)
		err := c.Validate()
		if err == nil || !strings.HasPrefix(err.Error(), tt.option+":") {
			t.Errorf("want an error naming %s, got %v", tt.option, err)
		}
	}
	if err := testConfig().Validate(); err != nil {
		t.Errorf("the test config is valid: %v", err)
	}
	web := testConfig()
	web.Mode, web.Credentials, web.RoleARN = ModeWebIdentity, CredentialsConfig{}, ""
	if err := web.Validate(); err != nil {
		t.Errorf("web_identity needs no role or keys: %v", err)
	}
}

// TestInsecureSkipVerifyWarns: turning TLS verification off loads, and says
// so at load, naming the option.
func TestInsecureSkipVerifyWarns(t *testing.T) {
	c := testConfig()
	c.JWT.Audience = []string{"sts"}
	c.STS.InsecureSkipVerify = true
	c.JWT.InsecureSkipVerify = true
	warnings, err := loadWarnings(c)
	if err != nil {
		t.Fatal(err)
	}
	var named []string
	for _, w := range warnings {
		named = append(named, w[:strings.Index(w, ":")])
	}
	if got := strings.Join(named, " "); got != "insecure_skip_verify jwt.insecure_skip_verify" {
		t.Fatalf("warnings name %q; want both insecure_skip_verify options", got)
	}
}
