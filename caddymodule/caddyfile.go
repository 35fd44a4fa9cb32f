package caddymodule

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/caddyserver/caddy/v2"
	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"
	"github.com/caddyserver/caddy/v2/caddyconfig/httpcaddyfile"

	"github.com/stsgate/stsgate/core"
)

func init() {
	httpcaddyfile.RegisterDirective("sts_token", parseDirective)
	// The handler authenticates its own routes with bearer tokens, so it
	// runs before any other authentication of the site.
	httpcaddyfile.RegisterDirectiveOrder("sts_token", httpcaddyfile.Before, "basic_auth")
}

// parseDirective is httpcaddyfile.RegisterHandlerDirective's wrapper with one
// difference: a first argument that is a path is the issuer's prefix, not a
// path matcher (RegisterHandlerDirective would turn `sts_token /apis/sts`
// into a route that matches only the exact path /apis/sts, so the handler
// would never see /apis/sts/token). A named matcher (@name) or * may still
// come first, as with any handler directive:
//
//	sts_token [<matcher>] [<prefix>] { ... }
func parseDirective(h httpcaddyfile.Helper) ([]httpcaddyfile.ConfigValue, error) {
	if !h.Next() {
		return nil, h.ArgErr()
	}
	var matcherSet caddy.ModuleMap
	if h.NextArg() && (h.Val() == "*" || strings.HasPrefix(h.Val(), "@")) {
		h.Prev()
		var err error
		if matcherSet, err = h.ExtractMatcherSet(); err != nil {
			return nil, err
		}
	}
	h.Reset()
	handler := new(Handler)
	if err := handler.UnmarshalCaddyfile(h.Dispenser); err != nil {
		return nil, err
	}
	return h.NewRoute(matcherSet, handler), nil
}

// UnmarshalCaddyfile sets up the handler from Caddyfile tokens:
//
//	sts_token [<prefix>] {
//	    endpoint_url         <url>
//	    sts_endpoint         <url>
//	    region               <name>
//	    mode                 assume_role|web_identity
//	    role_arn             <arn>
//	    role                 <claim> <value> <arn>
//	    duration             <duration>
//	    session_name_claim   <claim...>
//	    access_key           <id>
//	    access_key_file      <path>
//	    secret_key           <secret>
//	    secret_key_file      <path>
//	    ca_file              <path>
//	    insecure_skip_verify
//	    policy               <json>
//	    policy_file          <path>
//	    timeout              <duration>
//	    retries              <n>
//	    public_healthz
//	    container_credentials
//	    cache                <window>
//	    jwt {
//	        issuer               <url>
//	        audience             <aud...>
//	        jwks_url             <url>
//	        jwks_file            <path>
//	        ca_file              <path>
//	        insecure_skip_verify
//	        algorithms           <alg...>
//	        leeway               <duration>
//	        hmac_secret          <secret>
//	        refresh_cooldown     <duration>
//	        fetch_timeout        <duration>
//	        max_token_bytes      <n>
//	    }
//	}
//
// role, session_name_claim, audience and algorithms may be repeated; their
// values add up. The whole configuration is checked once the block is read,
// so `caddy adapt` already names a missing or wrong option (secrets that
// hold placeholders are checked once resolved, when the config loads).
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	h.noteOption(d, "prefix")
	args := d.RemainingArgs()
	switch len(args) {
	case 0:
	case 1:
		h.Prefix = &args[0]
	default:
		return d.ArgErr()
	}
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		h.noteOption(d, d.Val())
		if err := h.unmarshalOption(d); err != nil {
			return err
		}
	}
	if err := h.coreConfig(unresolved{}).Validate(); err != nil {
		return h.locate(d, err)
	}
	return nil
}

// optionAt is where an option was written, for the errors that only the
// whole configuration shows (core.Config.Validate runs once the block is
// read): the error then points at the option's own line, not the block's
// end, and quotes the value as written (never a secret's).
type optionAt struct {
	file  string
	line  int
	value string
}

// secretOptions are never quoted in errors.
var secretOptions = map[string]bool{"access_key": true, "secret_key": true, "jwt.hmac_secret": true}

// noteOption records where the option at the cursor (path, "jwt.x" inside
// the jwt block) was written and its arguments, read from a copy of the
// dispenser so that the cursor stays where it is. The first occurrence of
// a repeated option is kept.
func (h *Handler) noteOption(d *caddyfile.Dispenser, path string) {
	if _, seen := h.at[path]; seen {
		return
	}
	peek := *d
	at := optionAt{file: d.File(), line: d.Line(), value: strings.Join(peek.RemainingArgs(), " ")}
	if secretOptions[path] {
		at.value = ""
	}
	if h.at == nil {
		h.at = make(map[string]optionAt)
	}
	h.at[path] = at
}

// locate reports a configuration error at the line of the option it names,
// with the value written there when the reason does not already quote it;
// an error for an option that was not written (a required one) is reported
// at the end of the block.
func (h *Handler) locate(d *caddyfile.Dispenser, err error) error {
	ce, ok := err.(*core.ConfigError)
	if !ok {
		return d.Err(err.Error())
	}
	at, ok := h.at[ce.Option]
	if !ok {
		return d.Err(err.Error())
	}
	msg := err.Error()
	if at.value != "" && !strings.Contains(msg, at.value) {
		msg += fmt.Sprintf(" (written as %q)", at.value)
	}
	return fmt.Errorf("%s, at %s:%d", msg, at.file, at.line)
}

// unmarshalOption reads the option at the dispenser's cursor.
func (h *Handler) unmarshalOption(d *caddyfile.Dispenser) error {
	option := d.Val()
	switch option {
	case "endpoint_url":
		return oneArg(d, &h.EndpointURL)
	case "sts_endpoint":
		return oneArg(d, &h.STSEndpoint)
	case "region":
		return oneArg(d, &h.Region)
	case "mode":
		if err := oneArg(d, &h.Mode); err != nil {
			return err
		}
		if h.Mode != core.ModeAssumeRole && h.Mode != core.ModeWebIdentity {
			return d.Errf("mode must be %s or %s, not %q", core.ModeAssumeRole, core.ModeWebIdentity, h.Mode)
		}
		return nil
	case "role_arn":
		return oneArg(d, &h.RoleARN)
	case "role":
		args := d.RemainingArgs()
		if len(args) != 3 {
			return d.Errf("role needs <claim> <value> <arn>, got %d argument(s)", len(args))
		}
		h.Roles = append(h.Roles, RoleRule{Claim: args[0], Value: args[1], RoleARN: args[2]})
		return nil
	case "duration":
		return durationArg(d, &h.Duration)
	case "session_name_claim":
		return someArgs(d, &h.SessionNameClaims)
	case "access_key":
		return oneArg(d, &h.AccessKey)
	case "access_key_file":
		return oneArg(d, &h.AccessKeyFile)
	case "secret_key":
		return oneArg(d, &h.SecretKey)
	case "secret_key_file":
		return oneArg(d, &h.SecretKeyFile)
	case "ca_file":
		return oneArg(d, &h.CAFile)
	case "insecure_skip_verify":
		return flag(d, &h.InsecureSkipVerify)
	case "policy":
		return oneArg(d, &h.Policy)
	case "policy_file":
		return oneArg(d, &h.PolicyFile)
	case "timeout":
		return durationArg(d, &h.Timeout)
	case "retries":
		var n int
		if err := intArg(d, &n); err != nil {
			return err
		}
		h.Retries = &n
		return nil
	case "public_healthz":
		return flag(d, &h.PublicHealthz)
	case "container_credentials":
		return flag(d, &h.ContainerCredentials)
	case "cache":
		return durationArg(d, &h.Cache)
	case "jwt":
		if d.NextArg() {
			return d.ArgErr()
		}
		if h.JWT == nil {
			h.JWT = new(JWTConfig)
		}
		for nesting := d.Nesting(); d.NextBlock(nesting); {
			h.noteOption(d, "jwt."+d.Val())
			if err := h.JWT.unmarshalOption(d); err != nil {
				return err
			}
		}
		return nil
	}
	return d.Errf("unrecognized sts_token option %q", option)
}

// unmarshalOption reads the jwt block option at the dispenser's cursor.
func (j *JWTConfig) unmarshalOption(d *caddyfile.Dispenser) error {
	option := d.Val()
	switch option {
	case "issuer":
		return oneArg(d, &j.Issuer)
	case "audience":
		return someArgs(d, &j.Audience)
	case "jwks_url":
		return oneArg(d, &j.JWKSURL)
	case "jwks_file":
		return oneArg(d, &j.JWKSFile)
	case "ca_file":
		return oneArg(d, &j.CAFile)
	case "insecure_skip_verify":
		return flag(d, &j.InsecureSkipVerify)
	case "algorithms":
		return someArgs(d, &j.Algorithms)
	case "leeway":
		var v caddy.Duration
		if err := durationArg(d, &v); err != nil {
			return err
		}
		j.Leeway = &v
		return nil
	case "hmac_secret":
		return oneArg(d, &j.HMACSecret)
	case "refresh_cooldown":
		return durationArg(d, &j.RefreshCooldown)
	case "fetch_timeout":
		return durationArg(d, &j.FetchTimeout)
	case "max_token_bytes":
		return intArg(d, &j.MaxTokenBytes)
	}
	return d.Errf("unrecognized sts_token jwt option %q", option)
}

// oneArg reads exactly one argument into dst.
func oneArg(d *caddyfile.Dispenser, dst *string) error {
	option := d.Val()
	args := d.RemainingArgs()
	if len(args) == 0 {
		// Caddy replaces {$VAR} before this runs: an unset variable
		// without a default leaves the option bare.
		return d.Errf("%s needs exactly one argument, got none (a {$VARIABLE} that is unset and has no :default leaves none)", option)
	}
	if len(args) != 1 {
		return d.Errf("%s needs exactly one argument, got %d", option, len(args))
	}
	*dst = args[0]
	return nil
}

// someArgs appends one or more arguments to dst.
func someArgs(d *caddyfile.Dispenser, dst *[]string) error {
	option := d.Val()
	args := d.RemainingArgs()
	if len(args) == 0 {
		return d.Errf("%s needs at least one argument", option)
	}
	*dst = append(*dst, args...)
	return nil
}

// flag sets a switch that takes no argument.
func flag(d *caddyfile.Dispenser, dst *bool) error {
	option := d.Val()
	if d.NextArg() {
		return d.Errf("%s takes no argument", option)
	}
	*dst = true
	return nil
}

// durationArg reads one duration such as 90s, 15m, 1h or 1d.
func durationArg(d *caddyfile.Dispenser, dst *caddy.Duration) error {
	option := d.Val()
	var raw string
	if err := oneArg(d, &raw); err != nil {
		return err
	}
	v, err := caddy.ParseDuration(raw)
	if err != nil {
		return d.Errf("%s: bad duration %q: %v", option, raw, err)
	}
	*dst = caddy.Duration(v)
	return nil
}

// intArg reads one integer.
func intArg(d *caddyfile.Dispenser, dst *int) error {
	option := d.Val()
	var raw string
	if err := oneArg(d, &raw); err != nil {
		return err
	}
	v, err := strconv.Atoi(raw)
	if err != nil {
		return d.Errf("%s: not an integer: %q", option, raw)
	}
	*dst = v
	return nil
}

// Interface guards
var _ caddyfile.Unmarshaler = (*Handler)(nil)
