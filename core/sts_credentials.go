package core

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
)

// NewCredentialSource returns the source of the gateway's own keys that cfg
// describes: nil and no error when no keys are configured, a fixed source for
// inline keys, and a source that follows access_key_file and secret_key_file
// (either may be inline while the other is a file) when they are rotated.
// Files that do not exist yet are not an error here: the calls that need
// the keys fail with KindGatewayCredentials until they do.
//
// File-backed sources are shared per configuration, so the many instances a
// host builds (Traefik: one per router, again on every reload) read the files
// once.
func NewCredentialSource(cfg CredentialsConfig) (CredentialSource, error) {
	if !cfg.HasKeys() {
		return nil, nil
	}
	if cfg.AccessKeyFile == "" && cfg.SecretKeyFile == "" {
		keys := AccessKeys{
			AccessKeyID:     strings.TrimSpace(cfg.AccessKey),
			SecretAccessKey: strings.TrimSpace(cfg.SecretKey),
		}
		if keys.AccessKeyID == "" {
			return nil, configError("access_key", "is blank")
		}
		if keys.SecretAccessKey == "" {
			return nil, configError("secret_key", "is blank")
		}
		return &staticCredentials{keys: keys}, nil
	}
	if cfg.AccessKeyFile == "" && strings.TrimSpace(cfg.AccessKey) == "" {
		return nil, configError("access_key", "is blank")
	}
	if cfg.SecretKeyFile == "" && strings.TrimSpace(cfg.SecretKey) == "" {
		return nil, configError("secret_key", "is blank")
	}
	return sharedFileCredentials(cfg), nil
}

// staticCredentials are inline keys.
type staticCredentials struct {
	keys AccessKeys
}

func (s *staticCredentials) AccessKeys(ctx context.Context) (AccessKeys, error) {
	return s.keys, nil
}

// fileCredentials reads either key, or both, from files, and reads a file
// again when it changed (watchedFile). A file that cannot be read, or is
// empty, makes the keys unavailable until it can: a removed Secret stops
// signing instead of signing with what it held.
type fileCredentials struct {
	now func() time.Time

	mu        sync.Mutex
	looked    time.Time
	access    keyFile
	secret    keyFile
	lastError *Error
}

// keyFile is one key: inline when file.path is empty, else read from it.
type keyFile struct {
	option string
	file   watchedFile
	value  string
}

func newFileCredentials(cfg CredentialsConfig, now func() time.Time) *fileCredentials {
	return &fileCredentials{
		now: now,
		access: keyFile{
			option: "access_key_file",
			file:   watchedFile{path: cfg.AccessKeyFile, limit: maxSecretFileBytes},
			value:  strings.TrimSpace(cfg.AccessKey),
		},
		secret: keyFile{
			option: "secret_key_file",
			file:   watchedFile{path: cfg.SecretKeyFile, limit: maxSecretFileBytes},
			value:  strings.TrimSpace(cfg.SecretKey),
		},
	}
}

// AccessKeys returns the keys read last, after looking at the files when a
// look is due.
func (s *fileCredentials) AccessKeys(ctx context.Context) (AccessKeys, error) {
	return fileAccessKeys(s, ctx)
}

// fileAccessKeys is AccessKeys, for the STS client's hot path (see
// doc.go).
func fileAccessKeys(s *fileCredentials, ctx context.Context) (AccessKeys, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if lookDue(&s.looked, s.now()) {
		s.lastError = s.access.refresh()
		if s.lastError == nil {
			s.lastError = s.secret.refresh()
		}
	}
	if s.lastError != nil {
		return AccessKeys{}, s.lastError
	}
	return AccessKeys{AccessKeyID: s.access.value, SecretAccessKey: s.secret.value}, nil
}

// refresh reads the key again when its file changed. The error names the
// option and the path, never the contents.
func (k *keyFile) refresh() *Error {
	if k.file.path == "" {
		return nil
	}
	data, err := k.file.changed()
	if err == nil && data == nil {
		return nil
	}
	v := strings.TrimSpace(string(data))
	if err == nil && v == "" {
		err = fmt.Errorf("%s is empty", k.file.path)
	}
	if err != nil {
		// Forget the key, so that it is read again once the file is back.
		k.value = ""
		k.file.info = nil
		return GatewayCredentialsUnavailable(fmt.Errorf("%s: %w", k.option, err))
	}
	k.value = v
	return nil
}

// fileCredentialSources are the file-backed sources, shared by their
// settings (registry.go), so that the files are read once however many
// instances use them.
var fileCredentialSources = newRegistry(256)

func sharedFileCredentials(cfg CredentialsConfig) *fileCredentials {
	id := strings.Join([]string{
		cfg.AccessKeyFile, strings.TrimSpace(cfg.AccessKey),
		cfg.SecretKeyFile, strings.TrimSpace(cfg.SecretKey),
	}, "\x00")
	e, _ := fileCredentialSources.get(id, func() (*sharedEntry, error) {
		return &sharedEntry{creds: newFileCredentials(cfg, time.Now)}, nil
	})
	return e.creds
}
