package traefikplugin

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"

	"github.com/stsgate/stsgate/core"
)

// New builds the middleware: the issuer answers {prefix}/token,
// {prefix}/healthz and, with containerCredentials, {prefix}/credentials, and
// every other request goes to next untouched. It
// validates the options (an error names the option in camelCase, e.g.
// "roleArn: required when mode is assume_role (or give role rules)"),
// starts no goroutine and does no network I/O: signing keys are fetched on
// the first request, and key sets, credential files and STS clients are
// shared by settings between the instances Traefik builds on every reload.
func New(ctx context.Context, next http.Handler, config *Config, name string) (http.Handler, error) {
	handler, err := build(next, config, name)
	if err != nil {
		// A plain standard-library error crosses from the interpreter into
		// Traefik unchanged.
		return nil, errors.New(err.Error())
	}
	return handler, nil
}

func build(next http.Handler, config *Config, name string) (http.Handler, error) {
	if config == nil {
		config = CreateConfig()
	}
	raw, err := json.Marshal(config.Options)
	if err != nil {
		return nil, err
	}
	cfg, err := core.ConfigFrom(raw, core.HostTraefik, nil)
	if err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	sts, err := core.SharedSTSClient(cfg, name)
	if err != nil {
		return nil, err
	}
	issuer, err := core.New(cfg, core.Options{STS: sts, Logger: newLogger(name)})
	if err != nil {
		return nil, err
	}
	return issuer.Wrap(next), nil
}

// newLogger writes the core's audit lines (one per decision, at Info; never
// a token or a secret) as JSON lines on the standard output, which Traefik
// leaves to the process's log collection, naming the middleware.
func newLogger(name string) *slog.Logger {
	h := slog.NewJSONHandler(os.Stdout, &slog.HandlerOptions{Level: slog.LevelInfo})
	return slog.New(h).With(slog.String("middleware", name))
}
