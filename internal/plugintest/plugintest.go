// Package plugintest turns a core.Config into the Traefik plugin's options,
// so that tests can mount the conformance configurations (written as
// core.Configs) in a Traefik configuration or through the plugin's New.
// It is not imported by the plugin: Traefik never interprets it.
package plugintest

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/stsgate/stsgate/core"
)

// zeroMeans are the options whose zero value is not their default, so it
// is written out.
var zeroMeans = map[string]bool{"prefix": true, "retries": true, "jwt.leeway": true}

// Options returns the plugin options, keyed as in a Traefik configuration,
// that configure the same issuer as c: each row of core.ConfigOptions with
// a Traefik path, read from c at its Core path. Values are strings,
// booleans, numbers, lists ([]any) and maps, ready for JSON or YAML;
// durations are strings such as "3s". Zero values are left out except
// those of zeroMeans.
func Options(c core.Config) map[string]any {
	raw, err := json.Marshal(c)
	if err != nil {
		panic(err) // a Config always marshals
	}
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		panic(err)
	}
	jwt := map[string]any{}
	out := map[string]any{"jwt": jwt}
	for _, o := range core.ConfigOptions {
		if o.Core == "" || o.Traefik == "" {
			continue
		}
		if key, inJWT := strings.CutPrefix(o.Traefik, "jwt."); inJWT {
			put(jwt, key, o, at(fields, o.Core))
			continue
		}
		put(out, o.Traefik, o, at(fields, o.Core))
		if o.PerIssuer {
			put(jwt, o.Traefik, o, at(fields, "jwt."+o.Core))
		}
	}
	list, _ := fields["issuers"].([]any)
	var issuers []any
	for _, item := range list {
		block, _ := item.(map[string]any)
		b := map[string]any{}
		for _, o := range core.ConfigOptions {
			if o.Core == "" || o.Traefik == "" {
				continue
			}
			if key, inJWT := strings.CutPrefix(o.Traefik, "jwt."); inJWT {
				put(b, key, o, at(block, strings.TrimPrefix(o.Core, "jwt.")))
			} else if o.PerIssuer {
				put(b, o.Traefik, o, at(block, o.Core))
			}
		}
		issuers = append(issuers, b)
	}
	if len(issuers) > 0 {
		out["issuers"] = issuers
	}
	return out
}

// put writes v, option o's value in Config's JSON, as key of m in the
// plugin's spelling; zero values are left out except those of zeroMeans.
func put(m map[string]any, key string, o core.OptionSpec, v any) {
	switch o.Type {
	case core.OptionDuration:
		n, _ := v.(float64)
		v = time.Duration(n).String()
	case core.OptionRoles:
		rules, _ := v.([]any)
		for _, r := range rules {
			rule := r.(map[string]any)
			if arn, ok := rule["role_arn"]; ok {
				rule["roleArn"] = arn
				delete(rule, "role_arn")
			}
		}
	case core.OptionInt:
		if v == nil {
			v = 0.0
		}
	}
	if !zeroMeans[o.Name] && (v == nil || v == "" || v == false || v == 0.0 || v == "0s") {
		return
	}
	m[key] = v
}

// at is the value at a dotted path of nested JSON objects.
func at(m map[string]any, path string) any {
	head, rest, nested := strings.Cut(path, ".")
	if inner, ok := m[head].(map[string]any); ok && nested {
		return at(inner, rest)
	}
	return m[head]
}
