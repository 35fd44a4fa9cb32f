package caddymodule

import (
	"encoding/json"
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

// parseDirective is httpcaddyfile.RegisterHandlerDirective's wrapper except
// that a first argument that is a path is the prefix, not a path matcher
// (which would match only the exact path /apis/sts, never /apis/sts/token).
// A named matcher (@name) or * may still come first:
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
// add up), a flag none, role <claim> <value> <arn> (repeatable); a repeated
// jwt block is one more issuer. They are read into the module's JSON and
// checked as a JSON config is, so that `caddy adapt` already names a
// missing or wrong option, at its line.
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
	if len(issuers) == 1 {
		fields["jwt"] = issuers[0]
	} else if len(issuers) > 1 {
		fields["issuers"] = issuers
	}
	if raw, err := json.Marshal(fields); err != nil {
		return err
	} else if err := json.Unmarshal(raw, h); err != nil {
		return d.Err(err.Error())
	}
	cfg, err := h.coreConfig(adapting{})
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		return h.locate(d, err)
	}
	return nil
}

// caddyfileOptions are core.ConfigOptions by their Caddyfile path.
var caddyfileOptions = func() map[string]core.OptionSpec {
	m := make(map[string]core.OptionSpec)
	for _, o := range core.ConfigOptions {
		if o.Caddyfile != "" {
			m[o.Name] = o
		}
	}
	return m
}()

// unmarshalBlock reads a block's options (prefix "jwt." in a jwt block,
// which also takes the per-issuer options) into fields by their JSON names;
// each jwt block is appended to issuers.
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
		if n := len(*issuers) - 1; prefix == "" {
			h.noteOption(d, word)
		} else {
			// An option of one issuer is jwt.<option> in errors, of
			// several issuers[N].<option>.
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
			if len(args) == 0 {
				// Caddy replaces {$VAR} before this runs: one unset and
				// without a default leaves the option bare.
				return d.Errf("%s needs exactly one argument, got none (a {$VARIABLE} that is unset and has no :default leaves none)", word)
			} else if len(args) > 1 {
				return d.Errf("%s needs exactly one argument, got %d", word, len(args))
			}
			fields[key] = args[0]
			if _, err := caddy.ParseDuration(args[0]); o.Type == core.OptionDuration && err != nil {
				return d.Errf("%s: bad duration %q: %v", word, args[0], err)
			}
			if n, err := strconv.Atoi(args[0]); o.Type == core.OptionInt {
				if err != nil {
					return d.Errf("%s: not an integer: %q", word, args[0])
				}
				fields[key] = n
			}
		}
	}
	return nil
}

// optionAt is where an option was written, and its value (never a
// secret's), for errors only the whole configuration shows.
type optionAt struct {
	file  string
	line  int
	value string
}

// noteOption records where the option at the cursor (by its path in errors)
// was first written and its arguments, read from a copy of the dispenser.
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
// with the value written there unless the reason quotes it. An option that
// was not written (a required one) is reported at the written option that
// needs it (secret_key for "access_key: required with secret_key"), else at
// the block's end.
func (h *Handler) locate(d *caddyfile.Dispenser, err error) error {
	ce, ok := err.(*core.ConfigError)
	if !ok {
		return d.Err(err.Error())
	}
	msg := err.Error()
	at, ok := h.at[ce.Option]
	for _, o := range core.ConfigOptions {
		if wrote, seen := h.at[o.Name]; !ok && seen && o.Name != "prefix" && strings.Contains(ce.Reason, strings.TrimSuffix(o.Name, "_file")) {
			at, ok = optionAt{file: wrote.file, line: wrote.line}, true
		}
	}
	if !ok {
		return d.Err(msg)
	}
	if at.value != "" && !strings.Contains(msg, at.value) {
		msg += fmt.Sprintf(" (written as %q)", at.value)
	}
	return fmt.Errorf("%s, at %s:%d", msg, at.file, at.line)
}

// Interface guards
var _ caddyfile.Unmarshaler = (*Handler)(nil)
