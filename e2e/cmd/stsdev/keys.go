package main

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

const (
	keyFileName  = "signing-key.pem"
	jwksFileName = "jwks.json"
)

// cmdKeys creates D/signing-key.pem (RSA 2048, PKCS#8) unless it exists, and
// writes D/jwks.json with its public half.
func cmdKeys(args []string, stdout io.Writer) error {
	fs := newFlagSet("keys", "keys -dir D")
	dir := fs.String("dir", "", "directory for "+keyFileName+" and "+jwksFileName+" (created if missing)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" {
		fs.Usage()
		return errors.New("keys: -dir is required")
	}
	if err := os.MkdirAll(*dir, 0o700); err != nil {
		return err
	}
	key, created, err := loadOrCreateKey(filepath.Join(*dir, keyFileName))
	if err != nil {
		return err
	}
	jwks, err := json.MarshalIndent(map[string]any{"keys": []any{publicJWK(key)}}, "", "  ")
	if err != nil {
		return err
	}
	jwksPath := filepath.Join(*dir, jwksFileName)
	if err := writeFileAtomic(jwksPath, append(jwks, '\n'), 0o644); err != nil {
		return err
	}
	state := "kept"
	if created {
		state = "created"
	}
	fmt.Fprintf(stdout, "signing key %s (%s, kid %s)\nJWKS %s\n", filepath.Join(*dir, keyFileName), state, keyID(key), jwksPath)
	return nil
}

func loadOrCreateKey(path string) (*rsa.PrivateKey, bool, error) {
	key, err := loadKey(path)
	if err == nil {
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, err
	}
	key, err = rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, false, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, false, err
	}
	data := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	if err := writeFileAtomic(path, data, 0o600); err != nil {
		return nil, false, err
	}
	return key, true, nil
}

func loadKey(path string) (*rsa.PrivateKey, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(data)
	if block == nil {
		return nil, fmt.Errorf("%s: no PEM block", path)
	}
	parsed, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		if k, err1 := x509.ParsePKCS1PrivateKey(block.Bytes); err1 == nil {
			return k, nil
		}
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	key, ok := parsed.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: not an RSA key", path)
	}
	return key, nil
}

func publicJWK(key *rsa.PrivateKey) map[string]any {
	return map[string]any{
		"kty": "RSA", "use": "sig", "alg": "RS256", "kid": keyID(key),
		"n": b64(key.N.Bytes()), "e": b64(big.NewInt(int64(key.E)).Bytes()),
	}
}

// keyID is the key's RFC 7638 thumbprint, so the kid is stable across runs.
func keyID(key *rsa.PrivateKey) string {
	canon := fmt.Sprintf(`{"e":%q,"kty":"RSA","n":%q}`, b64(big.NewInt(int64(key.E)).Bytes()), b64(key.N.Bytes()))
	sum := sha256.Sum256([]byte(canon))
	return b64(sum[:])
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

func writeFileAtomic(path string, data []byte, perm os.FileMode) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, data, perm); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// claimFlags collects repeated -claim k=v (a string) or k:=JSON (any JSON
// value: a number, a list, an object).
type claimFlags map[string]any

func (c claimFlags) String() string { return fmt.Sprint(map[string]any(c)) }

func (c claimFlags) Set(s string) error {
	if k, v, ok := strings.Cut(s, ":="); ok && !strings.Contains(k, "=") {
		var val any
		if err := json.Unmarshal([]byte(v), &val); err != nil {
			return fmt.Errorf("claim %s: not JSON: %v", k, err)
		}
		c[k] = val
		return nil
	}
	k, v, ok := strings.Cut(s, "=")
	if !ok || k == "" {
		return fmt.Errorf("claim %q: want name=value or name:=json", s)
	}
	c[k] = v
	return nil
}

// cmdToken prints an RS256 token signed with D's key.
func cmdToken(args []string, stdout io.Writer) error {
	fs := newFlagSet("token", "token -dir D -sub jane -aud X -iss Y [-ttl 1h] [-claim k=v]...")
	dir := fs.String("dir", "", "directory holding "+keyFileName+" (made by stsdev keys)")
	sub := fs.String("sub", "", "subject; also preferred_username unless a -claim sets it")
	aud := fs.String("aud", "", "audience (aud claim); also azp")
	iss := fs.String("iss", "", "issuer (iss claim)")
	ttl := fs.Duration("ttl", time.Hour, "lifetime (exp = now + ttl)")
	claims := claimFlags{}
	fs.Var(claims, "claim", "extra claim, repeatable: name=value (a string) or name:=JSON (e.g. groups:='[\"s3-users\"]')")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *dir == "" || *sub == "" || *aud == "" || *iss == "" {
		fs.Usage()
		return errors.New("token: -dir, -sub, -aud and -iss are required")
	}
	key, err := loadKey(filepath.Join(*dir, keyFileName))
	if err != nil {
		return fmt.Errorf("token: %w (run stsdev keys -dir %s first)", err, *dir)
	}
	now := time.Now()
	mc := jwt.MapClaims{
		"iss": *iss, "sub": *sub, "aud": *aud, "azp": *aud,
		"preferred_username": *sub,
		"iat":                now.Unix(), "nbf": now.Unix(), "exp": now.Add(*ttl).Unix(),
	}
	for k, v := range claims {
		mc[k] = v
	}
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, mc)
	t.Header["kid"] = keyID(key)
	s, err := t.SignedString(key)
	if err != nil {
		return err
	}
	fmt.Fprintln(stdout, s)
	return nil
}
