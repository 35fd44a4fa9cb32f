package core

import (
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// loadFiles reads at load what cfg's files hold, so that an operator hears
// of a mistake when the gateway starts rather than from every request after
// it. It reads each hmac_secret_file into its issuer's secret and refuses
// what is certainly wrong (a jwks_file with no usable key, a file that is a
// directory). What may come right later, or accepts more than the operator
// may think, it returns as warnings, which New logs. cfg is normalized, so
// its Issuers are its own to write.
func loadFiles(cfg Config) (Config, []error, error) {
	var warnings []error
	warn := func(option, reason string) { warnings = append(warnings, configError(option, reason)) }
	for _, option := range []string{"access_key_file", "secret_key_file"} {
		path := cfg.Credentials.SecretKeyFile
		if option == "access_key_file" {
			path = cfg.Credentials.AccessKeyFile
		}
		data, info, err := readFileBounded(path, maxSecretFileBytes)
		switch {
		case path == "":
		case info != nil && info.IsDir():
			return cfg, nil, configError(option, path+" is a directory")
		case os.IsNotExist(err):
			warn(option, path+" does not exist (yet): every token request is refused with 503 until it does")
		case err != nil:
			warn(option, fmt.Sprintf("%s cannot be read (%v): every token request is refused with 503 until it can", path, errorText(err)))
		case strings.TrimSpace(string(data)) == "":
			warn(option, path+" is empty: every token request is refused with 503 until it holds the key")
		}
	}
	if cfg.STS.InsecureSkipVerify {
		warn("insecure_skip_verify", "TLS certificates of the STS are not verified: whoever can intercept its address sees the gateway's signed calls and can answer them; for test setups only")
	}
	for i, t := range cfg.trusted() {
		j := &cfg.JWT
		if len(cfg.Issuers) > 0 {
			j = &cfg.Issuers[i]
		}
		if p := j.HMACSecretFile; p != "" {
			secret, err := readSecretFile(p)
			if err == nil && len(secret) < minHMACSecret {
				err = fmt.Errorf("%s holds %d bytes; the secret must be at least %d (RFC 7518: a key as long as the hash)", p, len(secret), minHMACSecret)
			}
			if err != nil {
				return cfg, nil, configError(t.Prefix+"hmac_secret_file", err.Error())
			}
			j.HMACSecret = secret
		}
		fi, err := os.Stat(j.JWKSFile)
		switch {
		case j.JWKSFile == "":
		case os.IsNotExist(err):
			warn(t.Prefix+"jwks_file", j.JWKSFile+" does not exist (yet): every request is refused with 503 until it does")
		case err == nil && fi.IsDir():
			return cfg, nil, configError(t.Prefix+"jwks_file", j.JWKSFile+" is a directory")
		case err == nil:
			if _, err := readKeyFile(j.JWKSFile); err != nil {
				return cfg, nil, configError(t.Prefix+"jwks_file", fmt.Sprintf("%s holds no usable key: %v", j.JWKSFile, err))
			}
		}
		if j.InsecureSkipVerify {
			warn(t.Prefix+"insecure_skip_verify", "TLS certificates of the key URLs are not verified: whoever can intercept them can mint tokens this gateway accepts; for test setups only")
		}
		if len(j.Audience) == 0 {
			warn(t.Prefix+"audience", "not set: every token the issuer signs, for any of its clients, is accepted; set it to this gateway's client ID")
		}
	}
	return cfg, warnings, nil
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

// errorText is err without the path an *fs.PathError repeats. (A type
// assertion, not errors.As: see docs/yaegi.md.)
func errorText(err error) string {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}
