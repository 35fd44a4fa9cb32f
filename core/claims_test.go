package core

import (
	"strings"
	"testing"
)

func TestClaimsLookupAndRoles(t *testing.T) {
	claims := Claims{
		"groups":                     []any{"a", "sts-users"},
		"realm_access":               map[string]any{"roles": []any{"s3"}},
		"https://example.com/tenant": "t1",
		"admin":                      true,
	}
	rules := []RoleRule{
		{Claim: "realm_access.roles", Value: "nope", RoleARN: "r0"},
		{Claim: "/https:~1~1example.com~1tenant", Value: "t1", RoleARN: "r1"},
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
		{"/realm_access/roles", "s3", true},
		{"/realm_access/roles/0", "s3", true},
		{"/realm_access/roles/1", "s3", false},
		{"/groups/01", "sts-users", false}, // RFC 6901: no leading zeros
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

// TestClaimPathsAreUnambiguous: a dotted path means nesting and nothing
// else, so a caller who can name a top-level claim "realm_access.roles"
// cannot satisfy a rule on the nested claim; names that hold dots or
// slashes are reached only by a JSON Pointer.
func TestClaimPathsAreUnambiguous(t *testing.T) {
	forged := Claims{
		"realm_access.roles": []any{"s3-admins"},
		"realm_access":       map[string]any{"roles": []any{"users"}},
		"kubernetes.io": map[string]any{
			"namespace":      "backup",
			"serviceaccount": map[string]any{"name": "nightly"},
		},
		"a/b": "slash", "m~n": "tilde",
	}
	rules := []RoleRule{{Claim: "realm_access.roles", Value: "s3-admins", RoleARN: "admin"}}
	if got := selectRole(forged, rules, ""); got != "" {
		t.Errorf("a literal top-level claim named realm_access.roles selected %q", got)
	}
	for _, tt := range []struct {
		path string
		want string
		ok   bool
	}{
		{"realm_access.roles", "", false}, // a list: not a string
		{"/realm_access.roles/0", "s3-admins", true},
		{"/realm_access/roles/0", "users", true},
		{"/kubernetes.io/serviceaccount/name", "nightly", true},
		{"/kubernetes.io/namespace", "backup", true},
		{"kubernetes.io.serviceaccount.name", "", false},
		{"/a~1b", "slash", true},
		{"/m~0n", "tilde", true},
	} {
		got, ok := forged.String(tt.path)
		if got != tt.want || ok != tt.ok {
			t.Errorf("String(%q) = %q, %v; want %q, %v", tt.path, got, ok, tt.want, tt.ok)
		}
	}
	// Session names read paths the same way: the literal dotted name is
	// never taken.
	if got := sessionName(Claims{"a.b": "literal", "a": map[string]any{"b": "nested"}}, []string{"a.b"}); got != "nested" {
		t.Errorf("session name from a.b = %q, want the nested claim", got)
	}
	if got := sessionName(forged, []string{"/kubernetes.io/serviceaccount/name", "sub"}); got != "nightly" {
		t.Errorf("session name from a JSON Pointer = %q", got)
	}
}

func TestClaimPathsCheckedAtLoad(t *testing.T) {
	for _, tt := range []struct {
		name   string
		edit   func(*Config)
		option string
		reason string // part of the reason; "" accepted
	}{
		{"dotted", func(c *Config) { c.Roles = []RoleRule{{Claim: "realm_access.roles", Value: "v", RoleARN: "r"}} }, "", ""},
		{"pointer", func(c *Config) { c.Roles = []RoleRule{{Claim: "/kubernetes.io/namespace", Value: "v", RoleARN: "r"}} }, "", ""},
		{"empty part", func(c *Config) { c.Roles = []RoleRule{{Claim: "realm_access..roles", Value: "v", RoleARN: "r"}} }, "role", "empty part"},
		{"trailing dot", func(c *Config) { c.SessionNameClaims = []string{"sub."} }, "session_name_claim", "empty part"},
		{"URL as dotted path", func(c *Config) { c.Roles = []RoleRule{{Claim: "https://example.com/roles", Value: "v", RoleARN: "r"}} }, "role", "/https:~1~1example.com~1roles"},
		{"bad escape", func(c *Config) { c.SessionNameClaims = []string{"/a~2b"} }, "session_name_claim", "~0"},
		{"policy placeholder", func(c *Config) { c.Policy = `{"x":"${claim:a..b}"}` }, "policy", "empty part"},
		{"policy pointer", func(c *Config) { c.Policy = `{"x":"${claim:/kubernetes.io/namespace}"}` }, "", ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := testConfig()
			tt.edit(&c)
			err := c.Validate()
			if tt.reason == "" {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				return
			}
			ce, ok := err.(*ConfigError)
			if !ok || ce.Option != tt.option || !strings.Contains(ce.Reason, tt.reason) {
				t.Fatalf("got %v; want %s: …%s…", err, tt.option, tt.reason)
			}
		})
	}
}
