// Package optioncheck is for the tests that hold every host's spelling of
// the options (the README table, the Caddy module's JSON docs, the Traefik
// plugin's defaults) to core.ConfigOptions.
package optioncheck

import (
	"strings"
	"time"

	"github.com/stsgate/stsgate/core"
)

// DefaultIn reports whether text (a README cell, a field's doc comment,
// a value) states o's default in one of the ways people write it: as is;
// false or 0 as "off"; a duration in any spelling ("1m" as "60s"); a list
// by each of its members, an algorithm family as "RS*".
func DefaultIn(o core.OptionSpec, text string) bool {
	def := o.Default
	switch {
	case def == "":
		return true
	case strings.Contains(text, def):
		return true
	case def == "false" || def == "0":
		return strings.Contains(strings.ToLower(text), "off") || strings.Contains(text, "false")
	}
	if d, err := time.ParseDuration(def); err == nil {
		for _, tok := range words(text) {
			if td, err := time.ParseDuration(tok); err == nil && td == d {
				return true
			}
		}
		return false
	}
	if members := strings.Fields(def); len(members) > 1 {
		for _, m := range members {
			if !strings.Contains(text, m) && !(len(m) > 2 && strings.Contains(text, m[:2]+"*")) {
				return false
			}
		}
		return true
	}
	return false
}

func words(text string) []string {
	return strings.FieldsFunc(text, func(r rune) bool {
		return !(r == '.' || (r >= '0' && r <= '9') || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z'))
	})
}
