package core

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

func b64url(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func TestFormatExpirationMatchesPythonIsoformat(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(2019, 9, 24, 2, 17, 51, 739673000, time.UTC), "2019-09-24T02:17:51.739673+00:00"},
		{time.Date(2019, 9, 24, 2, 17, 51, 0, time.UTC), "2019-09-24T02:17:51+00:00"},
		{time.Date(2019, 9, 24, 2, 17, 51, 1000, time.UTC), "2019-09-24T02:17:51.000001+00:00"},
		{time.Date(2019, 9, 24, 2, 17, 51, 739673999, time.UTC), "2019-09-24T02:17:51.739673+00:00"},
		// Python keeps microseconds only: a sub-microsecond part is dropped.
		{time.Date(2019, 9, 24, 2, 17, 51, 999, time.UTC), "2019-09-24T02:17:51+00:00"},
		{time.Date(2019, 9, 24, 4, 17, 51, 500000000, time.FixedZone("CEST", 2*3600)), "2019-09-24T02:17:51.500000+00:00"},
	}
	for _, tt := range tests {
		if got := FormatExpiration(tt.in); got != tt.want {
			t.Errorf("FormatExpiration(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestSessionName(t *testing.T) {
	tests := []struct {
		name   string
		claims Claims
		want   string
	}{
		{"preferred_username", Claims{"preferred_username": "jane.doe@example.com", "sub": "123"}, "jane.doe@example.com"},
		{"falls back to sub", Claims{"sub": "f81d4fae-7dec"}, "f81d4fae-7dec"},
		{"spaces and slashes", Claims{"preferred_username": "Jane Doe/ops"}, "Jane-Doe-ops"},
		{"non-ASCII rune is one dash", Claims{"preferred_username": "jürgen"}, "j-rgen"},
		{"too short tries the next claim", Claims{"preferred_username": "j", "sub": "sub-1"}, "sub-1"},
		{"allowed punctuation kept", Claims{"preferred_username": "a=b,c.d@e-f_g"}, "a=b,c.d@e-f_g"},
		{"plus refused by RGW becomes a dash", Claims{"preferred_username": "jane+ops@example.com"}, "jane-ops@example.com"},
		{"truncated to 64", Claims{"preferred_username": strings.Repeat("a", 100)}, strings.Repeat("a", 64)},
		{"64 kept whole", Claims{"preferred_username": strings.Repeat("b", 64)}, strings.Repeat("b", 64)},
		{"65 cut to 64", Claims{"preferred_username": strings.Repeat("c", 65)}, strings.Repeat("c", 64)},
		{"control character", Claims{"preferred_username": "jane\x00doe"}, "jane-doe"},
		{"nothing usable", Claims{"email": "x"}, "stsgate"},
		{"number claim", Claims{"preferred_username": json.Number("12345")}, "12345"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sessionName(tt.claims, DefaultSessionNameClaims); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestClaimsLookupAndRoles(t *testing.T) {
	claims := Claims{
		"groups":                     []any{"a", "sts-users"},
		"realm_access":               map[string]any{"roles": []any{"s3"}},
		"https://example.com/tenant": "t1",
		"admin":                      true,
	}
	rules := []RoleRule{
		{Claim: "realm_access.roles", Value: "nope", RoleARN: "r0"},
		{Claim: "https://example.com/tenant", Value: "t1", RoleARN: "r1"},
		{Claim: "groups", Value: "sts-users", RoleARN: "r2"},
	}
	if got := selectRole(claims, rules, "default"); got != "r1" {
		t.Errorf("first match should win: got %q", got)
	}
	if got := selectRole(Claims{}, rules, "default"); got != "default" {
		t.Errorf("no match falls back to the default: got %q", got)
	}
	if got := selectRole(Claims{}, rules, ""); got != "" {
		t.Errorf("no match and no default: got %q", got)
	}
	for _, tt := range []struct {
		path, value string
		want        bool
	}{
		{"realm_access.roles", "s3", true},
		{"groups", "a", true},
		{"groups", "b", false},
		{"admin", "true", true},
		{"realm_access", "s3", false},
		{"missing.path", "x", false},
	} {
		if got := claims.Has(tt.path, tt.value); got != tt.want {
			t.Errorf("Has(%q, %q) = %v", tt.path, tt.value, got)
		}
	}
}

func TestPolicyTemplate(t *testing.T) {
	src := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":["s3:*"],
	  "Resource":["arn:aws:s3:::home/${claim:preferred_username}/*"],
	  "Condition":{"StringEquals":{"aws:username":"${aws:username}","t":"${claim:org.team}"}}}]}`
	tmpl, err := parsePolicyTemplate(src)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		claims  Claims
		want    string // a substring of the rendered policy
		refused bool
	}{
		{"fills and keeps IAM variables", Claims{"preferred_username": "jane", "org": map[string]any{"team": "ops"}},
			`"Resource":["arn:aws:s3:::home/jane/*"],"Condition":{"StringEquals":{"aws:username":"${aws:username}","t":"ops"}}`, false},
		{"escapes JSON", Claims{"preferred_username": `ja"ne\`, "org": map[string]any{"team": "x"}}, `home/ja\"ne\\/*`, false},
		{"wildcard value refused", Claims{"preferred_username": "*", "org": map[string]any{"team": "x"}}, "", true},
		{"variable value refused", Claims{"preferred_username": "${aws:userid}", "org": map[string]any{"team": "x"}}, "", true},
		{"missing claim refused", Claims{"preferred_username": "jane"}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tmpl.Render(tt.claims)
			if tt.refused {
				e, ok := asError(err)
				if !ok || e.Kind != KindForbidden {
					t.Fatalf("want a 403 refusal, got %q, %v", got, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(got, tt.want) || !json.Valid([]byte(got)) {
				t.Errorf("rendered %s\nwant it to hold %s", got, tt.want)
			}
		})
	}
	for _, bad := range []string{`{"a":"${claim:x"}`, `{"a":${claim:x}}`, `{"a":"${claim:}"}`, `not json`} {
		if _, err := parsePolicyTemplate(bad); err == nil {
			t.Errorf("parsePolicyTemplate(%q) accepted a bad template", bad)
		}
	}
}

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

func TestStripSpace(t *testing.T) {
	if len(visibleASCII) != 94 {
		t.Fatalf("visibleASCII holds %d characters, want the 94 from ! to ~", len(visibleASCII))
	}
	for c := byte('!'); c <= '~'; c++ {
		if strings.IndexByte(visibleASCII, c) < 0 {
			t.Errorf("visibleASCII lacks %q", c)
		}
	}
	for in, want := range map[string]string{
		"ASIA/key+0=":      "ASIA/key+0=",
		" tok\nen \t":      "token",
		"to\u00a0ken":      "token",
		"tok\u3000en":      "token",
		"":                 "",
		"only-visible~!@#": "only-visible~!@#",
	} {
		if got := stripSpace(in); got != want {
			t.Errorf("stripSpace(%q) = %q, want %q", in, got, want)
		}
	}
}
