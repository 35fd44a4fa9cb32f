package caddymodule

import (
	"encoding/json"
	"fmt"
	"os"
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
//	    <option> <value...>
//	    jwt {
//	        <option> <value...>
//	    }
//	}
//
// The options are core.ConfigOptions' Caddyfile keywords (the README's
// options table): a text option takes one word, a list one or more (repeats
// add up), a flag none, role takes <claim> <value> <arn> and may be
// repeated. Each is read into the module's JSON spelling and decoded as a
// JSON config would be, so the two cannot mean different things. The whole
// configuration is checked once the block is read, so `caddy adapt` already
// names a missing or wrong option (secrets that hold placeholders are
// checked once resolved, when the config loads).
func (h *Handler) UnmarshalCaddyfile(d *caddyfile.Dispenser) error {
	d.Next() // the directive's name
	h.noteOption(d, "prefix")
	fields := map[string]any{}
	switch args := d.RemainingArgs(); len(args) {
	case 0:
	case 1:
		fields["prefix"] = args[0]
	default:
		return d.ArgErr()
	}
	var issuers []any
	if err := h.unmarshalBlock(d, "", fields, &issuers); err != nil {
		return err
	}
	// One jwt block is the one issuer; repeated, one block per issuer.
	switch len(issuers) {
	case 0:
	case 1:
		fields["jwt"] = issuers[0]
	default:
		fields["issuers"] = issuers
	}
	if raw, err := json.Marshal(fields); err != nil {
		return err
	} else if err := json.Unmarshal(raw, h); err != nil {
		return d.Err(err.Error())
	}
	cfg, err := h.coreConfig(unresolved{})
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		return h.locate(d, err)
	}
	return nil
}

// caddyfileOptions are core.ConfigOptions by their Caddyfile path
// ("jwt.issuer" inside the jwt block).
var caddyfileOptions = func() map[string]core.OptionSpec {
	m := make(map[string]core.OptionSpec)
	for _, o := range core.ConfigOptions {
		if o.Caddyfile != "" {
			m[o.Name] = o
		}
	}
	return m
}()

// unmarshalBlock reads the options of a block (prefix "jwt." inside a jwt
// block, which also takes the per-issuer options) into fields, keyed by
// their JSON names; each jwt block is appended to issuers.
func (h *Handler) unmarshalBlock(d *caddyfile.Dispenser, prefix string, fields map[string]any, issuers *[]any) error {
	for nesting := d.Nesting(); d.NextBlock(nesting); {
		word := d.Val()
		o, ok := caddyfileOptions[prefix+word]
		key := strings.TrimPrefix(o.JSON, prefix)
		if top := caddyfileOptions[word]; !ok && prefix != "" && top.PerIssuer {
			o, ok, key = top, true, top.JSON
		}
		if !ok {
			return d.Errf("unrecognized sts_token %soption %q", strings.ReplaceAll(prefix, ".", " "), word)
		}
		if prefix == "" {
			h.noteOption(d, word)
		} else {
			// Errors name the option of one issuer as jwt.<option>, or
			// issuers[N].<option> when there are several.
			n := len(*issuers) - 1
			if n == 0 {
				h.noteOption(d, "jwt."+word)
			}
			h.noteOption(d, fmt.Sprintf("issuers[%d].%s", n, word))
		}
		args := d.RemainingArgs()
		switch o.Type {
		case core.OptionBlock:
			if len(args) > 0 {
				return d.ArgErr()
			}
			h.noteOption(d, fmt.Sprintf("issuers[%d]", len(*issuers)))
			block := map[string]any{}
			*issuers = append(*issuers, block)
			if err := h.unmarshalBlock(d, key+".", block, issuers); err != nil {
				return err
			}
		case core.OptionFlag:
			if len(args) > 0 {
				return d.Errf("%s takes no argument", word)
			}
			fields[key] = true
		case core.OptionList:
			if len(args) == 0 {
				return d.Errf("%s needs at least one argument", word)
			}
			list, _ := fields[key].([]string)
			fields[key] = append(list, args...)
		case core.OptionRoles:
			if len(args) != 3 {
				return d.Errf("role needs <claim> <value> <arn>, got %d argument(s)", len(args))
			}
			rules, _ := fields[key].([]RoleRule)
			fields[key] = append(rules, RoleRule{Claim: args[0], Value: args[1], RoleARN: args[2]})
		default:
			v, err := oneValue(d, word, o.Type, args)
			if err != nil {
				return err
			}
			if o.Secret {
				if name, ok := envPlaceholder(args[0]); ok && strings.TrimSpace(os.Getenv(name)) == "" {
					// Refused here, at the option's line; once adapted, the
					// config no longer knows where it was written.
					return d.Errf("%s: %s is empty: the environment variable %s is not set or empty", word, args[0], name)
				}
			}
			fields[key] = v
		}
	}
	return nil
}

// oneValue reads the one argument of a text, duration or int option.
func oneValue(d *caddyfile.Dispenser, option, kind string, args []string) (any, error) {
	switch len(args) {
	case 1:
	case 0:
		// Caddy replaces {$VAR} before this runs: an unset variable
		// without a default leaves the option bare.
		return nil, d.Errf("%s needs exactly one argument, got none (a {$VARIABLE} that is unset and has no :default leaves none)", option)
	default:
		return nil, d.Errf("%s needs exactly one argument, got %d", option, len(args))
	}
	switch kind {
	case core.OptionDuration:
		if _, err := caddy.ParseDuration(args[0]); err != nil {
			return nil, d.Errf("%s: bad duration %q: %v", option, args[0], err)
		}
	case core.OptionInt:
		n, err := strconv.Atoi(args[0])
		if err != nil {
			return nil, d.Errf("%s: not an integer: %q", option, args[0])
		}
		return n, nil
	}
	return args[0], nil
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
	if caddyfileOptions[path].Secret {
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
		// A required option that was not written: point at the written
		// option that needs it (secret_key for "access_key: required
		// with secret_key"), else at the block's end.
		for _, o := range core.ConfigOptions {
			if wrote, seen := h.at[o.Name]; seen && o.Name != "prefix" && strings.Contains(ce.Reason, strings.TrimSuffix(o.Name, "_file")) {
				return fmt.Errorf("%s, at %s:%d", err.Error(), wrote.file, wrote.line)
			}
		}
		return d.Err(err.Error())
	}
	msg := err.Error()
	if at.value != "" && !strings.Contains(msg, at.value) {
		msg += fmt.Sprintf(" (written as %q)", at.value)
	}
	return fmt.Errorf("%s, at %s:%d", msg, at.file, at.line)
}

// Interface guards
var _ caddyfile.Unmarshaler = (*Handler)(nil)
