package caddymodule

import (
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/caddyserver/caddy/v2/caddyconfig"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/conformance"
)

// siteCaddyfile is a whole Caddyfile: the admin API and one site on
// loopback, every mount in chain order, then the conformance next handler.
func siteCaddyfile(adminPort, sitePort int, mounts []conformance.Mount, secretEnv map[string]string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "{\n\tadmin 127.0.0.1:%d\n\tauto_https off\n\tpersist_config off\n}\n\n", adminPort)
	fmt.Fprintf(&b, "http://:%d {\n\tbind 127.0.0.1\n\n", sitePort)
	for _, m := range mounts {
		fmt.Fprintf(&b, "\t# mount %s\n", m.Name)
		b.WriteString(conformance.CaddyDirective(m.Name, m.Config, secretEnv))
		b.WriteString("\n")
	}
	fmt.Fprintf(&b, "\trespond %q %d\n}\n", conformance.NextBody, conformance.NextStatus)
	return b.String()
}

// adaptedHandlers adapts a Caddyfile and returns the sts_token handlers of
// its routes, in order.
func adaptedHandlers(t *testing.T, caddyfile string) []Handler {
	t.Helper()
	out, warnings, err := caddyconfig.GetAdapter("caddyfile").Adapt([]byte(caddyfile), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		t.Fatalf("adapting:\n%s\nfailed: %v", caddyfile, err)
	}
	for _, w := range warnings {
		t.Errorf("adapt warning: %s", w)
	}
	var cfg struct {
		Apps struct {
			HTTP struct {
				Servers map[string]struct {
					Routes []struct {
						Handle []json.RawMessage `json:"handle"`
					} `json:"routes"`
				} `json:"servers"`
			} `json:"http"`
		} `json:"apps"`
	}
	if err := json.Unmarshal(out, &cfg); err != nil {
		t.Fatal(err)
	}
	var handlers []Handler
	names := make([]string, 0, len(cfg.Apps.HTTP.Servers))
	for name := range cfg.Apps.HTTP.Servers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, route := range cfg.Apps.HTTP.Servers[name].Routes {
			for _, raw := range route.Handle {
				var probe struct {
					Handler string `json:"handler"`
				}
				_ = json.Unmarshal(raw, &probe)
				if probe.Handler != "sts_token" {
					continue
				}
				var h Handler
				dec := json.NewDecoder(strings.NewReader(string(raw)))
				if err := dec.Decode(&h); err != nil {
					t.Fatal(err)
				}
				handlers = append(handlers, h)
			}
		}
	}
	return handlers
}

func newConformanceEnv(t *testing.T) *conformance.Env {
	t.Helper()
	env, err := conformance.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(env.Close)
	return env
}

// TestMountsRoundTrip: every conformance mount, written as Caddyfile by
// conformance.CaddyDirective and adapted, maps back onto exactly its core.Config.
func TestMountsRoundTrip(t *testing.T) {
	env := newConformanceEnv(t)
	mounts := env.Mounts()
	for _, m := range mounts {
		t.Run(m.Name, func(t *testing.T) {
			roundTrip(t, m.Config)
		})
	}
	t.Run("whole site keeps the mount order", func(t *testing.T) {
		handlers := adaptedHandlers(t, siteCaddyfile(2019, 8080, mounts, nil))
		if len(handlers) != len(mounts) {
			t.Fatalf("%d handlers for %d mounts", len(handlers), len(mounts))
		}
		for i, h := range handlers {
			if got, _ := h.coreConfig(literal{}); got.Prefix != mounts[i].Config.Prefix {
				t.Errorf("handler %d has prefix %q, want %q", i, got.Prefix, mounts[i].Config.Prefix)
			}
		}
	})
}

// TestMountDirectiveCoversEveryField: configs that between them set every
// core.Config field to a value other than its default round-trip exactly,
// so a field the Caddyfile or conformance.CaddyDirective forgets fails here.
func TestMountDirectiveCoversEveryField(t *testing.T) {
	configs := fullConfigs()
	values := make([]reflect.Value, len(configs))
	for i, c := range configs {
		values[i] = reflect.ValueOf(c)
	}
	def := reflect.ValueOf(core.DefaultConfig())
	for _, path := range defaultInAll(values, def, "Config") {
		t.Errorf("%s keeps its default in every full config: set it in fullConfigs and teach conformance.CaddyDirective and the Caddyfile", path)
	}
	for _, c := range configs {
		roundTrip(t, c)
	}
}

func roundTrip(t *testing.T, want core.Config) {
	t.Helper()
	caddyfile := ":8080 {\n" + conformance.CaddyDirective("rt", want, nil) + "}\n"
	handlers := adaptedHandlers(t, caddyfile)
	if len(handlers) != 1 {
		t.Fatalf("want one sts_token handler, got %d", len(handlers))
	}
	got, err := handlers[0].coreConfig(literal{})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		gj, _ := json.MarshalIndent(got, "", "  ")
		wj, _ := json.MarshalIndent(want, "", "  ")
		t.Errorf("round trip through\n%s\ngave\n%s\nwant\n%s", caddyfile, gj, wj)
	}
}

func fullConfigs() []core.Config {
	a := core.DefaultConfig()
	a.Prefix = "/custom/sts"
	a.EndpointURL = "http://rgw.test:8080"
	a.RoleARN = "arn:aws:iam:::role/default"
	a.Roles = []core.RoleRule{
		{Claim: "realm_access.roles", Value: "admins", RoleARN: "arn:aws:iam:::role/admin"},
		{Claim: "groups", Value: "with \"quotes\" and spaces", RoleARN: "arn:aws:iam:::role/quoted"},
	}
	a.Duration = 2 * time.Hour
	a.SessionNameClaims = []string{"email", "sub"}
	a.Policy = `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"arn:aws:s3:::${claim:sub}/*"}]}`
	a.PublicHealthz = true
	a.ContainerCredentials = true
	a.Cache = 20 * time.Minute
	a.CacheMaxEntries = 100
	a.STS = core.STSConfig{
		Endpoint: "https://rgw.test:8443", Region: "eu-west-1", CAFile: "/etc/ssl/rgw.pem",
		InsecureSkipVerify: true, Timeout: 5 * time.Second, Retries: 4,
	}
	a.Credentials = core.CredentialsConfig{AccessKey: "AKIDINLINE", SecretKeyFile: "/run/secrets/secret_key"}
	a.JWT = core.JWTConfig{
		Issuer: "https://idp.test/realms/x", Audience: []string{"sts", "s3"},
		JWKSURL: "https://idp.test/jwks", CAFile: "/etc/ssl/idp.pem", InsecureSkipVerify: true,
		Algorithms: []string{"RS256", "HS256"}, Leeway: 0, HMACSecret: "hmac-secret-0123456789-0123456789-0123456789",
		RefreshCooldown: 2 * time.Minute, FetchTimeout: 3 * time.Second, MaxTokenBytes: 4096,
		KeyMaxAge: 5 * time.Minute,
	}
	// An issuer's own identity options, in the jwt block.
	a.JWT.RoleARN = "arn:aws:iam:::role/jwt-default"
	a.JWT.Roles = []core.RoleRule{{Claim: "/kubernetes.io/namespace", Value: "backup", RoleARN: "arn:aws:iam:::role/backup"}}
	a.JWT.SessionNameClaims = []string{"/kubernetes.io/serviceaccount/name"}
	a.JWT.Policy = `{"Version":"2012-10-17","Statement":[]}`
	a.JWT.Duration = 3 * time.Hour

	b := core.DefaultConfig()
	b.Prefix = ""
	b.EndpointURL = "https://s3.test"
	b.RoleARN = "arn:aws:iam:::role/b"
	b.PolicyFile = "/etc/stsgate/policy.json"
	b.STS.Retries = -1
	b.Credentials = core.CredentialsConfig{AccessKeyFile: "/run/secrets/access_key", SecretKey: "inline-secret"}
	b.JWT.JWKSFile = "/etc/stsgate/jwks.json"
	b.JWT.HMACSecretFile = "/run/secrets/hmac"
	b.JWT.Leeway = 90 * time.Second

	c := core.DefaultConfig()
	c.EndpointURL = "https://s3.test"
	c.Mode = core.ModeWebIdentity
	c.STS.Retries = 0
	c.JWT.Issuer = "https://idp.test/realms/c"
	c.JWT.PolicyFile = "/etc/stsgate/jwt-policy.json"

	// Several issuers: the jwt block repeated.
	d := core.DefaultConfig()
	d.EndpointURL = "https://s3.test"
	d.RoleARN = "arn:aws:iam:::role/d"
	people, workloads := core.DefaultConfig().JWT, core.DefaultConfig().JWT
	people.Issuer, people.Audience = "https://idp.test/realms/shasta", []string{"shasta"}
	people.Roles = []core.RoleRule{{Claim: "realm_access.roles", Value: "s3", RoleARN: "arn:aws:iam:::role/s3"}}
	workloads.Issuer, workloads.JWKSFile, workloads.Leeway = "https://k8s.test", "/etc/stsgate/k8s.json", 0
	workloads.SessionNameClaims = []string{"/kubernetes.io/serviceaccount/name"}
	workloads.Duration = 15 * time.Minute
	d.Issuers = []core.JWTConfig{people, workloads}
	return []core.Config{a, b, c, d}
}

// defaultInAll lists the leaf fields that equal their default in every
// config.
func defaultInAll(configs []reflect.Value, def reflect.Value, path string) []string {
	if def.Kind() == reflect.Struct {
		var out []string
		for i := 0; i < def.NumField(); i++ {
			if !def.Type().Field(i).IsExported() {
				continue
			}
			fields := make([]reflect.Value, len(configs))
			for j, c := range configs {
				fields[j] = c.Field(i)
			}
			out = append(out, defaultInAll(fields, def.Field(i), path+"."+def.Type().Field(i).Name)...)
		}
		return out
	}
	for _, c := range configs {
		if !reflect.DeepEqual(c.Interface(), def.Interface()) {
			return nil
		}
	}
	return []string{path}
}

// literal leaves every value as written (a replacer for coreConfig).
type literal struct{}

func (literal) ReplaceKnown(input, _ string) string { return input }
