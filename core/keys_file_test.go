package core

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func ktPEM(t testing.TB, typ string, der []byte) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
}

func ktPKIX(t testing.TB, pub any) []byte {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	return ktPEM(t, "PUBLIC KEY", der)
}

func ktCert(t testing.TB, priv *ecdsa.PrivateKey) []byte {
	t.Helper()
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "signer"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	return ktPEM(t, "CERTIFICATE", der)
}

// ktWriteFile writes data with a chosen modification time.
func ktWriteFile(t testing.TB, path string, data []byte, mtime time.Time) {
	t.Helper()
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chtimes(path, mtime, mtime); err != nil {
		t.Fatal(err)
	}
}

func newKTFile(path string, clk *fakeClock) *fileKeySet {
	s := newFileKeySet(path)
	s.now = clk.Now
	return s
}

func TestFileKeySetFormats(t *testing.T) {
	rsaKey := ktRSAKey(t, 2048)
	rsaKey2 := ktRSAKey(t, 2048)
	p384 := ktECKey(t, elliptic.P384())
	ed := ktEdKey(t).Public().(ed25519.PublicKey)
	dir := t.TempDir()

	var mixed []byte
	mixed = append(mixed, []byte("# signing keys\n")...)
	mixed = append(mixed, ktPKIX(t, &rsaKey.PublicKey)...)
	mixed = append(mixed, ktPEM(t, "RSA PUBLIC KEY", x509.MarshalPKCS1PublicKey(&rsaKey2.PublicKey))...)
	mixed = append(mixed, ktPEM(t, "EC PARAMETERS", []byte{6, 5, 43, 129, 4, 0, 34})...)
	mixed = append(mixed, ktCert(t, p384)...)
	mixed = append(mixed, ktPKIX(t, ed)...)

	jwks := ktJWKS(t, ktRSAJWK("r1", &rsaKey.PublicKey), ktEdJWK("o1", ed), ktWith(ktRSAJWK("", &rsaKey2.PublicKey), "kid", nil))

	tests := []struct {
		name     string
		data     []byte
		kid, alg string
		want     []any
	}{
		{"PEM: RSA keys, any kid", mixed, "whatever", "RS256", []any{&rsaKey.PublicKey, &rsaKey2.PublicKey}},
		{"PEM: certificate key", mixed, "", "ES384", []any{&p384.PublicKey}},
		{"PEM: Ed25519", mixed, "k", "EdDSA", []any{ed}},
		{"PEM: nothing for HS256", mixed, "", "HS256", nil},
		{"PEM: nothing for ES256", mixed, "", "ES256", nil},
		{"JWKS: by kid", jwks, "r1", "RS256", []any{&rsaKey.PublicKey}},
		{"JWKS: unknown kid", jwks, "zz", "RS256", nil},
		{"JWKS: no kid", jwks, "", "RS256", []any{&rsaKey.PublicKey, &rsaKey2.PublicKey}},
		{"JWKS with leading space", append([]byte("\n  "), jwks...), "o1", "EdDSA", []any{ed}},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "keys"+string(rune('a'+i)))
			ktWriteFile(t, path, tc.data, time.Now())
			got, err := newKTFile(path, newFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))).Keys(context.Background(), tc.kid, tc.alg)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("got %d keys, want %d", len(got), len(tc.want))
			}
			for j := range got {
				if !ktSameKey(got[j], tc.want[j]) {
					t.Fatalf("key %d differs", j)
				}
			}
		})
	}
}

func ktSameKey(a, b any) bool {
	type equaler interface{ Equal(x crypto.PublicKey) bool }
	if e, ok := a.(equaler); ok {
		return e.Equal(b)
	}
	return false
}

func TestFileKeySetBadFiles(t *testing.T) {
	small := ktRSAKey(t, 1024)
	p224 := ktECKey(t, elliptic.P224())
	dir := t.TempDir()
	const notAKeyFile = "neither a JWKS document nor PEM with a PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE block"
	tests := []struct {
		name   string
		data   []byte
		reason string
	}{
		{"empty", nil, notAKeyFile},
		{"garbage", []byte("not a key"), notAKeyFile},
		{"RSA 1024 PEM", ktPKIX(t, &small.PublicKey), "PEM block 1 (PUBLIC KEY): RSA key of 1024 bits is refused: at least 2048 are needed"},
		{"P-224 PEM", ktPKIX(t, &p224.PublicKey), `PEM block 1 (PUBLIC KEY): unsupported EC curve "P-224"`},
		{"private key only", ktPEM(t, "PRIVATE KEY", []byte{1, 2, 3}), notAKeyFile},
		{"corrupt PUBLIC KEY", ktPEM(t, "PUBLIC KEY", []byte{1, 2, 3}), "PEM block 1 (PUBLIC KEY): asn1: structure error"},
		{"JWKS without usable keys", []byte(`{"keys":[{"kty":"oct","k":"AA"}]}`), `JWKS holds no usable signature key (key 0: unsupported kty "oct")`},
		{"broken JSON", []byte(`{"keys":[`), "not a JWKS document: unexpected end of JSON input"},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(dir, "bad"+string(rune('a'+i)))
			ktWriteFile(t, path, tc.data, time.Now())
			_, err := newKTFile(path, newFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))).Keys(context.Background(), "", "RS256")
			e := ktKeysUnavailable(t, err)
			if want := "key file " + path + ": " + tc.reason; !strings.HasPrefix(e.Err.Error(), want) {
				t.Errorf("reason %q, want it to start with %q", e.Err, want)
			}
		})
	}
}

func TestFileKeySetRotation(t *testing.T) {
	ed1 := ktEdKey(t).Public().(ed25519.PublicKey)
	ed2 := ktEdKey(t).Public().(ed25519.PublicKey)
	ed3 := ktEdKey(t).Public().(ed25519.PublicKey)
	path := filepath.Join(t.TempDir(), "signer.pem")
	mtime := time.Now().Add(-time.Hour).Truncate(time.Second)
	ktWriteFile(t, path, ktPKIX(t, ed1), mtime)

	clk := newFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	ks := newKTFile(path, clk)
	expect := func(step string, want ed25519.PublicKey) {
		t.Helper()
		got, err := ks.Keys(context.Background(), "", "EdDSA")
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if len(got) != 1 || !want.Equal(got[0]) {
			t.Fatalf("%s: wrong key", step)
		}
	}
	expect("first read", ed1)

	// Rewritten in place (same size): seen through its modification time,
	// once the second has passed.
	ktWriteFile(t, path, ktPKIX(t, ed2), mtime.Add(time.Minute))
	expect("same instant", ed1)
	clk.Advance(999 * time.Millisecond)
	expect("999ms later", ed1)
	clk.Advance(time.Millisecond)
	expect("1s later", ed2)

	// Replaced by rename with the same size and modification time: seen
	// through the file's identity.
	tmp := path + ".new"
	ktWriteFile(t, tmp, ktPKIX(t, ed3), mtime.Add(time.Minute))
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	expect("after rename", ed3)

	// Broken or gone: the last good keys stay.
	ktWriteFile(t, path, []byte("-----BEGIN PUBLIC KEY-----\ntruncated"), mtime.Add(2*time.Minute))
	clk.Advance(time.Second)
	expect("corrupt file", ed3)
	if err := os.Remove(path); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	expect("file removed", ed3)
	ktWriteFile(t, path, ktPKIX(t, ed1), mtime.Add(3*time.Minute))
	clk.Advance(time.Second)
	expect("file back", ed1)

	if reads, failures := ks.Stats(); reads != 6 || failures != 2 {
		t.Fatalf("stats %d/%d, want 6/2", reads, failures)
	}
}

func TestFileKeySetMissingAtFirstUse(t *testing.T) {
	ed := ktEdKey(t).Public().(ed25519.PublicKey)
	path := filepath.Join(t.TempDir(), "later.pem")
	clk := newFakeClock(time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	ks := newKTFile(path, clk)
	_, err := ks.Keys(context.Background(), "", "EdDSA")
	e := ktKeysUnavailable(t, err)
	if !errors.Is(e, fs.ErrNotExist) {
		t.Fatalf("cause %v, want not-exist", e.Err)
	}
	ktWriteFile(t, path, ktPKIX(t, ed), time.Now())
	if _, err = ks.Keys(context.Background(), "", "EdDSA"); err == nil {
		t.Fatal("file looked at again within the second")
	}
	clk.Advance(time.Second)
	got, err := ks.Keys(context.Background(), "", "EdDSA")
	if err != nil || len(got) != 1 {
		t.Fatalf("%v, %v", got, err)
	}
}
