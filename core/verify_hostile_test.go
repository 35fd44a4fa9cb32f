package core

import (
	"context"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// signRaw signs exactly the header and payload bytes given, for tokens no
// JWT library would write.
func (k *testKeys) signRaw(t *testing.T, header, payload string) string {
	t.Helper()
	signing := b64url(header) + "." + b64url(payload)
	sig, err := jwt.SigningMethodRS256.Sign(signing, k.rsa)
	if err != nil {
		t.Fatal(err)
	}
	return signing + "." + b64url(string(sig))
}

// TestVerifierSignedButHostile: tokens the IdP's key really signed, shaped
// to slip past a check.
func TestVerifierSignedButHostile(t *testing.T) {
	keys := newTestKeys(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	cfg := DefaultConfig().JWT
	cfg.Issuer = testIssuer
	const header = `{"alg":"RS256","kid":"rsa"}`
	claims := `{"iss":"https://idp.test","aud":"sts","sub":"jane","exp":1772370000`
	for _, tt := range []struct {
		name, header, payload, detail string
	}{
		{"plain", header, claims + `}`, ""},
		{"nbf 1e19", header, claims + `,"nbf":1e19}`, "token is not valid yet"},
		{"nbf near MaxInt64", header, claims + `,"nbf":9223372036000000000}`, "token is not valid yet"},
		{"iat 1e19", header, claims + `,"iat":1e19}`, "token used before issued"},
		{"exp 1e19 is far off, not past", header, `{"iss":"https://idp.test","sub":"jane","exp":1e19}`, ""},
		{"nbf -1e19", header, claims + `,"nbf":-1e19}`, ""},
		{"second payload object", header, claims + `}{"iss":"evil"}`, "token is malformed"},
		{"payload with trailing garbage", header, claims + `} x`, "token is malformed"},
		{"payload with trailing whitespace", header, claims + "}\n ", ""},
		{"second header object", header + `{"alg":"none"}`, claims + `}`, "token is malformed"},
		{"header array", `["RS256"]`, claims + `}`, "token is malformed"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			v := newTokenVerifier(cfg, keys, func() time.Time { return now })
			_, err := v.Verify(context.Background(), keys.signRaw(t, tt.header, tt.payload))
			checkDetail(t, err, tt.detail)
		})
	}
}
