package core

import (
	"context"
	"errors"
	"fmt"
)

// staticKeySet serves fixed keys: public keys for tests and hosts that hold
// their own, and the HMAC secret. An HMAC secret is returned for HS256,
// HS384 and HS512 and for nothing else; public keys are never returned for
// HS*. Keeping the two apart is what defeats algorithm confusion (an RS256
// public key used as an HS256 secret).
type staticKeySet struct {
	keys    []jsonWebKey
	secrets [][]byte
}

// newStaticKeySet returns a key set of the given keys, each one of:
//   - []byte: an HMAC secret (non-empty), a candidate for every HS* token;
//   - *rsa.PublicKey, *ecdsa.PublicKey or ed25519.PublicKey: a key without a
//     kid, a candidate for every token whose alg it fits;
//   - jsonWebKey: a key with its own kid and alg, selected as a JWKS member is.
//
// Keys are checked as JWKS members are (RSA at least 2048 bits, EC on P-256,
// P-384 or P-521).
func newStaticKeySet(keys ...any) (*staticKeySet, error) {
	s := &staticKeySet{}
	for i, key := range keys {
		// Plain assertions, not a type switch: yaegi's type switch does not
		// recognise an interpreted struct type such as jsonWebKey.
		if k, ok := key.(jsonWebKey); ok {
			checked, err := jwkFromPublicKey(k.Key)
			if err != nil {
				return nil, fmt.Errorf("key %d: %v", i, err)
			}
			if k.Kty != "" && k.Kty != checked.Kty {
				return nil, fmt.Errorf("key %d: kty %q does not match its %s key", i, k.Kty, checked.Kty)
			}
			k.Kty = checked.Kty
			k.anyKID = false
			s.keys = append(s.keys, k)
			continue
		}
		if secret, ok := key.([]byte); ok {
			if len(secret) == 0 {
				return nil, fmt.Errorf("key %d: empty HMAC secret", i)
			}
			s.secrets = append(s.secrets, append([]byte(nil), secret...))
			continue
		}
		checked, err := jwkFromPublicKey(key)
		if err != nil {
			return nil, fmt.Errorf("key %d: %v", i, err)
		}
		checked.anyKID = true
		s.keys = append(s.keys, checked)
	}
	if len(s.keys) == 0 && len(s.secrets) == 0 {
		return nil, errors.New("no keys")
	}
	return s, nil
}

// Stats implements the counters of the other key sets: a static set never
// fetches.
func (s *staticKeySet) Stats() (fetches, failures uint64) { return 0, 0 }

// Keys implements KeySet.
func (s *staticKeySet) Keys(ctx context.Context, kid, alg string) ([]any, error) {
	if isHMACAlg(alg) {
		out := make([]any, 0, len(s.secrets))
		for _, secret := range s.secrets {
			out = append(out, secret)
		}
		return out, nil
	}
	return selectKeys(s.keys, kid, alg), nil
}

// isHMACAlg reports whether alg is one of the HS* algorithms.
func isHMACAlg(alg string) bool {
	return alg == "HS256" || alg == "HS384" || alg == "HS512"
}
