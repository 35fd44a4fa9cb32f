package core

import (
	"encoding/json"
	"strings"
	"testing"
)

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
