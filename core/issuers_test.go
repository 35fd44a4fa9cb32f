package core

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// rsaJWKS publishes k's RSA key as kid "rsa".
func rsaJWKS(t testing.TB, k *testKeys) []byte {
	t.Helper()
	pub := k.rsa.PublicKey
	data, err := json.Marshal(map[string]any{"keys": []map[string]any{{
		"kty": "RSA", "kid": "rsa", "use": "sig", "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
	}}})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// severalIssuers is a config trusting n issuers, https://idp<i>.test, each
// with its JWKS on its own counting server, admitting group g<i> as role
// r<i>; issuer 1 names sessions by sub and asks for 2 hours.
func severalIssuers(t testing.TB, n int) (Config, []*testKeys, []*ktServer) {
	cfg := testConfig()
	cfg.JWT = DefaultConfig().JWT
	cfg.RoleARN = ""
	keys := make([]*testKeys, n)
	servers := make([]*ktServer, n)
	for i := range keys {
		keys[i] = newTestKeys(t)
		servers[i] = newKTServer(t, rsaJWKS(t, keys[i]))
		j := DefaultConfig().JWT
		j.Issuer = fmt.Sprintf("https://idp%d.test", i)
		j.JWKSURL = servers[i].srv.URL + "/jwks"
		j.Audience = []string{"sts"}
		j.Roles = []RoleRule{{Claim: "group", Value: fmt.Sprintf("g%d", i), RoleARN: fmt.Sprintf("arn:aws:iam:::role/r%d", i)}}
		if i == 1 {
			j.SessionNameClaims = []string{"sub"}
			j.Duration = 2 * time.Hour
		}
		cfg.Issuers = append(cfg.Issuers, j)
	}
	return cfg, keys, servers
}

func issuerToken(t testing.TB, k *testKeys, i int, group, sub string) string {
	c := jwt.MapClaims{
		"iss": fmt.Sprintf("https://idp%d.test", i), "aud": "sts", "sub": sub, "preferred_username": "person-" + sub,
		"group": group, "exp": time.Now().Add(time.Hour).Unix(),
	}
	return k.sign(t, "RS256", c)
}

// TestSeveralIssuers: each token is checked by the issuer its iss names and
// mapped by that issuer's options; an unknown iss fetches nothing; another
// issuer's key is refused; one IdP down leaves the others serving.
func TestSeveralIssuers(t *testing.T) {
	cfg, keys, servers := severalIssuers(t, 10)
	sts := &stubSTS{}
	iss, err := New(cfg, Options{STS: sts})
	if err != nil {
		t.Fatal(err)
	}
	fetches := func() (n []int) {
		for _, s := range servers {
			n = append(n, s.count())
		}
		return n
	}
	for _, tc := range []struct {
		name, token, role, session string
		duration                   time.Duration
		status                     int
		detail                     string
		fetch                      int // the one issuer whose keys may be fetched; -1 none
	}{
		{name: "issuer 7", token: issuerToken(t, keys[7], 7, "g7", "a"), role: "arn:aws:iam:::role/r7", session: "person-a", duration: time.Hour, status: 201, fetch: 7},
		{name: "issuer 1's own session claim and duration", token: issuerToken(t, keys[1], 1, "g1", "svc"), role: "arn:aws:iam:::role/r1", session: "svc", duration: 2 * time.Hour, status: 201, fetch: 1},
		{name: "issuer 2's rule does not admit issuer 3's token", token: issuerToken(t, keys[3], 3, "g2", "b"), status: 403, detail: "no role rule admits this token", fetch: 3},
		{name: "iss of issuer 4, key of issuer 5", token: issuerToken(t, keys[5], 4, "g4", "c"), status: 401, detail: "token signature is invalid", fetch: 4},
		{name: "unknown iss", token: issuerToken(t, keys[0], 99, "g0", "d"), status: 401, detail: "token has invalid issuer", fetch: -1},
		{name: "no iss", token: keys[0].sign(t, "RS256", jwt.MapClaims{"sub": "e", "aud": "sts", "exp": time.Now().Add(time.Hour).Unix()}), status: 401, detail: "token has invalid issuer", fetch: -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := fetches()
			rec := putToken(iss, tc.token)
			if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.detail) {
				t.Fatalf("%d %s; want %d %q", rec.Code, rec.Body, tc.status, tc.detail)
			}
			if tc.status == 201 {
				sts.mu.Lock()
				got := sts.last
				sts.mu.Unlock()
				if got.RoleARN != tc.role || got.SessionName != tc.session || got.Duration != tc.duration {
					t.Errorf("STS asked for %s as %s for %s; want %s as %s for %s", got.RoleARN, got.SessionName, got.Duration, tc.role, tc.session, tc.duration)
				}
			}
			for i, n := range fetches() {
				if n != before[i] && i != tc.fetch {
					t.Errorf("issuer %d's keys were fetched", i)
				}
			}
		})
	}
	if n := fetches(); n[0] != 0 || n[9] != 0 {
		t.Errorf("keys fetched of issuers no valid token named: %v", n)
	}

	// Issuer 7's IdP goes down, its keys stale: issuer 1 keeps serving.
	servers[7].set(http.StatusInternalServerError, []byte("down"))
	if rec := putToken(iss, issuerToken(t, keys[1], 1, "g1", "svc2")); rec.Code != 201 {
		t.Fatalf("issuer 1 with issuer 7 down: %d %s", rec.Code, rec.Body)
	}
	if rec := putToken(iss, issuerToken(t, keys[6], 6, "g6", "f")); rec.Code != 201 {
		t.Fatalf("issuer 6, never fetched, with issuer 7 down: %d %s", rec.Code, rec.Body)
	}
}

func TestSeveralIssuersConfig(t *testing.T) {
	for _, tc := range []struct {
		name   string
		edit   func(c *Config)
		option string
		reason string
	}{
		{"valid", func(c *Config) {}, "", ""},
		{"jwt and issuers", func(c *Config) { c.JWT.Issuer = testIssuer }, "issuers", "not both"},
		{"no issuer", func(c *Config) { c.Issuers[1].Issuer = "" }, "issuers[1].issuer", "required"},
		{"the same issuer twice", func(c *Config) { c.Issuers[2].Issuer = c.Issuers[0].Issuer }, "issuers[2].issuer", "twice"},
		{"a bad option of an issuer", func(c *Config) { c.Issuers[1].Leeway = time.Hour }, "issuers[1].leeway", "at most 5m"},
		{"an issuer's bad duration", func(c *Config) { c.Issuers[1].Duration = time.Minute }, "issuers[1].duration", "between"},
		{"an issuer's bad claim path", func(c *Config) { c.Issuers[2].SessionNameClaims = []string{"a..b"} }, "issuers[2].session_name_claim", "empty part"},
		{"no role for an issuer", func(c *Config) { c.Issuers[0].Roles = nil }, "role_arn", "required"},
		{"no key source", func(c *Config) { c.Issuers[2].JWKSURL = ""; c.Issuers[2].Issuer = "not a url" }, "issuers[2].issuer", "http"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, _, _ := severalIssuers(t, 3)
			tc.edit(&cfg)
			err := cfg.Validate()
			if tc.option == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			ce, ok := err.(*ConfigError)
			if !ok || ce.Option != tc.option || !strings.Contains(ce.Reason, tc.reason) {
				t.Fatalf("got %v; want %s: …%s…", err, tc.option, tc.reason)
			}
		})
	}
}

// BenchmarkSeveralIssuers: a token's cost does not grow with the number of
// issuers (compare the sub-benchmarks): the issuer is found by one map
// lookup of its iss.
func BenchmarkSeveralIssuers(b *testing.B) {
	for _, n := range []int{1, 10} {
		b.Run(fmt.Sprintf("issuers=%d", n), func(b *testing.B) {
			cfg, keys, _ := severalIssuers(b, 10)
			cfg.Issuers = cfg.Issuers[:n]
			iss, err := New(cfg, Options{STS: &stubSTS{}})
			if err != nil {
				b.Fatal(err)
			}
			tok := issuerToken(b, keys[n-1], n-1, fmt.Sprintf("g%d", n-1), "bench")
			if rec := putToken(iss, tok); rec.Code != 201 {
				b.Fatalf("%d %s", rec.Code, rec.Body)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				putToken(iss, tok)
			}
		})
	}
}
