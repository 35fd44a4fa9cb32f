package core

import "context"

// KeySet finds the keys that may verify a token, the way go-oidc's KeySet
// does: one method, so tests and hosts can plug in their own.
//
// Keys returns the candidate verification keys for a token with the given
// kid (possibly empty) and alg: *rsa.PublicKey, *ecdsa.PublicKey,
// ed25519.PublicKey or, for HS*, []byte. A remote set refetches on an unknown
// kid (bounded by its cool-down). It returns an empty slice and nil when the
// keys were read but none fits, and a KindKeysUnavailable *Error when no keys
// could be read at all.
type KeySet interface {
	Keys(ctx context.Context, kid, alg string) ([]any, error)
}
