package core

import "testing"

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
