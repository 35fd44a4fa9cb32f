package core

import (
	"fmt"
	"io/fs"
	"os"
	"strings"
)

// What a configuration says about files and trust at load time, so that an
// operator hears about a mistake when the gateway starts rather than from
// every request after it.
//
//   - checkFiles (called by New): an error for what is certainly wrong: a
//     jwks_file that exists but holds no usable key, a key file that is a
//     directory.
//   - Warnings: what may be fine later or is a choice to make knowingly: a
//     file that does not exist yet (a Kubernetes Secret mounted after
//     start), an empty key file, a jwt block that accepts every audience.

// checkFiles is the load-time error of cfg's files, if any.
func checkFiles(cfg Config) error {
	for _, t := range cfg.trusted() {
		if p := t.JWT.JWKSFile; p != "" {
			if fi, err := os.Stat(p); err == nil {
				if fi.IsDir() {
					return configError(t.Prefix+"jwks_file", p+" is a directory")
				}
				if _, _, err := readKeyFile(p); err != nil {
					return configError(t.Prefix+"jwks_file", fmt.Sprintf("%s holds no usable key: %v", p, err))
				}
			}
		}
	}
	for _, f := range []struct{ option, path string }{
		{"access_key_file", cfg.Credentials.AccessKeyFile},
		{"secret_key_file", cfg.Credentials.SecretKeyFile},
	} {
		if f.path == "" {
			continue
		}
		if fi, err := os.Stat(f.path); err == nil && fi.IsDir() {
			return configError(f.option, f.path+" is a directory")
		}
	}
	return nil
}

// Warnings lists what in cfg will fail requests unless something changes
// after start, or accepts more than the operator may think. Each names its
// option; hosts log them once, when the configuration loads, in their own
// spelling of the option.
func (c Config) Warnings() []*ConfigError {
	var w []*ConfigError
	trusted := c.trusted()
	for _, t := range trusted {
		if p := t.JWT.JWKSFile; p != "" {
			if _, err := os.Stat(p); os.IsNotExist(err) {
				w = append(w, &ConfigError{Option: t.Prefix + "jwks_file", Reason: p + " does not exist (yet): every request is refused with 503 until it does"})
			}
		}
	}
	for _, f := range []struct{ option, path string }{
		{"access_key_file", c.Credentials.AccessKeyFile},
		{"secret_key_file", c.Credentials.SecretKeyFile},
	} {
		if f.path == "" {
			continue
		}
		data, err := os.ReadFile(f.path)
		switch {
		case os.IsNotExist(err):
			w = append(w, &ConfigError{Option: f.option, Reason: f.path + " does not exist (yet): every token request is refused with 503 until it does"})
		case err != nil:
			w = append(w, &ConfigError{Option: f.option, Reason: fmt.Sprintf("%s cannot be read (%v): every token request is refused with 503 until it can", f.path, errorText(err))})
		case strings.TrimSpace(string(data)) == "":
			w = append(w, &ConfigError{Option: f.option, Reason: f.path + " is empty: every token request is refused with 503 until it holds the key"})
		}
	}
	if c.STS.InsecureSkipVerify {
		w = append(w, &ConfigError{Option: "insecure_skip_verify", Reason: "TLS certificates of the STS are not verified: whoever can intercept its address sees the gateway's signed calls and can answer them; for test setups only"})
	}
	for _, t := range trusted {
		if t.JWT.InsecureSkipVerify {
			w = append(w, &ConfigError{Option: t.Prefix + "insecure_skip_verify", Reason: "TLS certificates of the key URLs are not verified: whoever can intercept them can mint tokens this gateway accepts; for test setups only"})
		}
		if len(t.JWT.Audience) == 0 {
			w = append(w, &ConfigError{Option: t.Prefix + "audience", Reason: "not set: every token the issuer signs, for any of its clients, is accepted; set it to this gateway's client ID"})
		}
	}
	return w
}

// errorText is err without the path an *fs.PathError repeats. (A type
// assertion, not errors.As: see docs/yaegi.md.)
func errorText(err error) string {
	if pe, ok := err.(*fs.PathError); ok {
		return pe.Err.Error()
	}
	return err.Error()
}
