package traefikplugin

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/stsgate/stsgate/core"
)

// maxSecretFileBytes bounds what is read of hmacSecretFile.
const maxSecretFileBytes = 64 << 10

// coreConfig maps the options onto core.DefaultConfig through the option
// table (core.ConfigFrom), which also reads the duration strings, and reads
// hmacSecretFile, which the core cannot see; everything else is checked by
// core.Config.Validate. Errors name the option in camelCase.
func (c *Config) coreConfig() (core.Config, error) {
	if err := c.unknownOption(); err != nil {
		return core.Config{}, err
	}
	raw, err := json.Marshal(c)
	if err != nil {
		return core.Config{}, err
	}
	cfg, err := core.ConfigFrom(raw, func(o core.OptionSpec) string { return o.Traefik })
	if err != nil {
		return core.Config{}, hostError(err)
	}
	if err := hmacSecretFile(c.JWT, &cfg.JWT, "jwt."); err != nil {
		return cfg, err
	}
	for n := range c.Issuers {
		if n < len(cfg.Issuers) {
			if err := hmacSecretFile(c.Issuers[n], &cfg.Issuers[n], fmt.Sprintf("issuers[%d].", n)); err != nil {
				return cfg, err
			}
		}
	}
	return cfg, nil
}

// hmacSecretFile reads block's hmacSecretFile into out, the core's block;
// prefix names the block in errors.
func hmacSecretFile(block JWTConfig, out *core.JWTConfig, prefix string) error {
	if block.HMACSecretFile == "" {
		return nil
	}
	if block.HMACSecret != "" {
		return optionError(prefix+"hmacSecret", "give hmacSecret or hmacSecretFile, not both")
	}
	secret, err := readSecretFile(block.HMACSecretFile)
	if err != nil {
		return optionError(prefix+"hmacSecretFile", err.Error())
	}
	out.HMACSecret = secret
	return nil
}

// readSecretFile reads a secret, dropping one trailing line ending. The
// error names the path, never the contents.
func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %v", path, unwrapPathError(err))
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxSecretFileBytes+1))
	if err != nil {
		return "", fmt.Errorf("cannot read %s: %v", path, unwrapPathError(err))
	}
	if len(data) > maxSecretFileBytes {
		return "", fmt.Errorf("%s is larger than %d bytes", path, maxSecretFileBytes)
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(data), "\n"), "\r")
	if s == "" {
		return "", fmt.Errorf("%s is empty", path)
	}
	return s, nil
}

// unwrapPathError keeps the cause of an *os.PathError, whose text repeats
// the path.
func unwrapPathError(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}
