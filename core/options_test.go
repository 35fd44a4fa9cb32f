package core_test

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/optioncheck"
)

// TestOptionNamesAreUnique: one name, one Caddyfile keyword per block, one
// Caddy JSON path and one Traefik path per option.
func TestOptionNamesAreUnique(t *testing.T) {
	seen := map[string]string{}
	for _, o := range core.ConfigOptions {
		scope := ""
		if strings.HasPrefix(o.Name, "jwt.") {
			scope = "jwt "
		}
		for kind, v := range map[string]string{"name": o.Name, "caddyfile": scope + o.Caddyfile, "json": o.JSON, "traefik": o.Traefik} {
			if strings.TrimSpace(v) == "" || strings.TrimSpace(v) == "jwt" && o.Name != "jwt" {
				continue
			}
			key := kind + " " + v
			if other, dup := seen[key]; dup {
				t.Errorf("%s %q is used by %s and %s", kind, v, other, o.Name)
			}
			seen[key] = o.Name
		}
	}
}

var readmeRow = regexp.MustCompile("(?m)^\\| (`[^|]*) \\| (`[^|]*) \\| ([^|]*) \\| [^|]* \\|$")
var backticked = regexp.MustCompile("`([^`]*)`")

// TestReadmeOptionsTable: the README's options table lists every option by
// its Caddyfile and Traefik names with its default, and nothing else.
func TestReadmeOptionsTable(t *testing.T) {
	data, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	section := string(data)
	if i := strings.Index(section, "## Options"); i >= 0 {
		section = section[i:]
	}
	if i := strings.Index(section[1:], "\n## "); i >= 0 {
		section = section[:i+1]
	}
	type row struct{ caddy, traefik, def string }
	byTraefik := map[string]row{}
	for _, m := range readmeRow.FindAllStringSubmatch(section, -1) {
		r := row{m[1], m[2], m[3]}
		for _, name := range backticked.FindAllStringSubmatch(r.traefik, -1) {
			byTraefik[strings.SplitN(name[1], ":", 2)[0]] = r
		}
	}
	if len(byTraefik) < 30 {
		t.Fatalf("found %d option names in the README's table", len(byTraefik))
	}
	known := map[string]bool{}
	for _, o := range core.ConfigOptions {
		if o.Name == "jwt" {
			continue // the block, not a row
		}
		known[o.Traefik] = true
		r, ok := byTraefik[o.Traefik]
		if !ok {
			t.Errorf("%s (Traefik %s) has no row in the README's options table", o.Name, o.Traefik)
			continue
		}
		if o.Caddyfile != "" && !strings.Contains(r.caddy, o.Caddyfile) {
			t.Errorf("%s: the README row names %s, not the Caddyfile keyword %s", o.Name, r.caddy, o.Caddyfile)
		}
		if !optioncheck.DefaultIn(o, r.def) {
			t.Errorf("%s: the README says the default is %q, the table %q", o.Name, strings.TrimSpace(r.def), o.Default)
		}
	}
	for name := range byTraefik {
		if !known[name] {
			t.Errorf("the README's options table lists %s, which is no option", name)
		}
	}
}
