package core

import (
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// credentialsRecheck is how often a file-backed source looks at its files.
const credentialsRecheck = time.Second

// maxKeyFileBytes bounds what is read of a key file.
const maxKeyFileBytes = 64 << 10

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
// again when a check, at most once per credentialsRecheck, finds it changed:
// another size, modification time or file (a Kubernetes Secret volume swaps a
// symlink). It starts no goroutine: the check happens in AccessKeys.
type fileCredentials struct {
	now func() time.Time

	mu        sync.Mutex
	checked   time.Time
	access    keyFile
	secret    keyFile
	lastError *Error
}

// keyFile is one key: inline when path is empty, else read from path.
type keyFile struct {
	option string
	path   string
	value  string
	info   os.FileInfo // of what value was read from
}

func newFileCredentials(cfg CredentialsConfig, now func() time.Time) *fileCredentials {
	return &fileCredentials{
		now: now,
		access: keyFile{
			option: "access_key_file",
			path:   cfg.AccessKeyFile,
			value:  strings.TrimSpace(cfg.AccessKey),
		},
		secret: keyFile{
			option: "secret_key_file",
			path:   cfg.SecretKeyFile,
			value:  strings.TrimSpace(cfg.SecretKey),
		},
	}
}

// AccessKeys returns the keys read last, after looking at the files when the
// last look is credentialsRecheck old.
func (s *fileCredentials) AccessKeys(ctx context.Context) (AccessKeys, error) {
	return fileAccessKeys(s, ctx)
}

// fileAccessKeys is AccessKeys, for the STS client's hot path (see
// doc.go).
func fileAccessKeys(s *fileCredentials, ctx context.Context) (AccessKeys, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if s.checked.IsZero() || now.Sub(s.checked) >= credentialsRecheck || now.Before(s.checked) {
		s.checked = now
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

// refresh re-reads the file when its stat differs from the one read last.
// The error names the option and the path, never the contents.
func (k *keyFile) refresh() *Error {
	if k.path == "" {
		return nil
	}
	cur, err := os.Stat(k.path)
	if err != nil {
		return k.fail(err)
	}
	if sameFileVersion(k.info, cur) {
		return nil
	}
	f, err := os.Open(k.path)
	if err != nil {
		return k.fail(err)
	}
	defer f.Close()
	// The stat of the open file describes exactly what is read.
	opened, err := f.Stat()
	if err != nil {
		return k.fail(err)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFileBytes))
	if err != nil {
		return k.fail(err)
	}
	v := strings.TrimSpace(string(data))
	if v == "" {
		return k.fail(fmt.Errorf("%s is empty", k.path))
	}
	k.value = v
	k.info = opened
	return nil
}

// fail forgets the key, so that it is read again once the file is back.
func (k *keyFile) fail(cause error) *Error {
	k.value = ""
	k.info = nil
	return GatewayCredentialsUnavailable(fmt.Errorf("%s: %w", k.option, cause))
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
