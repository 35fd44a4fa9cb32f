package core

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
)

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

// StatsKeySet is a KeySet that counts its fetches. Every KeySet newKeySet
// returns is one; a host reads it with a type assertion. The counts belong to
// the shared source (see newKeySet), so every router that uses one source
// reports the same numbers.
type StatsKeySet interface {
	KeySet
	// Stats returns how many fetches (file reads, discovery and JWKS
	// requests) were started and how many of them failed.
	Stats() (fetches, failures uint64)
}

// newKeySet builds the key set that cfg asks for:
//   - jwks_url: a remoteKeySet;
//   - jwks_file: a fileKeySet;
//   - issuer alone: a discoveryKeySet (unless the algorithm allow-list holds
//     only HS* algorithms);
//   - hmac_secret: a staticKeySet of the secret, alone or combined with one
//     of the above so that HS* tokens get the secret and only the secret, and
//     every other alg only the asymmetric source.
//
// cfg is validated (Config.Validate). Nothing is fetched or read here
// except ca_file. Remote, discovery and file
// sources are shared process-wide by their settings, so the many instances a
// host builds (Traefik: one per router, again on every reload) fetch once.
func newKeySet(cfg JWTConfig, log *slog.Logger) (KeySet, error) {
	opts := remoteOptions{
		RefreshCooldown: cfg.RefreshCooldown,
		FetchTimeout:    cfg.FetchTimeout,
		MaxAge:          cfg.KeyMaxAge,
		Logger:          log,
	}
	tlsCfg, err := readTLS("jwt.ca_file", cfg.CAFile, cfg.InsecureSkipVerify)
	if err != nil {
		return nil, err
	}
	remoteKey := tlsCfg.key() + "\x00" + opts.RefreshCooldown.String() + "\x00" + opts.FetchTimeout.String() + "\x00" + opts.MaxAge.String()

	var asym StatsKeySet
	switch {
	case cfg.JWKSURL != "":
		u := cfg.JWKSURL
		asym = sharedKeySet("jwks\x00"+u+"\x00"+remoteKey, func() StatsKeySet {
			o := opts
			o.Client = tlsCfg.client(opts.FetchTimeout)
			return newRemoteKeySet(u, o)
		})
	case cfg.JWKSFile != "":
		path := filepath.Clean(cfg.JWKSFile)
		asym = sharedKeySet("file\x00"+path, func() StatsKeySet {
			return newFileKeySet(path)
		})
	case cfg.Issuer != "" && wantsAsymmetric(cfg.Algorithms):
		issuer := cfg.Issuer
		asym = sharedKeySet("discovery\x00"+issuer+"\x00"+remoteKey, func() StatsKeySet {
			o := opts
			o.Client = tlsCfg.client(opts.FetchTimeout)
			return newDiscoveryKeySet(issuer, o)
		})
	}

	if cfg.HMACSecret == "" {
		if asym == nil {
			return nil, errors.New("no key source: Config.Validate refuses this configuration")
		}
		return asym, nil
	}
	secret, err := newStaticKeySet([]byte(cfg.HMACSecret))
	if err != nil {
		return nil, err
	}
	if asym == nil {
		return secret, nil
	}
	return &hmacSplitKeySet{hmac: secret, asym: asym}, nil
}

// wantsAsymmetric reports whether the allow-list (empty: the defaults) holds
// an algorithm other than HS*.
func wantsAsymmetric(algs []string) bool {
	if len(algs) == 0 {
		return true
	}
	for _, alg := range algs {
		if !isHMACAlg(alg) {
			return true
		}
	}
	return false
}

// hmacSplitKeySet sends HS* to the HMAC secret and every other alg to the
// asymmetric source, so neither ever sees the other's algorithms.
type hmacSplitKeySet struct {
	hmac *staticKeySet
	asym StatsKeySet
}

func (s *hmacSplitKeySet) Keys(ctx context.Context, kid, alg string) ([]any, error) {
	if isHMACAlg(alg) {
		return s.hmac.Keys(ctx, kid, alg)
	}
	return s.asym.Keys(ctx, kid, alg)
}

func (s *hmacSplitKeySet) Stats() (fetches, failures uint64) {
	return s.asym.Stats()
}

// sharedKeySets are the key sources, shared by their settings (registry.go).
var sharedKeySets = newRegistry(256)

// sharedKeySet returns the source registered under key, building and
// registering it first if there is none.
func sharedKeySet(key string, build func() StatsKeySet) StatsKeySet {
	e, _ := sharedKeySets.get(key, func() (*sharedEntry, error) {
		ks := build()
		return &sharedEntry{keys: ks}, nil
	})
	return e.keys
}
