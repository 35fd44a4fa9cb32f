package core

import (
	"crypto/ecdh"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"strings"
)

// RSA moduli outside these bounds are refused: below is too weak, above is
// a verification-cost hazard (and beyond what crypto/rsa accepts).
const (
	minRSABits = 2048
	maxRSABits = 16384
)

// jsonWebKey is one signature-verification key read from a JWKS document, a PEM
// file or given to a staticKeySet.
type jsonWebKey struct {
	// KID is the key's "kid"; empty when the source has none.
	KID string
	// Kty is "RSA", "EC" or "OKP".
	Kty string
	// Alg is the key's "alg"; when set, only tokens of that alg may use it.
	Alg string
	// Use is the key's "use": "sig" or empty.
	Use string
	// Key is *rsa.PublicKey, *ecdsa.PublicKey (P-256, P-384 or P-521) or
	// ed25519.PublicKey.
	Key any

	// anyKID marks a key that has no kid of its own (PEM, raw static keys):
	// it is a candidate whatever the token's kid.
	anyKID bool
}

// fits reports whether the key may verify a token signed with alg: RS* and
// PS* need an RSA key, ES256/ES384/ES512 an EC key on P-256/P-384/P-521,
// EdDSA an Ed25519 key, and a key with an alg of its own only that alg. No
// key fits HS*: HMAC secrets never come from a key document.
func (k jsonWebKey) fits(alg string) bool {
	if k.Alg != "" && k.Alg != alg {
		return false
	}
	return keyFitsAlg(k.Key, alg)
}

// keyFitsAlg reports whether an asymmetric public key suits the JWS alg.
func keyFitsAlg(key any, alg string) bool {
	switch alg {
	case "RS256", "RS384", "RS512", "PS256", "PS384", "PS512":
		_, ok := key.(*rsa.PublicKey)
		return ok
	case "ES256":
		return ecKeyOn(key, "P-256")
	case "ES384":
		return ecKeyOn(key, "P-384")
	case "ES512":
		return ecKeyOn(key, "P-521")
	case "EdDSA":
		k, ok := key.(ed25519.PublicKey)
		return ok && len(k) == ed25519.PublicKeySize
	}
	return false
}

func ecKeyOn(key any, curve string) bool {
	k, ok := key.(*ecdsa.PublicKey)
	if !ok || k == nil || k.Curve == nil {
		return false
	}
	return k.Curve.Params().Name == curve
}

// selectKeys returns the keys that may verify a token with this kid and alg:
// with a kid, the keys of that kid (and keys without a kid of their own, such
// as PEM keys); without one, every key. Only keys that fit alg are returned.
// The result is never nil.
func selectKeys(keys []jsonWebKey, kid, alg string) []any {
	out := make([]any, 0, 1)
	for _, k := range keys {
		if kid != "" && k.KID != kid && !k.anyKID {
			continue
		}
		if k.fits(alg) {
			out = append(out, k.Key)
		}
	}
	return out
}

// jwkJSON is one member of a JWKS "keys" array, public members only: private
// members (d, p, q, ...) are never read.
type jwkJSON struct {
	Kty    string   `json:"kty"`
	Kid    string   `json:"kid"`
	Alg    string   `json:"alg"`
	Use    string   `json:"use"`
	KeyOps []string `json:"key_ops"`
	Crv    string   `json:"crv"`
	N      string   `json:"n"`
	E      string   `json:"e"`
	X      string   `json:"x"`
	Y      string   `json:"y"`
}

// jwksJSON is a JWKS document. Keys is decoded member by member so that one
// odd key does not spoil the others.
type jwksJSON struct {
	Keys []json.RawMessage `json:"keys"`
}

// parseJWKS reads a JWKS document (RFC 7517) into its signature-verification
// keys. Keys of an unsupported type or curve, keys with a use other than
// "sig" or key_ops without "verify", and malformed or weak keys (RSA moduli
// under 2048 bits, EC points off their curve) are skipped. It fails when the
// document is not a JWKS or holds no usable key.
func parseJWKS(data []byte) ([]jsonWebKey, error) {
	var doc jwksJSON
	if err := json.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("not a JWKS document: %v", err)
	}
	if doc.Keys == nil {
		return nil, errors.New(`not a JWKS document: no "keys" member`)
	}
	keys := make([]jsonWebKey, 0, len(doc.Keys))
	var firstSkip string
	for i, raw := range doc.Keys {
		k, err := parseJWK(raw)
		if err != nil {
			if firstSkip == "" {
				firstSkip = fmt.Sprintf("key %d: %v", i, err)
			}
			continue
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		if firstSkip != "" {
			return nil, fmt.Errorf("JWKS holds no usable signature key (%s)", firstSkip)
		}
		return nil, errors.New("JWKS holds no keys")
	}
	return keys, nil
}

func parseJWK(raw json.RawMessage) (jsonWebKey, error) {
	var j jwkJSON
	if err := json.Unmarshal(raw, &j); err != nil {
		return jsonWebKey{}, fmt.Errorf("malformed: %v", err)
	}
	if j.Use != "" && j.Use != "sig" {
		return jsonWebKey{}, fmt.Errorf("use is %q, not sig", j.Use)
	}
	if j.KeyOps != nil && !jwkHasOp(j.KeyOps, "verify") {
		return jsonWebKey{}, errors.New(`key_ops lacks "verify"`)
	}
	k := jsonWebKey{KID: j.Kid, Kty: j.Kty, Alg: j.Alg, Use: j.Use}
	var err error
	switch j.Kty {
	case "RSA":
		k.Key, err = parseRSAJWK(j)
	case "EC":
		k.Key, err = parseECJWK(j)
	case "OKP":
		k.Key, err = parseOKPJWK(j)
	default:
		err = fmt.Errorf("unsupported kty %q", j.Kty)
	}
	if err != nil {
		return jsonWebKey{}, err
	}
	return k, nil
}

func parseRSAJWK(j jwkJSON) (*rsa.PublicKey, error) {
	nb, err := decodeB64URL(j.N)
	if err != nil || len(nb) == 0 {
		return nil, errors.New("RSA key has a missing or malformed n")
	}
	eb, err := decodeB64URL(j.E)
	if err != nil || len(eb) == 0 {
		return nil, errors.New("RSA key has a missing or malformed e")
	}
	for len(eb) > 1 && eb[0] == 0 {
		eb = eb[1:]
	}
	if len(eb) > 4 {
		return nil, errors.New("RSA key has an exponent that is too large")
	}
	e := 0
	for _, b := range eb {
		e = e<<8 | int(b)
	}
	key := &rsa.PublicKey{N: new(big.Int).SetBytes(nb), E: e}
	if err := checkRSAKey(key); err != nil {
		return nil, err
	}
	return key, nil
}

func checkRSAKey(key *rsa.PublicKey) error {
	if key.N == nil {
		return errors.New("RSA key has no modulus")
	}
	bits := key.N.BitLen()
	if bits < minRSABits {
		return fmt.Errorf("RSA key of %d bits is refused: at least %d are needed", bits, minRSABits)
	}
	if bits > maxRSABits {
		return fmt.Errorf("RSA key of %d bits is refused: at most %d are accepted", bits, maxRSABits)
	}
	if key.N.Bit(0) == 0 {
		return errors.New("RSA key has an even modulus")
	}
	if key.E < 3 || key.E > 1<<31-1 || key.E%2 == 0 {
		return fmt.Errorf("RSA key has an invalid exponent %d", key.E)
	}
	return nil
}

func parseECJWK(j jwkJSON) (*ecdsa.PublicKey, error) {
	curve, size, ok := ecCurve(j.Crv)
	if !ok {
		return nil, fmt.Errorf("unsupported EC curve %q", j.Crv)
	}
	x, err := decodeB64URL(j.X)
	if err != nil || len(x) == 0 || len(x) > size {
		return nil, errors.New("EC key has a missing or malformed x")
	}
	y, err := decodeB64URL(j.Y)
	if err != nil || len(y) == 0 || len(y) > size {
		return nil, errors.New("EC key has a missing or malformed y")
	}
	// Uncompressed point, coordinates left-padded to the field size; crypto/ecdh
	// refuses points that are not on the curve (or are the point at infinity).
	point := make([]byte, 1+2*size)
	point[0] = 4
	copy(point[1+size-len(x):1+size], x)
	copy(point[1+2*size-len(y):], y)
	if _, err := ecdhCurve(j.Crv).NewPublicKey(point); err != nil {
		return nil, errors.New("EC key's point is not on its curve")
	}
	return &ecdsa.PublicKey{
		Curve: curve,
		X:     new(big.Int).SetBytes(x),
		Y:     new(big.Int).SetBytes(y),
	}, nil
}

func ecCurve(crv string) (elliptic.Curve, int, bool) {
	switch crv {
	case "P-256":
		return elliptic.P256(), 32, true
	case "P-384":
		return elliptic.P384(), 48, true
	case "P-521":
		return elliptic.P521(), 66, true
	}
	return nil, 0, false
}

func ecdhCurve(crv string) ecdh.Curve {
	switch crv {
	case "P-384":
		return ecdh.P384()
	case "P-521":
		return ecdh.P521()
	}
	return ecdh.P256()
}

func parseOKPJWK(j jwkJSON) (ed25519.PublicKey, error) {
	if j.Crv != "Ed25519" {
		return nil, fmt.Errorf("unsupported OKP curve %q", j.Crv)
	}
	x, err := decodeB64URL(j.X)
	if err != nil || len(x) != ed25519.PublicKeySize {
		return nil, errors.New("Ed25519 key has a missing or malformed x")
	}
	return ed25519.PublicKey(x), nil
}

// jwkFromPublicKey wraps a public key from a PEM block or a caller, applying
// the same checks as a JWKS member.
func jwkFromPublicKey(key any) (jsonWebKey, error) {
	switch k := key.(type) {
	case *rsa.PublicKey:
		if k == nil {
			break
		}
		if err := checkRSAKey(k); err != nil {
			return jsonWebKey{}, err
		}
		return jsonWebKey{Kty: "RSA", Key: k}, nil
	case *ecdsa.PublicKey:
		if k == nil || k.Curve == nil {
			break
		}
		name := k.Curve.Params().Name
		if _, _, ok := ecCurve(name); !ok {
			return jsonWebKey{}, fmt.Errorf("unsupported EC curve %q", name)
		}
		return jsonWebKey{Kty: "EC", Key: k}, nil
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return jsonWebKey{}, errors.New("malformed Ed25519 key")
		}
		return jsonWebKey{Kty: "OKP", Key: k}, nil
	}
	return jsonWebKey{}, fmt.Errorf("unsupported key type %T", key)
}

// decodeB64URL decodes base64url, tolerating the padding RFC 7515 forbids.
func decodeB64URL(s string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(strings.TrimRight(s, "="))
}

func jwkHasOp(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
