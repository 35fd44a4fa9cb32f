// Package conformance is docs/api.md as data: an identity provider and an STS
// that tests start on loopback, the issuer configurations every host mounts,
// and the table of requests with the exact answers they must get. The core,
// the Caddy build and the Traefik plugin all run this same table, so any
// difference between them shows up as a failing row.
package conformance

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// SigningKey is one of the IdP's keys.
type SigningKey struct {
	Kid     string
	Private crypto.Signer
}

// IdP is an OpenID provider on loopback: discovery, a JWKS with fresh RSA,
// EC and Ed25519 keys, and token minting.
type IdP struct {
	URL    string
	server *httptest.Server
	RSA    SigningKey
	EC     SigningKey
	Ed     SigningKey
	// Attacker is a key the IdP does not publish.
	Attacker SigningKey
	// HMACSecret is an HMAC key for alg-confusion attempts.
	HMACSecret []byte
	// rsaCert is a self-signed certificate of RSA's key, published as the
	// JWK's x5c: Ceph RGW refuses a web identity whose key has none.
	rsaCert []byte
	// fetches counts discovery and JWKS requests.
	fetches atomic.Int64
}

// Fetches is how many discovery and JWKS requests the IdP has answered.
func (p *IdP) Fetches() int64 { return p.fetches.Load() }

// NewIdP starts an IdP on 127.0.0.1 with fresh keys.
func NewIdP() (*IdP, error) {
	return NewIdPAt("127.0.0.1:0")
}

// NewIdPAt starts an IdP with fresh keys listening on addr (a test that
// starts its gateway before its IdP picks the address first).
func NewIdPAt(addr string) (*IdP, error) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	_, edKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	attacker, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, err
	}
	rsaCert, err := selfSigned(rsaKey)
	if err != nil {
		return nil, err
	}
	p := &IdP{
		rsaCert:    rsaCert,
		RSA:        SigningKey{Kid: "rsa-1", Private: rsaKey},
		EC:         SigningKey{Kid: "ec-1", Private: ecKey},
		Ed:         SigningKey{Kid: "ed-1", Private: edKey},
		Attacker:   SigningKey{Kid: "attacker-1", Private: attacker},
		HMACSecret: []byte("conformance-hmac-secret-0123456789"),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"issuer":                                p.URL,
			"jwks_uri":                              p.URL + "/jwks",
			"authorization_endpoint":                p.URL + "/authorize",
			"token_endpoint":                        p.URL + "/token",
			"response_types_supported":              []string{"code"},
			"subject_types_supported":               []string{"public"},
			"id_token_signing_alg_values_supported": []string{"RS256", "ES256", "EdDSA"},
		})
	})
	mux.HandleFunc("/jwks", func(w http.ResponseWriter, r *http.Request) {
		p.fetches.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(p.JWKS())
	})
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	p.server = httptest.NewUnstartedServer(mux)
	p.server.Listener = ln
	p.server.Start()
	p.URL = p.server.URL
	return p, nil
}

// Close stops the IdP.
func (p *IdP) Close() { p.server.Close() }

// JWKS is the published key set (never the attacker key).
func (p *IdP) JWKS() []byte {
	rsaPub := p.RSA.Private.Public().(*rsa.PublicKey)
	ecPub := p.EC.Private.Public().(*ecdsa.PublicKey)
	edPub := p.Ed.Private.Public().(ed25519.PublicKey)
	doc := map[string]any{"keys": []map[string]any{
		{"kty": "RSA", "kid": p.RSA.Kid, "use": "sig", "n": b64(rsaPub.N.Bytes()), "e": b64(big.NewInt(int64(rsaPub.E)).Bytes()),
			"x5c": []string{base64.StdEncoding.EncodeToString(p.rsaCert)}},
		{"kty": "EC", "kid": p.EC.Kid, "use": "sig", "crv": "P-256", "x": b64(pad(ecPub.X.Bytes(), 32)), "y": b64(pad(ecPub.Y.Bytes(), 32))},
		{"kty": "OKP", "kid": p.Ed.Kid, "use": "sig", "alg": "EdDSA", "crv": "Ed25519", "x": b64(edPub)},
	}}
	data, _ := json.Marshal(doc)
	return data
}

// Claims are the claims of a well-formed token for this IdP and audience,
// valid from now for an hour.
func (p *IdP) Claims(now time.Time, subject string) jwt.MapClaims {
	return jwt.MapClaims{
		"iss":                p.URL,
		"aud":                Audience,
		"sub":                subject,
		"preferred_username": subject,
		"iat":                now.Unix(),
		"nbf":                now.Unix(),
		"exp":                now.Add(time.Hour).Unix(),
	}
}

// Sign signs claims with alg and key; header entries are added as given.
func Sign(alg string, key SigningKey, claims jwt.MapClaims, header map[string]any) string {
	t := jwt.NewWithClaims(jwt.GetSigningMethod(alg), claims)
	if key.Kid != "" {
		t.Header["kid"] = key.Kid
	}
	for k, v := range header {
		t.Header[k] = v
	}
	s, err := t.SignedString(key.Private)
	if err != nil {
		panic("conformance: signing failed: " + err.Error())
	}
	return s
}

// SignHMAC signs claims with an HMAC secret (used for alg-confusion cases).
func SignHMAC(alg string, secret []byte, kid string, claims jwt.MapClaims) string {
	t := jwt.NewWithClaims(jwt.GetSigningMethod(alg), claims)
	if kid != "" {
		t.Header["kid"] = kid
	}
	s, err := t.SignedString(secret)
	if err != nil {
		panic("conformance: signing failed: " + err.Error())
	}
	return s
}

// selfSigned is a DER certificate for key, valid for a day.
func selfSigned(key *rsa.PrivateKey) ([]byte, error) {
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(now.UnixNano()),
		Subject:      pkix.Name{CommonName: "stsgate conformance IdP"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
	}
	return x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func pad(b []byte, n int) []byte {
	if len(b) >= n {
		return b
	}
	out := make([]byte, n)
	copy(out[n-len(b):], b)
	return out
}
