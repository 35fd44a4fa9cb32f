package traefikplugin

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/optioncheck"
)

// configFields maps the plugin's option paths (json tags, "jwt." inside
// the jwt block) to CreateConfig's value of each.
func configFields(v reflect.Value, prefix string, out map[string]reflect.Value) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		tag := strings.Split(t.Field(i).Tag.Get("json"), ",")[0]
		if tag == "" || tag == "-" {
			continue
		}
		out[prefix+tag] = v.Field(i)
		if tag == "jwt" {
			configFields(v.Field(i), "jwt.", out)
		}
	}
}

// TestConfigFollowsTheOptionTable: every option of core.ConfigOptions with a
// Traefik name is a field of Config, with the table's default in
// CreateConfig; and Config has no option the table lacks.
func TestConfigFollowsTheOptionTable(t *testing.T) {
	fields := map[string]reflect.Value{}
	configFields(reflect.ValueOf(*CreateConfig()), "", fields)
	known := map[string]bool{}
	for _, o := range core.ConfigOptions {
		if o.Traefik == "" {
			continue
		}
		known[o.Traefik] = true
		if o.PerIssuer {
			// The jwt block holds the per-issuer options too, unset.
			known["jwt."+o.Traefik] = true
			if f, ok := fields["jwt."+o.Traefik]; !ok || !f.IsZero() {
				t.Errorf("%s: Config.JWT has no %s, or CreateConfig sets it", o.Name, o.Traefik)
			}
		}
		f, ok := fields[o.Traefik]
		if !ok {
			t.Errorf("%s: Config has no %s", o.Name, o.Traefik)
			continue
		}
		if f.Kind() == reflect.Struct {
			continue
		}
		got := fmt.Sprint(f.Interface())
		if f.Kind() == reflect.Slice {
			got = strings.Trim(got, "[]")
		}
		if f.IsZero() && (o.Default == "false" || o.Default == "0") {
			continue // unset is off
		}
		if o.Default == "" && !f.IsZero() {
			t.Errorf("%s: CreateConfig sets %s to %q, the table has no default", o.Name, o.Traefik, got)
		}
		if o.Default != "" && o.Name != "sts_endpoint" && o.Name != "jwt.algorithms" && !optioncheck.DefaultIn(o, got) {
			t.Errorf("%s: CreateConfig's %s is %q, the table's default %q", o.Name, o.Traefik, got, o.Default)
		}
	}
	for name := range fields {
		if !known[name] && !strings.HasPrefix(name, "roles.") && !strings.HasPrefix(name, "jwt.roles.") {
			t.Errorf("Config has %s, which is not in core.ConfigOptions", name)
		}
	}
}
