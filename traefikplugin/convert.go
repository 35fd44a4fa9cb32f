package traefikplugin

import (
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/stsgate/stsgate/core"
)

// maxSecretFileBytes bounds what is read of hmacSecretFile.
const maxSecretFileBytes = 64 << 10

// coreConfig maps the options onto core.DefaultConfig(). It parses what the
// core cannot see (duration strings, hmacSecretFile); everything else is
// checked by core.Config.Validate. Errors name the option in camelCase.
func (c *Config) coreConfig() (core.Config, error) {
	cfg := core.DefaultConfig()
	cfg.Prefix = c.Prefix
	cfg.EndpointURL = strings.TrimSpace(c.EndpointURL)
	if c.Mode != "" {
		cfg.Mode = c.Mode
	}
	cfg.RoleARN = strings.TrimSpace(c.RoleARN)
	cfg.Roles = nil
	for _, r := range c.Roles {
		cfg.Roles = append(cfg.Roles, core.RoleRule{
			Claim:   strings.TrimSpace(r.Claim),
			Value:   r.Value,
			RoleARN: strings.TrimSpace(r.RoleARN),
		})
	}
	if claims := cleanList(c.SessionNameClaim); len(claims) > 0 {
		cfg.SessionNameClaims = claims
	}
	cfg.Policy = c.Policy
	cfg.PolicyFile = c.PolicyFile
	cfg.PublicHealthz = c.PublicHealthz
	cfg.ContainerCredentials = c.ContainerCredentials

	var err error
	if cfg.Duration, err = parseDuration("duration", c.Duration, core.DefaultDuration); err != nil {
		return core.Config{}, err
	}
	if cfg.Cache, err = parseDuration("cache", c.Cache, 0); err != nil {
		return core.Config{}, err
	}

	if c.STSEndpoint != "" {
		cfg.STS.Endpoint = strings.TrimSpace(c.STSEndpoint)
	}
	if c.Region != "" {
		cfg.STS.Region = c.Region
	}
	cfg.STS.CAFile = c.CAFile
	cfg.STS.InsecureSkipVerify = c.InsecureSkipVerify
	if cfg.STS.Timeout, err = parseDuration("timeout", c.Timeout, core.DefaultSTSTimeout); err != nil {
		return core.Config{}, err
	}
	cfg.STS.Retries = c.Retries

	cfg.Credentials.AccessKey = c.AccessKey
	cfg.Credentials.SecretKey = c.SecretKey
	cfg.Credentials.AccessKeyFile = c.AccessKeyFile
	cfg.Credentials.SecretKeyFile = c.SecretKeyFile

	if cfg.JWT, err = c.JWT.coreConfig(cfg.JWT); err != nil {
		return core.Config{}, err
	}
	return cfg, nil
}

func (j *JWTConfig) coreConfig(cfg core.JWTConfig) (core.JWTConfig, error) {
	cfg.Issuer = strings.TrimSpace(j.Issuer)
	cfg.Audience = cleanList(j.Audience)
	cfg.JWKSURL = strings.TrimSpace(j.JWKSURL)
	cfg.JWKSFile = j.JWKSFile
	cfg.CAFile = j.CAFile
	cfg.InsecureSkipVerify = j.InsecureSkipVerify
	cfg.Algorithms = cleanList(j.Algorithms)
	cfg.MaxTokenBytes = j.MaxTokenBytes

	var err error
	if cfg.Leeway, err = parseDuration("jwt.leeway", j.Leeway, core.DefaultLeeway); err != nil {
		return cfg, err
	}
	if cfg.RefreshCooldown, err = parseDuration("jwt.refreshCooldown", j.RefreshCooldown, core.DefaultRefreshCooldown); err != nil {
		return cfg, err
	}
	if cfg.FetchTimeout, err = parseDuration("jwt.fetchTimeout", j.FetchTimeout, core.DefaultFetchTimeout); err != nil {
		return cfg, err
	}

	cfg.HMACSecret = j.HMACSecret
	if j.HMACSecretFile != "" {
		if j.HMACSecret != "" {
			return cfg, optionError("jwt.hmacSecret", "give hmacSecret or hmacSecretFile, not both")
		}
		secret, err := readSecretFile(j.HMACSecretFile)
		if err != nil {
			return cfg, optionError("jwt.hmacSecretFile", err.Error())
		}
		cfg.HMACSecret = secret
	}
	return cfg, nil
}

// parseDuration reads a duration option: empty takes def, a bare integer is
// seconds, anything else is a Go duration such as "1h30m".
func parseDuration(option, value string, def time.Duration) (time.Duration, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return def, nil
	}
	if n, err := strconv.ParseInt(value, 10, 64); err == nil {
		if n > int64(1<<63-1)/int64(time.Second) || n < -int64(1<<63-1)/int64(time.Second) {
			return 0, optionError(option, fmt.Sprintf("%q seconds is out of range", value))
		}
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(value)
	if err != nil {
		return 0, optionError(option, fmt.Sprintf("not a duration: %q (write it like \"90s\", \"15m\" or \"1h\")", value))
	}
	return d, nil
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

// cleanList trims the members of a list option and drops empty ones, so
// that "a, b" (a comma-separated label) reads as ["a", "b"].
func cleanList(in []string) []string {
	var out []string
	for _, s := range in {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}
