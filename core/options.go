package core

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

// OptionSpec is one configuration option as every host spells it. The
// table below is the one list of options: hosts read their options through
// it (ConfigFrom, the Caddyfile parser), errors name options through it in
// the host's spelling, and tests hold the README's options table and the
// Caddy module's fields and their documented defaults to it. How each value
// is checked lives in Config.Validate.
type OptionSpec struct {
	// Name is the option's path as the Caddyfile writes it ("jwt.issuer"
	// inside the jwt block); Caddy's errors use it.
	Name string
	// Type is what the value is (OptionText, OptionList, ...).
	Type string
	// Core is the option's path in Config's JSON encoding ("" for a block).
	Core string
	// Secret options are never quoted in errors or logs, nor trimmed.
	Secret bool
	// PerIssuer options may also be set inside an issuer's block (jwt, or
	// an element of issuers), for that issuer's tokens only.
	PerIssuer bool
	// Caddyfile is the keyword in a Caddyfile block ("" when there is none:
	// the prefix is the directive's argument, several issuers are repeated
	// jwt blocks).
	Caddyfile string
	// JSON is the Caddy module's JSON field path.
	JSON string
	// Traefik is the Traefik plugin's option path.
	Traefik string
	// Default is the default as an operator writes it ("" for none),
	// derived from DefaultConfig.
	Default string
}

// What an option's value is.
const (
	OptionText     = "text"     // one word
	OptionList     = "list"     // one or more words; repeats add up
	OptionFlag     = "flag"     // a switch: present (Caddyfile) or true
	OptionDuration = "duration" // 90s, 15m, 1h
	OptionInt      = "int"      // a whole number
	OptionRoles    = "roles"    // <claim> <value> <arn> rules, in order
	OptionBlock    = "block"    // the jwt options
	OptionIssuers  = "issuers"  // a list of jwt blocks, one per issuer
)

// Host is the gateway whose configuration ConfigFrom reads: it decides the
// options' spelling in the input and in every error and warning.
type Host int

const (
	// HostCaddy reads the Caddy module's JSON (durations in nanoseconds)
	// and names options as the Caddyfile does.
	HostCaddy Host = iota
	// HostTraefik reads the Traefik plugin's options as Traefik's providers
	// hand them over (keys in any case, "true", "2", "a,b", durations as
	// text or seconds) and names options in camelCase.
	HostTraefik
)

// ConfigOptions is every option, in the order the README lists them. Left
// empty, Core and JSON are Name, Caddyfile is Name's last part and Traefik
// is Name in camelCase ("-": none); Default comes from DefaultConfig.
var ConfigOptions = []OptionSpec{
	{Name: "prefix", Type: OptionText, Caddyfile: "-"},
	{Name: "endpoint_url", Type: OptionText},
	{Name: "sts_endpoint", Type: OptionText, Core: "sts.endpoint"},
	{Name: "region", Type: OptionText, Core: "sts.region"},
	{Name: "mode", Type: OptionText},
	{Name: "role_arn", Type: OptionText, PerIssuer: true},
	{Name: "role", Type: OptionRoles, Core: "roles", JSON: "roles", Traefik: "roles", PerIssuer: true},
	{Name: "duration", Type: OptionDuration, PerIssuer: true},
	{Name: "session_name_claim", Type: OptionList, Core: "session_name_claims", JSON: "session_name_claims", PerIssuer: true},
	{Name: "access_key", Type: OptionText, Core: "credentials.access_key", Secret: true},
	{Name: "access_key_file", Type: OptionText, Core: "credentials.access_key_file"},
	{Name: "secret_key", Type: OptionText, Core: "credentials.secret_key", Secret: true},
	{Name: "secret_key_file", Type: OptionText, Core: "credentials.secret_key_file"},
	{Name: "ca_file", Type: OptionText, Core: "sts.ca_file"},
	{Name: "insecure_skip_verify", Type: OptionFlag, Core: "sts.insecure_skip_verify"},
	{Name: "policy", Type: OptionText, PerIssuer: true},
	{Name: "policy_file", Type: OptionText, PerIssuer: true},
	{Name: "timeout", Type: OptionDuration, Core: "sts.timeout"},
	{Name: "retries", Type: OptionInt, Core: "sts.retries"},
	{Name: "public_healthz", Type: OptionFlag},
	{Name: "container_credentials", Type: OptionFlag},
	{Name: "cache", Type: OptionDuration},
	{Name: "cache_max_entries", Type: OptionInt},
	{Name: "jwt", Type: OptionBlock, Core: "-"},
	{Name: "issuers", Type: OptionIssuers, Core: "-", Caddyfile: "-"},
	{Name: "jwt.issuer", Type: OptionText},
	{Name: "jwt.audience", Type: OptionList},
	{Name: "jwt.jwks_url", Type: OptionText},
	{Name: "jwt.jwks_file", Type: OptionText},
	{Name: "jwt.ca_file", Type: OptionText},
	{Name: "jwt.insecure_skip_verify", Type: OptionFlag},
	{Name: "jwt.algorithms", Type: OptionList},
	{Name: "jwt.leeway", Type: OptionDuration},
	{Name: "jwt.hmac_secret", Type: OptionText, Secret: true},
	{Name: "jwt.hmac_secret_file", Type: OptionText},
	{Name: "jwt.refresh_cooldown", Type: OptionDuration},
	{Name: "jwt.fetch_timeout", Type: OptionDuration},
	{Name: "jwt.max_token_bytes", Type: OptionInt},
	{Name: "jwt.key_max_age", Type: OptionDuration},
}

// init derives what the table leaves empty. (In init, not in the table's
// initializer: yaegi, which interprets the core in Traefik, runs package
// variable initializers before the types and variables they use exist.)
func init() {
	var defaults map[string]any
	_ = decodeJSON(DefaultConfig().normalized(), &defaults)
	for i, o := range ConfigOptions {
		o.Core = orName(o.Core, o.Name)
		o.JSON = orName(o.JSON, o.Name)
		o.Caddyfile = orName(o.Caddyfile, o.Name[strings.LastIndex(o.Name, ".")+1:])
		o.Traefik = orName(o.Traefik, camelCase(o.Name))
		o.Default = operatorText(o.Type, lookupPath(defaults, o.Core))
		if o.Name == "sts_endpoint" {
			o.Default = defaultSTSEndpoint("{region}")
		}
		ConfigOptions[i] = o
	}
}

func orName(v, name string) string {
	switch v {
	case "":
		return name
	case "-":
		return ""
	}
	return v
}

// camelCase is Traefik's spelling of a snake_case name: jwt.jwks_url is
// jwt.jwksURL.
func camelCase(name string) string {
	words := strings.Split(name, "_")
	for i := 1; i < len(words); i++ {
		if words[i] == "url" {
			words[i] = "URL"
		} else {
			words[i] = strings.ToUpper(words[i][:1]) + words[i][1:]
		}
	}
	return strings.Join(words, "")
}

// operatorText writes v, a default in Config's JSON, as an operator does.
func operatorText(typ string, v any) string {
	switch typ {
	case OptionDuration:
		n, _ := v.(float64)
		return formatDuration(time.Duration(n))
	case OptionInt:
		n, _ := v.(float64)
		return strconv.Itoa(int(n))
	case OptionFlag:
		b, _ := v.(bool)
		return strconv.FormatBool(b)
	case OptionList:
		var words []string
		list, _ := v.([]any)
		for _, w := range list {
			words = append(words, fmt.Sprint(w))
		}
		return strings.Join(words, " ")
	}
	s, _ := v.(string)
	return s
}

// formatDuration writes d as an operator would: "1h", "1m", "10s", "0".
func formatDuration(d time.Duration) string {
	if d == 0 {
		return "0"
	}
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// ConfigFrom builds a Config over DefaultConfig from a host's options as
// encoding/json writes them (the host marshals them: under yaegi only the
// package that declares a struct sees its field tags), in host's spelling.
// An option absent, null or empty keeps its default; one no row names is
// refused with the closest known name. Text is trimmed (secrets are not),
// lists drop blank members, and a duration is text (a Go duration such as
// "90s", or whole seconds) or a number (Caddy: nanoseconds, Traefik:
// seconds). Errors name options as the input wrote them.
func ConfigFrom(raw []byte, host Host) (Config, error) {
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Config{}, err
	}
	top, err := host.readLevel(fields, "", false)
	if err != nil {
		return Config{}, err
	}
	issuers, _ := top["issuers"].([]any)
	delete(top, "issuers")
	c := DefaultConfig()
	if err := decodeJSON(top, &c); err != nil {
		return Config{}, err
	}
	for _, block := range issuers {
		j := DefaultConfig().JWT
		if err := decodeJSON(block, &j); err != nil {
			return Config{}, err
		}
		c.Issuers = append(c.Issuers, j)
	}
	c.traefik = host == HostTraefik
	return c, nil
}

// key is o's key in host's input at the top level or, block, inside an
// issuer's block ("" when o is not written there).
func (h Host) key(o OptionSpec, block bool) string {
	p := o.JSON
	if h == HostTraefik {
		p = o.Traefik
	}
	if rest, ok := strings.CutPrefix(p, "jwt."); ok {
		if block {
			return rest
		}
		return ""
	}
	if block && !o.PerIssuer {
		return ""
	}
	return p
}

// readLevel reads the options of one level of fields (the top, or an
// issuer's block named by path, "jwt." or "issuers[N].") into Config's
// (or JWTConfig's) JSON shape.
func (h Host) readLevel(fields map[string]any, path string, block bool) (map[string]any, error) {
	out := map[string]any{}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		// One variable per statement: yaegi does not reset variables a
		// tuple := declares in a loop.
		var known []string
		var o OptionSpec
		found := false
		for _, row := range ConfigOptions {
			if key := h.key(row, block); key != "" {
				known = append(known, key)
				if strings.EqualFold(key, k) {
					o = row
					found = true
				}
			}
		}
		name := path + k
		v := fields[k] // not in a tuple: yaegi mishandles map elements there
		switch {
		case !found:
			return nil, unknownOption(path, k, known)
		case v == nil:
		case o.Type == OptionBlock || o.Type == OptionIssuers:
			list, isList := v.([]any)
			if o.Type == OptionBlock {
				// Separate statements: yaegi mishandles this tuple.
				list = []any{v}
				isList = true
			}
			var blocks []any
			for n, item := range list {
				m, ok := item.(map[string]any)
				if !ok || !isList {
					return nil, &ConfigError{Option: name, Reason: "must be a block of jwt options"}
				}
				prefix := name + "."
				if o.Type == OptionIssuers {
					prefix = fmt.Sprintf("%s[%d].", name, n)
				}
				inner, err := h.readLevel(m, prefix, true)
				if err != nil {
					return nil, err
				}
				blocks = append(blocks, inner)
			}
			if o.Type == OptionBlock {
				out["jwt"] = blocks[0]
			} else {
				out["issuers"] = blocks
			}
		default:
			val, err := h.value(o, v, name)
			if err != nil {
				return nil, err
			}
			if val != nil {
				core := o.Core
				if block {
					core = strings.TrimPrefix(core, "jwt.")
				}
				placePath(out, core, val)
			}
		}
	}
	return out, nil
}

// value is v, option o's value in the host's input (named name), in
// Config's JSON; nil leaves the default.
func (h Host) value(o OptionSpec, v any, name string) (any, error) {
	bad := func(reason string) error { return &ConfigError{Option: name, Reason: reason} }
	s, isText := v.(string)
	n, isNumber := v.(float64)
	switch o.Type {
	case OptionText:
		if !isText {
			s = fmt.Sprint(v)
		}
		if !o.Secret {
			s = strings.TrimSpace(s)
		}
		if s == "" && o.Name != "prefix" {
			return nil, nil
		}
		return s, nil
	case OptionList:
		items, _ := v.([]any)
		if isText {
			items = nil
			for _, part := range strings.Split(s, ",") {
				items = append(items, part)
			}
		}
		var list []string
		for _, item := range items {
			if w := strings.TrimSpace(fmt.Sprint(item)); w != "" {
				list = append(list, w)
			}
		}
		if len(list) == 0 {
			return nil, nil
		}
		return list, nil
	case OptionFlag:
		if isText {
			b, err := strconv.ParseBool(strings.TrimSpace(s))
			if err != nil {
				return nil, bad(fmt.Sprintf("must be true or false, not %q", s))
			}
			return b, nil
		}
		if isNumber {
			return n != 0, nil
		}
	case OptionInt:
		if isText {
			i, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				return nil, bad(fmt.Sprintf("not a whole number: %q", s))
			}
			return i, nil
		}
		if isNumber && n != math.Trunc(n) {
			return nil, bad(fmt.Sprintf("not a whole number: %v", n))
		}
	case OptionDuration:
		if isText {
			d, err := durationText(s)
			if err != nil {
				return nil, bad(err.Error())
			}
			return d, nil
		}
		if isNumber && h == HostTraefik {
			return durationText(strconv.FormatFloat(n, 'f', -1, 64))
		}
	case OptionRoles:
		// Not `return h.roles(...)`: yaegi loses the error when converting
		// the results.
		rules, err := h.roles(v, name)
		if err != nil {
			return nil, err
		}
		return rules, nil
	}
	return v, nil
}

// roles reads role rules, each {claim, value, role_arn (Caddy) or roleArn
// (Traefik)}.
func (h Host) roles(v any, name string) ([]RoleRule, error) {
	known := []string{"claim", "value", "role_arn"}
	if h == HostTraefik {
		known[2] = "roleArn"
	}
	var rules []RoleRule
	items, _ := v.([]any)
	for _, item := range items {
		var r RoleRule
		m, _ := item.(map[string]any)
		for k, field := range m {
			s, _ := field.(string)
			switch strings.ToLower(strings.ReplaceAll(k, "_", "")) {
			case "claim":
				r.Claim = strings.TrimSpace(s)
			case "value":
				r.Value = s
			case "rolearn":
				r.RoleARN = strings.TrimSpace(s)
			default:
				return nil, unknownOption(name+"[].", k, known)
			}
		}
		rules = append(rules, r)
	}
	return rules, nil
}

// unknownOption refuses the option key at path (Traefik would otherwise
// ignore a misspelt accessKeyFile and serve with other keys), naming the
// closest of the known keys when one is near (a third of its letters).
func unknownOption(path, key string, known []string) error {
	reason := "unknown option"
	best, bestDist := "", len(key)/3+1
	for _, k := range known {
		if d := editDistance(strings.ToLower(key), strings.ToLower(k)); d < bestDist {
			best, bestDist = k, d
		}
	}
	if best != "" {
		reason += "; did you mean " + path + best + "?"
	}
	return &ConfigError{Option: path + key, Reason: reason}
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			// No min builtin: yaegi's Go is older than it.
			best := prev[j-1] + cost
			if prev[j]+1 < best {
				best = prev[j] + 1
			}
			if cur[j-1]+1 < best {
				best = cur[j-1] + 1
			}
			cur[j] = best
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// durationText reads a duration written as text: empty is unset, a bare
// integer is seconds, anything else a Go duration such as "1h30m".
func durationText(s string) (any, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		if n > math.MaxInt64/int64(time.Second) || n < math.MinInt64/int64(time.Second) {
			return nil, fmt.Errorf("%q seconds is out of range", s)
		}
		return n * int64(time.Second), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return nil, fmt.Errorf("not a duration: %q (write it like \"90s\", \"15m\" or \"1h\")", s)
	}
	return int64(d), nil
}

func decodeJSON(v any, into any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, into)
}

// lookupPath finds the value at a dotted path of nested JSON objects.
func lookupPath(m map[string]any, path string) any {
	head, rest, nested := strings.Cut(path, ".")
	if inner, ok := m[head].(map[string]any); ok && nested {
		return lookupPath(inner, rest)
	}
	if nested {
		return nil
	}
	return m[head]
}

// placePath sets v at a dotted path, making the objects on the way.
func placePath(m map[string]any, path string, v any) {
	head, rest, nested := strings.Cut(path, ".")
	if !nested {
		m[head] = v
		return
	}
	inner, ok := m[head].(map[string]any)
	if !ok {
		inner = map[string]any{}
		m[head] = inner
	}
	placePath(inner, rest, v)
}
