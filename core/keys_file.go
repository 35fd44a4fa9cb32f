package core

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// fileRecheckInterval is the least time between two looks at a key file.
const fileRecheckInterval = time.Second

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

	mu        sync.Mutex
	keys      []jsonWebKey
	have      bool
	info      os.FileInfo // of the file the keys came from
	checked   bool
	checkedAt time.Time
	lastErr   error
	reads     uint64
	failures  uint64
}

// newFileKeySet returns a key set for the file at path. It does not read it.
func newFileKeySet(path string) *fileKeySet {
	return &fileKeySet{path: path, now: time.Now}
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
	now := s.now()
	if !s.checked || now.Sub(s.checkedAt) >= fileRecheckInterval || now.Before(s.checkedAt) {
		s.checked = true
		s.checkedAt = now
		s.refresh()
	}
	if !s.have {
		return nil, keysUnavailable(s.lastErr, s.path)
	}
	return selectKeys(s.keys, kid, alg), nil
}

// refresh re-reads the file if it changed since the keys were read (or a
// read failed). Called with s.mu held.
func (s *fileKeySet) refresh() {
	current, statErr := os.Stat(s.path)
	if statErr == nil && s.have && sameFileVersion(s.info, current) {
		return
	}
	s.reads++
	if statErr != nil {
		s.failures++
		s.lastErr = fmt.Errorf("key file %s: %w", s.path, statErr)
		return
	}
	keys, info, err := readKeyFile(s.path)
	if err != nil {
		s.failures++
		s.lastErr = fmt.Errorf("key file %s: %w", s.path, err)
		return
	}
	s.keys = keys
	s.info = info
	s.have = true
	s.lastErr = nil
}

func sameFileVersion(a, b os.FileInfo) bool {
	return a != nil && b != nil && os.SameFile(a, b) &&
		a.Size() == b.Size() && a.ModTime().Equal(b.ModTime())
}

// readKeyFile reads and parses a key file, returning the FileInfo of the very
// file it read.
func readKeyFile(path string) ([]jsonWebKey, os.FileInfo, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyDocumentBytes+1))
	if err != nil {
		return nil, nil, err
	}
	if len(data) > maxKeyDocumentBytes {
		return nil, nil, fmt.Errorf("larger than %d bytes", maxKeyDocumentBytes)
	}
	keys, err := parseKeyFile(data)
	if err != nil {
		return nil, nil, err
	}
	return keys, fi, nil
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
