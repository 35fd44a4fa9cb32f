package core

import (
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// What a configuration says about files and trust at load time, so that an
// operator hears about a mistake when the gateway starts rather than from
// every request after it: loadFiles (called by New) refuses what is
// certainly wrong, Warnings names what may be fine later or is a choice to
// make knowingly.

// loadFiles reads each hmac_secret_file into its issuer's secret and
// refuses a jwks_file that exists but holds no usable key and a key file
// that is a directory. Files that do not exist yet are Warnings.
func loadFiles(cfg Config) (Config, error) {
	blocks := []*JWTConfig{&cfg.JWT}
	if len(cfg.Issuers) > 0 {
		cfg.Issuers = append([]JWTConfig(nil), cfg.Issuers...)
		blocks = nil
		for i := range cfg.Issuers {
			blocks = append(blocks, &cfg.Issuers[i])
		}
	}
	for i, j := range blocks {
		prefix := "jwt."
		if len(cfg.Issuers) > 0 {
			prefix = fmt.Sprintf("issuers[%d].", i)
		}
		if p := j.HMACSecretFile; p != "" {
			secret, err := readSecretFile(p)
			if err == nil && len(secret) < minHMACSecret {
				err = fmt.Errorf("%s holds %d bytes; the secret must be at least %d (RFC 7518: a key as long as the hash)", p, len(secret), minHMACSecret)
			}
			if err != nil {
				return cfg, configError(prefix+"hmac_secret_file", err.Error())
			}
			j.HMACSecret = secret
		}
		if fi, err := os.Stat(j.JWKSFile); j.JWKSFile != "" && err == nil {
			if fi.IsDir() {
				return cfg, configError(prefix+"jwks_file", j.JWKSFile+" is a directory")
			}
			if _, err := readKeyFile(j.JWKSFile); err != nil {
				return cfg, configError(prefix+"jwks_file", fmt.Sprintf("%s holds no usable key: %v", j.JWKSFile, err))
			}
		}
	}
	for option, path := range map[string]string{"access_key_file": cfg.Credentials.AccessKeyFile, "secret_key_file": cfg.Credentials.SecretKeyFile} {
		if fi, err := os.Stat(path); path != "" && err == nil && fi.IsDir() {
			return cfg, configError(option, path+" is a directory")
		}
	}
	return cfg, nil
}

// readSecretFile reads a secret, dropping one trailing line ending. The
// error names the path, never the contents.
func readSecretFile(path string) (string, error) {
	data, _, err := readFileBounded(path, maxSecretFileBytes)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %s", path, errorText(err))
	}
	return strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r"), nil
}

// Warnings lists what in c will fail requests unless something changes
// after start, or accepts more than the operator may think, each naming its
// option as c's host writes it; hosts log them once, at load.
func (c Config) Warnings() []*ConfigError {
	var w []error
	warn := func(option, reason string) { w = append(w, configError(option, reason)) }
	for _, t := range c.trusted() {
		if _, err := os.Stat(t.JWT.JWKSFile); t.JWT.JWKSFile != "" && os.IsNotExist(err) {
			warn(t.Prefix+"jwks_file", t.JWT.JWKSFile+" does not exist (yet): every request is refused with 503 until it does")
		}
	}
	for _, option := range []string{"access_key_file", "secret_key_file"} {
		path := c.Credentials.SecretKeyFile
		if option == "access_key_file" {
			path = c.Credentials.AccessKeyFile
		}
		data, err := os.ReadFile(path)
		switch {
		case path == "":
		case os.IsNotExist(err):
			warn(option, path+" does not exist (yet): every token request is refused with 503 until it does")
		case err != nil:
			warn(option, fmt.Sprintf("%s cannot be read (%v): every token request is refused with 503 until it can", path, errorText(err)))
		case strings.TrimSpace(string(data)) == "":
			warn(option, path+" is empty: every token request is refused with 503 until it holds the key")
		}
	}
	if c.STS.InsecureSkipVerify {
		warn("insecure_skip_verify", "TLS certificates of the STS are not verified: whoever can intercept its address sees the gateway's signed calls and can answer them; for test setups only")
	}
	for _, t := range c.trusted() {
		if t.JWT.InsecureSkipVerify {
			warn(t.Prefix+"insecure_skip_verify", "TLS certificates of the key URLs are not verified: whoever can intercept them can mint tokens this gateway accepts; for test setups only")
		}
		if len(t.JWT.Audience) == 0 {
			warn(t.Prefix+"audience", "not set: every token the issuer signs, for any of its clients, is accepted; set it to this gateway's client ID")
		}
	}
	out := make([]*ConfigError, len(w))
	for i, err := range w {
		out[i] = c.spelling().spell(err).(*ConfigError)
	}
	return out
}

// errorText is err without the path an *fs.PathError repeats. (A type
// assertion, not errors.As: see docs/yaegi.md.)
func errorText(err error) string {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}
