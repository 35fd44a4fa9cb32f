package core_test

import (
	"encoding/json"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

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
		if got := optioncheck.ReadmeDefault(o, r.def); got != o.Default {
			t.Errorf("%s: the README says the default is %q (%q), the table %q", o.Name, got, strings.TrimSpace(r.def), o.Default)
		}
	}
	for name := range byTraefik {
		if !known[name] {
			t.Errorf("the README's options table lists %s, which is no option", name)
		}
	}
}

// TestConfigFrom covers how a host's options become a Config: durations
// as text (a Go duration or whole seconds, Traefik) or nanoseconds (Caddy),
// text trimmed but secrets not, blank list members dropped, role rules in
// either spelling, and unset options keeping their defaults.
func TestConfigFrom(t *testing.T) {
	traefik := core.HostTraefik
	for _, tc := range []struct {
		in   string
		want time.Duration
		err  string
	}{
		{"", core.DefaultDuration, ""},
		{"90m", 90 * time.Minute, ""},
		{" 1h30m ", 90 * time.Minute, ""},
		{"3600", time.Hour, ""},
		{"-5s", -5 * time.Second, ""},
		{"1 hour", 0, `duration: not a duration: "1 hour"`},
		{"99999999999999999", 0, `duration: "99999999999999999" seconds is out of range`},
	} {
		got, err := configFrom(t, map[string]any{"duration": tc.in}, traefik)
		if tc.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
				t.Errorf("duration %q: error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got.Duration != tc.want {
			t.Errorf("duration %q: %v, %v; want %v", tc.in, got.Duration, err, tc.want)
		}
	}

	host := map[string]any{
		"endpoint_url": " http://s3.example:9000 ",
		"duration":     int64(2 * time.Hour),
		"access_key":   " spaced ",
		"roles":        []map[string]string{{"claim": "groups", "value": "ops", "role_arn": " arn:a "}, {"claim": "x", "value": "y", "roleArn": "arn:b"}},
		"jwt":          map[string]any{"leeway": 0, "audience": []string{" aud "}},
	}
	caddy := core.HostCaddy
	got, err := configFrom(t, host, caddy)
	if err != nil {
		t.Fatal(err)
	}
	want := core.DefaultConfig()
	want.EndpointURL = "http://s3.example:9000"
	want.Duration = 2 * time.Hour
	want.Credentials.AccessKey = " spaced "
	want.Roles = []core.RoleRule{{Claim: "groups", Value: "ops", RoleARN: "arn:a"}, {Claim: "x", Value: "y", RoleARN: "arn:b"}}
	want.JWT.Leeway = 0
	want.JWT.Audience = []string{"aud"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ConfigFrom:\n got %+v\nwant %+v", got, want)
	}
	if got, _ := configFrom(t, map[string]any{"prefix": ""}, caddy); got.Prefix != "" {
		t.Errorf("an empty prefix became %q", got.Prefix)
	}
}

// TestEveryOptionReachesConfig: each row's Core path is a field of Config,
// so no option is dropped on its way from a host.
func TestEveryOptionReachesConfig(t *testing.T) {
	samples := map[string]any{
		core.OptionText: "changed", core.OptionList: []string{"changed"}, core.OptionFlag: true,
		core.OptionDuration: int64(7 * time.Minute), core.OptionInt: 7,
		core.OptionRoles: []map[string]string{{"claim": "c", "value": "v", "role_arn": "r"}},
	}
	for _, o := range core.ConfigOptions {
		if o.Core == "" {
			continue
		}
		host := map[string]any{}
		if head, rest, nested := strings.Cut(o.JSON, "."); nested {
			host[head] = map[string]any{rest: samples[o.Type]}
		} else {
			host[head] = samples[o.Type]
		}
		got, err := configFrom(t, host, core.HostCaddy)
		if err != nil {
			t.Errorf("%s: %v", o.Name, err)
		} else if reflect.DeepEqual(got, core.DefaultConfig()) {
			t.Errorf("%s: Core path %q sets nothing in Config", o.Name, o.Core)
		}
	}
}

// configFrom is core.ConfigFrom of host as encoding/json writes it.
func configFrom(t *testing.T, host any, path core.Host) (core.Config, error) {
	t.Helper()
	raw, err := json.Marshal(host)
	if err != nil {
		t.Fatal(err)
	}
	return core.ConfigFrom(raw, path, nil)
}

// Decoding a host's options over the defaults must not change the defaults
// of the next config (json.Unmarshal reuses a slice's array).
func TestConfigFromLeavesDefaultsAlone(t *testing.T) {
	before := core.DefaultConfig()
	if _, err := configFrom(t, map[string]any{"session_name_claims": []string{"email"}}, core.HostCaddy); err != nil {
		t.Fatal(err)
	}
	if after := core.DefaultConfig(); !reflect.DeepEqual(before, after) {
		t.Errorf("defaults changed:\n%+v\nto\n%+v", before, after)
	}
}
