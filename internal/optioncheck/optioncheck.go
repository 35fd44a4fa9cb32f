// Package optioncheck is for the tests that hold every host's statement of
// the options' defaults (the README table, the Caddy module's field docs)
// to core.ConfigOptions, exactly.
package optioncheck

import (
	"strings"

	"github.com/stsgate/stsgate/core"
)

// ReadmeDefault is the default a README options cell states, in the
// table's form (core.OptionSpec.Default): the cell's first word in
// backticks; "off" (false, or 0 for a duration); "" when the cell starts
// otherwise ("—", "required", "system roots").
func ReadmeDefault(o core.OptionSpec, cell string) string {
	cell = strings.TrimSpace(cell)
	if strings.HasPrefix(cell, "off") {
		return off(o)
	}
	if !strings.HasPrefix(cell, "`") {
		return ""
	}
	cell = cell[1:]
	if i := strings.IndexByte(cell, '`'); i >= 0 {
		cell = cell[:i]
	}
	return cell
}

// DocDefault is the default a field doc states after "Default:": its words
// up to ". " or " (", with the commas between list members dropped; "none"
// is "" and "off" as in ReadmeDefault.
func DocDefault(o core.OptionSpec, text string) string {
	s := strings.TrimSpace(text)
	for _, end := range []string{" (", ". ", ".\n"} {
		if i := strings.Index(s, end); i >= 0 {
			s = s[:i]
		}
	}
	s = strings.Join(strings.Fields(strings.ReplaceAll(strings.TrimSuffix(s, "."), ",", " ")), " ")
	switch s {
	case "none":
		return ""
	case "off":
		return off(o)
	}
	return s
}

func off(o core.OptionSpec) string {
	if o.Type == core.OptionDuration {
		return "0"
	}
	return "false"
}
