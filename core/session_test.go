package core

import (
	"encoding/json"
	"strings"
	"testing"
)

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
			if got := sessionName(tt.claims, defaultSessionNameClaims); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
