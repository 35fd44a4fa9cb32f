package conformance

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/stsgate/stsgate/core"
)

// The Caddyfile spelling of a core.Config, for the tests that load the
// conformance mounts (or any config) into a real Caddy: the Caddy module's
// own tests and e2e's. caddymodule's TestMountDirectiveCoversEveryField and
// TestMountsRoundTrip check that it writes every field and that the
// module reads it back as written.

// CaddyDirective writes cfg as an sts_token directive, every core.Config
// field spelled out in Caddyfile syntax, by the option table
// (core.ConfigOptions): a new option needs nothing here. When secretEnv is not nil the
// secrets (access_key, secret_key, hmac_secret) are written as {env.NAME}
// placeholders instead, named after name, and their values are added to
// secretEnv for the process that loads the Caddyfile.
func CaddyDirective(name string, cfg core.Config, secretEnv map[string]string) string {
	raw, err := json.Marshal(cfg)
	if err != nil {
		panic(err)
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		panic(err)
	}
	w := directiveWriter{name: name, secretEnv: secretEnv}
	var top, jwt strings.Builder
	for _, o := range core.ConfigOptions {
		if o.Caddyfile == "" || o.Core == "" {
			continue
		}
		if strings.HasPrefix(o.Name, "jwt.") {
			w.option(&jwt, "\t\t\t", o, valueAt(fields, o.Core))
			continue
		}
		w.option(&top, "\t\t", o, valueAt(fields, o.Core))
		if o.PerIssuer {
			w.option(&jwt, "\t\t\t", o, valueAt(fields, "jwt."+o.Core))
		}
	}
	blocks := []string{jwt.String()}
	if list, _ := fields["issuers"].([]any); len(list) > 0 {
		// Several issuers: the jwt block repeated, once per issuer.
		blocks = nil
		for n, item := range list {
			block, _ := item.(map[string]any)
			var b strings.Builder
			w.name = fmt.Sprintf("%s_ISSUER%d", name, n)
			for _, o := range core.ConfigOptions {
				if o.Caddyfile == "" || o.Core == "" {
					continue
				}
				if strings.HasPrefix(o.Name, "jwt.") {
					w.option(&b, "\t\t\t", o, valueAt(block, strings.TrimPrefix(o.Core, "jwt.")))
				} else if o.PerIssuer {
					w.option(&b, "\t\t\t", o, valueAt(block, o.Core))
				}
			}
			blocks = append(blocks, b.String())
		}
	}
	out := "\tsts_token " + caddyQuote(cfg.Prefix) + " {\n" + top.String()
	for _, b := range blocks {
		out += "\t\tjwt {\n" + b + "\t\t}\n"
	}
	return out + "\t}\n"
}

// directiveWriter writes options in Caddyfile syntax.
type directiveWriter struct {
	name      string
	secretEnv map[string]string
}

// option writes option o with value v (Config's JSON) as a Caddyfile line.
// Zero durations and ints are written (their zero may differ from the
// default); empty text, lists and false flags are not.
func (w directiveWriter) option(b *strings.Builder, indent string, o core.OptionSpec, v any) {
	word := func(s string) string {
		if o.Name == "policy" {
			return "`" + s + "`" // it holds double quotes
		}
		if !o.Secret || w.secretEnv == nil {
			return caddyQuote(s)
		}
		key := strings.ReplaceAll(strings.ToUpper("STSGATE_TEST_"+strings.NewReplacer("-", "_", "/", "_").Replace(w.name)+"_"+o.Name), ".", "_")
		w.secretEnv[key] = s
		return "{env." + key + "}"
	}
	switch o.Type {
	case core.OptionText:
		if s, _ := v.(string); s != "" {
			fmt.Fprintf(b, "%s%s %s\n", indent, o.Caddyfile, word(s))
		}
	case core.OptionList:
		var words []string
		items, _ := v.([]any)
		for _, item := range items {
			words = append(words, caddyQuote(item.(string)))
		}
		if len(words) > 0 {
			fmt.Fprintf(b, "%s%s %s\n", indent, o.Caddyfile, strings.Join(words, " "))
		}
	case core.OptionFlag:
		if on, _ := v.(bool); on {
			fmt.Fprintf(b, "%s%s\n", indent, o.Caddyfile)
		}
	case core.OptionDuration:
		n, _ := v.(float64)
		if n == 0 && o.PerIssuer && strings.Count(indent, "\t") > 2 {
			return // an issuer's unset duration inherits the top level's
		}
		fmt.Fprintf(b, "%s%s %s\n", indent, o.Caddyfile, time.Duration(n))
	case core.OptionInt:
		n, _ := v.(float64)
		fmt.Fprintf(b, "%s%s %d\n", indent, o.Caddyfile, int(n))
	case core.OptionRoles:
		items, _ := v.([]any)
		for _, item := range items {
			r := item.(map[string]any)
			fmt.Fprintf(b, "%s%s %s %s %s\n", indent, o.Caddyfile, caddyQuote(r["claim"].(string)), caddyQuote(r["value"].(string)), caddyQuote(r["role_arn"].(string)))
		}
	}
}

// valueAt is the value at a dotted path of nested JSON objects.
func valueAt(m map[string]any, path string) any {
	head, rest, nested := strings.Cut(path, ".")
	if !nested || m == nil {
		return m[head]
	}
	inner, _ := m[head].(map[string]any)
	return valueAt(inner, rest)
}

// caddyQuote writes a Caddyfile token: always double-quoted (so that an empty
// value stays a token), with its quotes escaped.
func caddyQuote(s string) string {
	return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
}

func caddyQuoteAll(values []string) string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = caddyQuote(v)
	}
	return strings.Join(out, " ")
}
