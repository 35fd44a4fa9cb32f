package core

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
	"sync"
)

// sharedSTSClients are the STS clients hosts share by settings
// (registry.go): a client holds a connection pool, so one per instance
// would leave the idle connections (two goroutines each) of every replaced
// instance open until they time out.
var sharedSTSClients = newRegistry(64)

// stsOwners tracks which STS client each owner (a host's name for one
// configured middleware) uses now, so that the client a reload replaced is
// retired once no owner uses it.
var stsOwners = struct {
	sync.Mutex
	key   map[string]string // owner -> client key
	users map[string]int    // client key -> owners
}{key: map[string]string{}, users: map[string]int{}}

// SharedSTSClient returns the STS client for cfg (a validated config),
// shared with every other caller with the same STS settings and gateway
// keys, building it on first use; assume_role signs with cfg's own keys.
// owner names the caller's middleware (Traefik's name for it): when an
// owner's settings change on a reload, the client it used before is
// retired (STSClient.Retire) unless another owner still uses it. Errors
// are *ConfigError.
func SharedSTSClient(cfg Config, owner string) (*STSClient, error) {
	c, err := sharedSTSClient(cfg.normalized(), owner)
	return c, cfg.spelling().spell(err)
}

func sharedSTSClient(cfg Config, owner string) (*STSClient, error) {
	creds, err := signingCredentials(cfg)
	if err != nil {
		return nil, err
	}
	trust, err := readTLS("ca_file", cfg.STS.CAFile, cfg.STS.InsecureSkipVerify)
	if err != nil {
		return nil, err
	}
	key := stsClientKey(cfg, trust)
	e, err := sharedSTSClients.get(key, func() (*sharedEntry, error) {
		c, err := newSTSClient(cfg.STS, trust, creds)
		if err != nil {
			return nil, err
		}
		return &sharedEntry{sts: c}, nil
	})
	if err != nil {
		return nil, err
	}
	stsOwners.Lock()
	defer stsOwners.Unlock()
	old, had := stsOwners.key[owner]
	if had && old == key {
		return e.sts, nil
	}
	stsOwners.key[owner] = key
	stsOwners.users[key]++
	if had {
		if stsOwners.users[old]--; stsOwners.users[old] <= 0 {
			delete(stsOwners.users, old)
			if gone := sharedSTSClients.remove(old); gone != nil && gone.sts != nil {
				gone.sts.Retire()
			}
		}
	}
	return e.sts, nil
}

// STSClientKey tells STS settings apart for sharing clients: everything
// NewSTSClient and the credential source read, the CA bundle by content
// so that a rotated bundle gets a new client after a reload. Secrets enter
// only through the hash. ok is false when ca_file cannot be read.
func STSClientKey(cfg Config) (key string, ok bool) {
	cfg = cfg.normalized()
	trust, err := readTLS("ca_file", cfg.STS.CAFile, cfg.STS.InsecureSkipVerify)
	return stsClientKey(cfg, trust), err == nil
}

func stsClientKey(cfg Config, trust trustTLS) string {
	parts := []string{
		cfg.Mode,
		cfg.STS.Endpoint,
		cfg.STS.Region,
		trust.key(),
		cfg.STS.Timeout.String(),
		strconv.Itoa(cfg.STS.Retries),
		cfg.Credentials.AccessKey,
		cfg.Credentials.AccessKeyFile,
		cfg.Credentials.SecretKey,
		cfg.Credentials.SecretKeyFile,
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:])
}
