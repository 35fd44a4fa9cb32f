package core

import (
	"context"
	"io"
	"log/slog"
	"time"
)

// auditEvent is one decision. It holds no token, secret key or session token
// by construction: there is no field for them.
type auditEvent struct {
	route       string
	client      string
	subject     string
	role        string
	sessionName string
	accessKeyID string
	expiration  time.Time
	cached      bool
}

// audit writes one line per decision: Info for issued credentials and every
// refusal of a token request, Debug for the rest.
func (i *Issuer) audit(ctx context.Context, ev auditEvent, outcome string, status int, detail string) {
	level := slog.LevelInfo
	if ev.route == routeHealthz && status < 300 {
		level = slog.LevelDebug
	}
	if status == 405 {
		level = slog.LevelDebug
	}
	if !i.log.Enabled(ctx, level) {
		return
	}
	attrs := []slog.Attr{
		slog.String("route", ev.route),
		slog.String("outcome", outcome),
		slog.Int("status", status),
		slog.String("client", ev.client),
	}
	if ev.subject != "" {
		attrs = append(attrs, slog.String("subject", ev.subject))
	}
	if ev.role != "" {
		attrs = append(attrs, slog.String("role", ev.role))
	}
	if ev.sessionName != "" {
		attrs = append(attrs, slog.String("session_name", ev.sessionName))
	}
	if ev.accessKeyID != "" {
		attrs = append(attrs, slog.String("access_key_id", ev.accessKeyID))
		attrs = append(attrs, slog.String("expiration", FormatExpiration(ev.expiration)))
		attrs = append(attrs, slog.Bool("cached", ev.cached))
	}
	if detail != "" {
		attrs = append(attrs, slog.String("detail", detail))
	}
	i.log.LogAttrs(ctx, level, "sts token decision", attrs...)
}

// discardLogger is used when the host gives none. (slog.DiscardHandler is
// Go 1.24; a compiled handler above every level also keeps yaegi from having
// to wrap an interpreted slog.Handler.)
func discardLogger() *slog.Logger {
	return slog.New(slog.NewTextHandler(io.Discard, &slog.HandlerOptions{Level: slog.Level(1 << 10)}))
}
