package traefikplugin

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"strconv"
	"strings"
	"sync"

	"github.com/stsgate/stsgate/core"
)

// Traefik builds one middleware per router and builds them all again on
// every configuration reload. The core's STS client holds a connection pool,
// so a client per instance would leave the idle connections (two goroutines
// each) of every replaced instance open until they time out. Instances with
// the same STS settings and gateway keys share one client instead, the way
// the core shares key sets and credential files.
const maxSharedSTSClients = 64

var sharedSTSClients = &stsRegistry{clients: make(map[string]*core.STSClient)}

type stsRegistry struct {
	mu      sync.Mutex
	clients map[string]*core.STSClient
	order   []string
}

// stsClient returns the shared standard-library STS client for cfg (a
// validated config), building it on first use. Errors are the core's
// *core.ConfigError.
func stsClient(cfg core.Config) (*core.STSClient, error) {
	var creds core.CredentialSource
	if cfg.Mode != core.ModeWebIdentity {
		var err error
		if creds, err = core.NewCredentialSource(cfg.Credentials); err != nil {
			return nil, err
		}
		if creds == nil {
			return nil, &core.ConfigError{Option: "access_key", Reason: "required when mode is assume_role (or access_key_file)"}
		}
	}
	key, ok := stsKey(cfg)
	if !ok {
		// ca_file cannot be read: let the core say so.
		return core.NewSTSClient(cfg.STS, creds)
	}
	return sharedSTSClients.get(key, func() (*core.STSClient, error) {
		return core.NewSTSClient(cfg.STS, creds)
	})
}

// stsKey tells STS settings apart: everything NewSTSClient and the
// credential source read, the CA bundle by content so that a rotated bundle
// gets a new client after a reload. Secrets enter only through the hash.
func stsKey(cfg core.Config) (string, bool) {
	var caPEM []byte
	if cfg.STS.CAFile != "" {
		var err error
		if caPEM, err = os.ReadFile(cfg.STS.CAFile); err != nil {
			return "", false
		}
	}
	caSum := sha256.Sum256(caPEM)
	parts := []string{
		cfg.Mode,
		cfg.STS.Endpoint,
		cfg.STS.Region,
		cfg.STS.CAFile,
		hex.EncodeToString(caSum[:]),
		strconv.FormatBool(cfg.STS.InsecureSkipVerify),
		cfg.STS.Timeout.String(),
		strconv.Itoa(cfg.STS.Retries),
		cfg.Credentials.AccessKey,
		cfg.Credentials.AccessKeyFile,
		cfg.Credentials.SecretKey,
		cfg.Credentials.SecretKeyFile,
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:]), true
}

func (r *stsRegistry) get(key string, build func() (*core.STSClient, error)) (*core.STSClient, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.clients[key]; ok {
		return c, nil
	}
	c, err := build()
	if err != nil {
		return nil, err
	}
	if len(r.order) >= maxSharedSTSClients {
		// Forgetting a client only stops it being shared; its idle
		// connections close on their own timeout.
		delete(r.clients, r.order[0])
		r.order = r.order[1:]
	}
	r.clients[key] = c
	r.order = append(r.order, key)
	return c, nil
}
