package core

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"sync"
	"time"
)

// fileKeySet serves the keys of a local file, for sites without a reachable
// identity provider: a JWKS document, or PEM with one or more PUBLIC KEY,
// RSA PUBLIC KEY or CERTIFICATE blocks (other blocks are ignored). PEM keys
// have no kid and are candidates for any token kid; a certificate only
// carries its key (its validity is not checked).
//
// The file is read on the first Keys call and re-read when it changes
// (size, modification time or identity, looked at once per second at most).
// A file unreadable on first use makes Keys fail with KindKeysUnavailable;
// once keys were read, a later unreadable or malformed version keeps them.
type fileKeySet struct {
	path string
	now  func() time.Time

	mu       sync.Mutex
	file     watchedFile
	keys     []jsonWebKey
	have     bool
	looked   time.Time
	lastErr  error
	reads    uint64
	failures uint64
}

// newFileKeySet returns a key set for the file at path. It does not read it.
func newFileKeySet(path string) *fileKeySet {
	return &fileKeySet{path: path, now: time.Now, file: watchedFile{path: path, limit: maxKeyDocumentBytes}}
}

// Stats returns how many times the file was (re)read and how many of those
// reads failed.
func (s *fileKeySet) Stats() (fetches, failures uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.reads, s.failures
}

// Keys implements KeySet.
func (s *fileKeySet) Keys(ctx context.Context, kid, alg string) ([]any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if lookDue(&s.looked, s.now()) {
		s.refresh()
	}
	if !s.have {
		return nil, keysUnavailable(s.lastErr, s.path)
	}
	return selectKeys(s.keys, kid, alg), nil
}

// refresh re-reads the file if it changed since the keys were read (or a
// read failed), keeping the keys it has when that fails. Called with s.mu
// held.
func (s *fileKeySet) refresh() {
	data, err := s.file.changed()
	if data == nil && err == nil && s.have {
		return
	}
	s.reads++
	var keys []jsonWebKey
	if err == nil {
		keys, err = parseKeyFile(data)
	}
	if err != nil {
		s.failures++
		s.file.info = nil // read it again at the next look
		s.lastErr = fmt.Errorf("key file %s: %w", s.path, err)
		return
	}
	s.keys = keys
	s.have = true
	s.lastErr = nil
}

// readKeyFile reads and parses a key file (at load: loadFiles).
func readKeyFile(path string) ([]jsonWebKey, error) {
	data, _, err := readFileBounded(path, maxKeyDocumentBytes)
	if err != nil {
		return nil, err
	}
	return parseKeyFile(data)
}

// parseKeyFile reads a JWKS document (it starts with "{") or PEM.
func parseKeyFile(data []byte) ([]jsonWebKey, error) {
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) > 0 && trimmed[0] == '{' {
		return parseJWKS(trimmed)
	}
	return parsePEMKeys(data)
}

// parsePEMKeys reads the public keys of PUBLIC KEY, RSA PUBLIC KEY and
// CERTIFICATE blocks. Unlike a JWKS member, a bad block fails the whole
// file: the operator wrote it and should hear about it.
func parsePEMKeys(data []byte) ([]jsonWebKey, error) {
	var keys []jsonWebKey
	rest := data
	for n := 1; ; n++ {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		var key any
		var err error
		switch block.Type {
		case "PUBLIC KEY":
			key, err = x509.ParsePKIXPublicKey(block.Bytes)
		case "RSA PUBLIC KEY":
			key, err = x509.ParsePKCS1PublicKey(block.Bytes)
		case "CERTIFICATE":
			var cert *x509.Certificate
			cert, err = x509.ParseCertificate(block.Bytes)
			if err == nil {
				key = cert.PublicKey
			}
		default:
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("PEM block %d (%s): %v", n, block.Type, err)
		}
		k, err := jwkFromPublicKey(key)
		if err != nil {
			return nil, fmt.Errorf("PEM block %d (%s): %v", n, block.Type, err)
		}
		k.anyKID = true
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("neither a JWKS document nor PEM with a PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE block")
	}
	return keys, nil
}
