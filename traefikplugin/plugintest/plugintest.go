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
		v := at(fields, o.Core)
		switch o.Type {
		case core.OptionDuration:
			n, _ := v.(float64)
			v = time.Duration(n).String()
		case core.OptionRoles:
			rules, _ := v.([]any)
			for _, r := range rules {
				rule := r.(map[string]any)
				rule["roleArn"] = rule["role_arn"]
				delete(rule, "role_arn")
			}
		case core.OptionInt:
			if v == nil {
				v = 0.0
			}
		}
		if !zeroMeans[o.Name] && (v == nil || v == "" || v == false || v == 0.0 || v == "0s") {
			continue
		}
		if key, inJWT := strings.CutPrefix(o.Traefik, "jwt."); inJWT {
			jwt[key] = v
		} else {
			out[o.Traefik] = v
		}
	}
	return out
}

// at is the value at a dotted path of nested JSON objects.
func at(m map[string]any, path string) any {
	head, rest, nested := strings.Cut(path, ".")
	if inner, ok := m[head].(map[string]any); ok && nested {
		return at(inner, rest)
	}
	return m[head]
}
