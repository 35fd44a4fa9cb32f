package core

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"

	"github.com/golang-jwt/jwt/v5"
)

// --- helpers shared by the key-set tests (prefixed kt to stay clear of
// other test files in the package) ---

func ktB64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func ktRSAKey(t testing.TB, bits int) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ktECKey(t testing.TB, c elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(c, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ktEdKey(t testing.TB) ed25519.PrivateKey {
	t.Helper()
	_, k, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func ktRSAJWK(kid string, k *rsa.PublicKey) map[string]any {
	return map[string]any{
		"kty": "RSA", "kid": kid, "use": "sig",
		"n": ktB64(k.N.Bytes()), "e": ktB64(big.NewInt(int64(k.E)).Bytes()),
	}
}

func ktECJWK(kid string, k *ecdsa.PublicKey) map[string]any {
	size := (k.Curve.Params().BitSize + 7) / 8
	x := make([]byte, size)
	y := make([]byte, size)
	k.X.FillBytes(x)
	k.Y.FillBytes(y)
	return map[string]any{
		"kty": "EC", "kid": kid, "crv": k.Curve.Params().Name,
		"x": ktB64(x), "y": ktB64(y),
	}
}

func ktEdJWK(kid string, k ed25519.PublicKey) map[string]any {
	return map[string]any{"kty": "OKP", "kid": kid, "crv": "Ed25519", "x": ktB64(k)}
}

func ktJWKS(t testing.TB, keys ...map[string]any) []byte {
	t.Helper()
	if keys == nil {
		keys = []map[string]any{}
	}
	b, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func ktWith(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// ktSign signs a token with golang-jwt and verifies it against keys as the
// verifier does, so the tests prove the parsed key types suit golang-jwt.
func ktVerifies(t *testing.T, alg string, priv crypto.Signer, keys []any) bool {
	t.Helper()
	method := jwt.GetSigningMethod(alg)
	tok, err := jwt.NewWithClaims(method, jwt.MapClaims{"sub": "x"}).SignedString(priv)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(tok, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	for _, k := range keys {
		if method.Verify(parts[0]+"."+parts[1], sig, k) == nil {
			return true
		}
	}
	return false
}

// --- tests ---

func TestParseJWKSKeyTypes(t *testing.T) {
	rsaKey := ktRSAKey(t, 2048)
	p256 := ktECKey(t, elliptic.P256())
	p384 := ktECKey(t, elliptic.P384())
	p521 := ktECKey(t, elliptic.P521())
	ed := ktEdKey(t)

	tests := []struct {
		name string
		jwk  map[string]any
		kty  string
		alg  string
		priv crypto.Signer
	}{
		{"RSA", ktRSAJWK("r", &rsaKey.PublicKey), "RSA", "RS256", rsaKey},
		{"RSA PS", ktRSAJWK("r", &rsaKey.PublicKey), "RSA", "PS384", rsaKey},
		{"RSA private members ignored", ktWith(ktRSAJWK("r", &rsaKey.PublicKey), "d", ktB64(rsaKey.D.Bytes()), "p", "AQAB"), "RSA", "RS512", rsaKey},
		{"RSA padded base64", ktWith(ktRSAJWK("r", &rsaKey.PublicKey), "e", "AQAB===="), "RSA", "RS256", rsaKey},
		{"P-256", ktECJWK("e", &p256.PublicKey), "EC", "ES256", p256},
		{"P-384", ktECJWK("e", &p384.PublicKey), "EC", "ES384", p384},
		{"P-521", ktECJWK("e", &p521.PublicKey), "EC", "ES512", p521},
		{"Ed25519", ktEdJWK("o", ed.Public().(ed25519.PublicKey)), "OKP", "EdDSA", ed},
		{"use absent", ktWith(ktEdJWK("o", ed.Public().(ed25519.PublicKey)), "use", nil), "OKP", "EdDSA", ed},
		{"key_ops verify", ktWith(ktEdJWK("o", ed.Public().(ed25519.PublicKey)), "key_ops", []string{"verify"}), "OKP", "EdDSA", ed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			keys, err := parseJWKS(ktJWKS(t, tc.jwk))
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != 1 {
				t.Fatalf("got %d keys", len(keys))
			}
			k := keys[0]
			if k.Kty != tc.kty || k.KID != tc.jwk["kid"] {
				t.Fatalf("got kty %q kid %q", k.Kty, k.KID)
			}
			if !k.fits(tc.alg) {
				t.Fatalf("key does not fit %s", tc.alg)
			}
			if !ktVerifies(t, tc.alg, tc.priv, []any{k.Key}) {
				t.Fatalf("golang-jwt could not verify %s with the parsed key", tc.alg)
			}
			if _, isPriv := k.Key.(crypto.Signer); isPriv {
				t.Fatal("a private key was kept")
			}
		})
	}
}

func TestParseJWKSSkipsUnusableKeys(t *testing.T) {
	good := ktEdJWK("good", ktEdKey(t).Public().(ed25519.PublicKey))
	rsa1024 := ktRSAKey(t, 1024)
	rsa2048 := ktRSAKey(t, 2048)
	p256 := ktECKey(t, elliptic.P256())
	offCurve := ktECJWK("off", &p256.PublicKey)
	yb, _ := base64.RawURLEncoding.DecodeString(offCurve["y"].(string))
	yb[len(yb)-1] ^= 1
	offCurve["y"] = ktB64(yb)

	tests := []struct {
		name string
		jwk  any
	}{
		{"use enc", ktWith(good, "kid", "enc", "use", "enc")},
		{"key_ops without verify", ktWith(good, "kid", "ops", "key_ops", []string{"sign"})},
		{"oct", map[string]any{"kty": "oct", "kid": "oct", "k": ktB64([]byte("secret"))}},
		{"unknown kty", map[string]any{"kty": "XYZ", "kid": "xyz"}},
		{"RSA 1024", ktRSAJWK("small", &rsa1024.PublicKey)},
		{"RSA even exponent", ktWith(ktRSAJWK("even", &rsa2048.PublicKey), "e", ktB64([]byte{1, 0, 0}))},
		{"RSA huge exponent", ktWith(ktRSAJWK("hugee", &rsa2048.PublicKey), "e", ktB64([]byte{1, 0, 0, 0, 1}))},
		{"RSA missing n", ktWith(ktRSAJWK("non", &rsa2048.PublicKey), "n", nil)},
		{"RSA bad base64", ktWith(ktRSAJWK("b64", &rsa2048.PublicKey), "n", "!!!")},
		{"EC off curve", offCurve},
		{"EC P-224", map[string]any{"kty": "EC", "kid": "p224", "crv": "P-224", "x": "AA", "y": "AA"}},
		{"EC secp256k1", ktWith(ktECJWK("k1", &p256.PublicKey), "crv", "secp256k1")},
		{"EC long x", ktWith(ktECJWK("long", &p256.PublicKey), "x", ktB64(make([]byte, 33)))},
		{"EC missing y", ktWith(ktECJWK("noy", &p256.PublicKey), "y", nil)},
		{"OKP X25519", ktWith(good, "kid", "x25519", "crv", "X25519")},
		{"OKP Ed448", ktWith(good, "kid", "ed448", "crv", "Ed448")},
		{"OKP short x", ktWith(good, "kid", "short", "x", ktB64(make([]byte, 31)))},
		{"wrong member type", map[string]any{"kty": "RSA", "kid": 7}},
		{"not an object", "just a string"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, err := json.Marshal(map[string]any{"keys": []any{tc.jwk, good}})
			if err != nil {
				t.Fatal(err)
			}
			keys, err := parseJWKS(doc)
			if err != nil {
				t.Fatal(err)
			}
			if len(keys) != 1 || keys[0].KID != "good" {
				t.Fatalf("got %+v, want only the good key", keys)
			}
			// Alone, the unusable key makes the document unusable.
			doc, _ = json.Marshal(map[string]any{"keys": []any{tc.jwk}})
			if _, err := parseJWKS(doc); err == nil {
				t.Fatal("a JWKS with no usable key was accepted")
			}
		})
	}
}

func TestParseJWKSRefusesNonJWKS(t *testing.T) {
	for _, doc := range []string{``, `null`, `[]`, `{}`, `{"keys":null}`, `{"keys":[]}`, `{"keys":{}}`, `<html>`} {
		if _, err := parseJWKS([]byte(doc)); err == nil {
			t.Errorf("%q accepted", doc)
		}
	}
}

func TestJWKSKeyFits(t *testing.T) {
	rsaPub := &ktRSAKey(t, 2048).PublicKey
	p256 := &ktECKey(t, elliptic.P256()).PublicKey
	p384 := &ktECKey(t, elliptic.P384()).PublicKey
	p521 := &ktECKey(t, elliptic.P521()).PublicKey
	ed := ktEdKey(t).Public().(ed25519.PublicKey)
	keys := map[string]any{"RSA": rsaPub, "P-256": p256, "P-384": p384, "P-521": p521, "Ed25519": ed}
	fits := map[string]string{
		"RS256": "RSA", "RS384": "RSA", "RS512": "RSA",
		"PS256": "RSA", "PS384": "RSA", "PS512": "RSA",
		"ES256": "P-256", "ES384": "P-384", "ES512": "P-521",
		"EdDSA": "Ed25519",
		"HS256": "", "HS384": "", "HS512": "", "none": "", "": "", "rs256": "", "ES256K": "",
	}
	for alg, want := range fits {
		for name, key := range keys {
			got := jsonWebKey{Key: key}.fits(alg)
			if got != (name == want) {
				t.Errorf("%s key fits %q: %v", name, alg, got)
			}
		}
	}
	// A JWK's own alg must equal the token's.
	if (jsonWebKey{Key: rsaPub, Alg: "RS256"}).fits("PS256") {
		t.Error("an RS256 JWK fits PS256")
	}
	if !(jsonWebKey{Key: rsaPub, Alg: "PS256"}).fits("PS256") {
		t.Error("a PS256 JWK does not fit PS256")
	}
	if (jsonWebKey{Key: p256, Alg: "ES384"}).fits("ES384") {
		t.Error("a P-256 key with alg ES384 fits ES384")
	}
}

func TestSelectKeys(t *testing.T) {
	r1 := &ktRSAKey(t, 2048).PublicKey
	r2 := &ktRSAKey(t, 2048).PublicKey
	ec := &ktECKey(t, elliptic.P256()).PublicKey
	pemKey := &ktRSAKey(t, 2048).PublicKey
	set := []jsonWebKey{
		{KID: "a", Kty: "RSA", Key: r1},
		{KID: "b", Kty: "RSA", Key: r2, Alg: "RS256"},
		{KID: "a", Kty: "EC", Key: ec},
		{KID: "", Kty: "RSA", Key: r2},
	}
	withPEM := append(append([]jsonWebKey(nil), set...), jsonWebKey{Kty: "RSA", Key: pemKey, anyKID: true})

	tests := []struct {
		name     string
		keys     []jsonWebKey
		kid, alg string
		want     []any
	}{
		{"kid and alg", set, "a", "RS256", []any{r1}},
		{"kid, other type", set, "a", "ES256", []any{ec}},
		{"kid with its own alg", set, "b", "RS256", []any{r2}},
		{"kid, alg differs from the JWK's", set, "b", "PS256", []any{}},
		{"unknown kid", set, "zz", "RS256", []any{}},
		{"no kid: every fitting key", set, "", "RS256", []any{r1, r2, r2}},
		{"no kid, EC", set, "", "ES256", []any{ec}},
		{"HS256 never", set, "", "HS256", []any{}},
		{"PEM key matches any kid", withPEM, "zz", "RS256", []any{pemKey}},
		{"PEM key with the kid's keys", withPEM, "a", "RS256", []any{r1, pemKey}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := selectKeys(tc.keys, tc.kid, tc.alg)
			if got == nil {
				t.Fatal("nil result")
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d keys, want %d", len(got), len(tc.want))
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("key %d differs", i)
				}
			}
		})
	}
}

func BenchmarkParseJWKS(b *testing.B) {
	doc := ktJWKS(b,
		ktRSAJWK("r1", &ktRSAKey(b, 2048).PublicKey),
		ktRSAJWK("r2", &ktRSAKey(b, 2048).PublicKey),
		ktECJWK("e1", &ktECKey(b, elliptic.P256()).PublicKey),
		ktEdJWK("o1", ktEdKey(b).Public().(ed25519.PublicKey)),
	)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := parseJWKS(doc); err != nil {
			b.Fatal(err)
		}
	}
}
