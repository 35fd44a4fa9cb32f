package core

import (
	"context"
	"io"
	"log/slog"
)

// auditEvent is one decision. It holds no token, secret key or session token
// by construction: there is no field for them.
type auditEvent struct {
	route  string
	client string
	// issuer is the trusted issuer the token named, once known.
	issuer      string
	subject     string
	role        string
	sessionName string
	accessKeyID string
	// expiration is the credentials' expiry as the answer wrote it.
	expiration string
	cached     bool
}

// audit writes one line per decision: Info for issued credentials and every
// refusal of a token request, Debug for the rest.
func audit(i *Issuer, ctx context.Context, ev *auditEvent, outcome string, status int, detail string) {
	level := slog.LevelInfo
	if status == 405 || (ev.route == routeHealthz && status < 300) {
		level = slog.LevelDebug
	}
	if i.log.Enabled(ctx, level) {
		auditLine(i.log, ctx, level, ev, outcome, status, detail)
	}
}

// auditLine writes the line; apart from audit so that a logger that
// discards it costs only the check (see doc.go).
func auditLine(log *slog.Logger, ctx context.Context, level slog.Level, ev *auditEvent, outcome string, status int, detail string) {
	// Key-value pairs in one call: a library call per slog.Attr costs more
	// under yaegi (Traefik); slog makes the same attributes of them.
	args := make([]any, 0, 22)
	args = append(args, "route", ev.route, "outcome", outcome, "status", status, "client", ev.client)
	if ev.issuer != "" {
		args = append(args, "issuer", ev.issuer)
	}
	if ev.subject != "" {
		args = append(args, "subject", ev.subject)
	}
	if ev.role != "" {
		args = append(args, "role", ev.role)
	}
	if ev.sessionName != "" {
		args = append(args, "session_name", ev.sessionName)
	}
	if ev.accessKeyID != "" {
		args = append(args, "access_key_id", ev.accessKeyID, "expiration", ev.expiration, "cached", ev.cached)
	}
	if detail != "" {
		args = append(args, "detail", detail)
	}
	log.Log(ctx, level, "sts token decision", args...)
}

// discardLogger is used when the host gives none. (slog.DiscardHandler is
// Go 1.24; a compiled handler above every level also keeps yaegi from having
// to wrap an interpreted slog.Handler.)
func discardLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.Level(1 << 10)}))
}
