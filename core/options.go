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

// OptionSpec is one option as every host spells it. Hosts read options
// through ConfigOptions (ConfigFrom, the Caddyfile parser), errors name them
// through it, and tests hold the README's table and Caddy's docs to it.
type OptionSpec struct {
	Name      string // the Caddyfile's path: "jwt.issuer" inside the jwt block
	Type      string // OptionText, OptionList, ...
	Core      string // the path in Config's JSON ("" for a block)
	Secret    bool   // never quoted nor trimmed; resolved by ConfigFrom's secret
	PerIssuer bool   // may also be set in an issuer's block, for its tokens
	Caddyfile string // the keyword in its block ("" for none)
	JSON      string // the Caddy module's JSON path
	Traefik   string // the Traefik plugin's path
	Default   string // as an operator writes it ("" for none)
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

// Host is the gateway whose options ConfigFrom reads, which decides how
// they are spelt there and in every error and warning.
type Host int

const (
	// HostCaddy reads the Caddy module's JSON (durations in nanoseconds)
	// and names options as the Caddyfile does.
	HostCaddy Host = iota
	// HostTraefik reads options as Traefik's providers hand them over
	// (keys in any case, "true", "2", "a,b", durations as text or seconds)
	// and names them in camelCase.
	HostTraefik
)

// ConfigOptions is every option, in the README's order. Left empty, Core
// and JSON are Name, Caddyfile is Name's last part and Traefik is Name in
// camelCase ("-": none); Default comes from DefaultConfig.
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

// init derives what the table leaves empty. (Not in the table's
// initializer: yaegi runs those before the types they use exist.)
func init() {
	var defaults map[string]any
	_ = decodeJSON(DefaultConfig().normalized(), &defaults)
	for i, o := range ConfigOptions {
		o.Core = orName(o.Core, o.Name)
		o.JSON = orName(o.JSON, o.Name)
		o.Caddyfile = orName(o.Caddyfile, o.Name[strings.LastIndex(o.Name, ".")+1:])
		o.Traefik = orName(o.Traefik, camelCase(o.Name))
		var v any = defaults
		for _, key := range strings.Split(o.Core, ".") {
			m, _ := v.(map[string]any)
			v = m[key]
		}
		if v == nil {
			v = map[string]any{OptionFlag: false, OptionInt: 0, OptionDuration: 0.0}[o.Type]
		}
		d, isNumber := v.(float64)
		switch {
		case o.Name == "sts_endpoint":
			o.Default = defaultSTSEndpoint("{region}")
		case o.Type == OptionDuration && d == 0:
			o.Default = "0"
		case o.Type == OptionDuration && isNumber:
			o.Default = strings.Replace(time.Duration(d).String(), "m0s", "m", 1)
			if strings.HasSuffix(o.Default, "h0m") {
				o.Default = strings.TrimSuffix(o.Default, "0m")
			}
		case v != nil:
			o.Default = strings.Trim(fmt.Sprint(v), "[]")
		}
		ConfigOptions[i] = o
	}
}

func orName(v, name string) string {
	if v == "-" {
		return ""
	}
	return or(v, name)
}

// camelCase is Traefik's spelling of a name: jwt.jwks_url is jwt.jwksURL.
func camelCase(name string) string {
	words := strings.Split(name, "_")
	for i, w := range words[1:] {
		words[i+1] = strings.ToUpper(w[:1]) + w[1:]
		if w == "url" {
			words[i+1] = "URL"
		}
	}
	return strings.Join(words, "")
}

// ConfigFrom builds a Config over DefaultConfig from a host's options in
// JSON (the host marshals them: under yaegi only the package that declares
// a struct sees its tags). An option absent, null or empty keeps its
// default; an unknown one is refused with the closest known name. Text is
// trimmed (secrets are not), lists drop blank members, a duration is text
// (a Go duration or whole seconds) or a number (Caddy: nanoseconds,
// Traefik: seconds). secret, if not nil, resolves each Secret option's
// value. Errors name options as the input wrote them.
func ConfigFrom(raw []byte, host Host, secret func(written string) (string, error)) (Config, error) {
	var fields map[string]any
	if err := json.Unmarshal(raw, &fields); err != nil {
		return Config{}, err
	}
	r := reader{traefik: host == HostTraefik, secret: secret}
	top, err := r.level(fields, "", false)
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

// reader reads one host's options (ConfigFrom).
type reader struct {
	traefik bool // a bool, not a Host: see Config.traefik
	secret  func(written string) (string, error)
}

// key is o's key at the top level or, block, in an issuer's block ("" when
// o is not written there).
func (r reader) key(o OptionSpec, block bool) string {
	p := o.JSON
	if r.traefik {
		p = o.Traefik
	}
	rest, inJWT := strings.CutPrefix(p, "jwt.")
	switch {
	case inJWT && block:
		return rest
	case inJWT || (block && !o.PerIssuer):
		return ""
	}
	return p
}

// level reads the options of one level (the top, or the issuer's block
// named by path: "jwt." or "issuers[N].") into Config's (or JWTConfig's)
// JSON shape.
func (r reader) level(fields map[string]any, path string, block bool) (map[string]any, error) {
	var known []string
	rows := map[string]OptionSpec{} // by lower-case key: Traefik's keys are in any case
	for _, row := range ConfigOptions {
		if key := r.key(row, block); key != "" {
			known = append(known, key)
			rows[strings.ToLower(key)] = row
		}
	}
	out := map[string]any{}
	keys := make([]string, 0, len(fields))
	for k := range fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		// Map elements not in a tuple: see docs/yaegi.md.
		o := rows[strings.ToLower(k)]
		v := fields[k]
		name := path + k
		if o.Name == "" {
			return nil, unknownOption(path, k, known)
		}
		var val any
		var err error
		list, isList := v.([]any)
		switch {
		case v == nil:
		case o.Type == OptionBlock:
			val, err = r.block(v, name+".")
		case o.Type == OptionIssuers && !isList:
			err = &ConfigError{Option: name, Reason: "must be a list of blocks of jwt options"}
		case o.Type == OptionIssuers:
			var blocks []any
			for n, item := range list {
				b, err := r.block(item, fmt.Sprintf("%s[%d].", name, n))
				if err != nil {
					return nil, err
				}
				blocks = append(blocks, b)
			}
			val = blocks
		default:
			val, err = r.value(o, v, name)
		}
		if err != nil {
			return nil, err
		}
		if val != nil {
			placePath(out, strings.TrimPrefix(or(o.Core, o.Name), "jwt."), val)
		}
	}
	return out, nil
}

func (r reader) block(v any, path string) (any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, &ConfigError{Option: strings.TrimSuffix(path, "."), Reason: "must be a block of jwt options"}
	}
	inner, err := r.level(m, path, true)
	if err != nil {
		return nil, err
	}
	return inner, nil
}

// value is v, option o's value in the host's input (named name), in
// Config's JSON; nil leaves the default.
func (r reader) value(o OptionSpec, v any, name string) (any, error) {
	bad := func(reason string) error { return &ConfigError{Option: name, Reason: reason} }
	s, isText := v.(string)
	n, isNumber := v.(float64)
	_, listed := v.([]any)
	if !isText && (o.Type == OptionText || o.Type == OptionList) && !listed {
		s = fmt.Sprint(v)
		isText = true
	}
	if isText && !o.Secret {
		s = strings.TrimSpace(s)
	}
	if isText && s == "" && o.Name != "prefix" {
		return nil, nil
	}
	switch {
	case o.Type == OptionText && o.Secret && s != "" && r.secret != nil:
		resolved, err := r.secret(s)
		if err != nil {
			return nil, bad(err.Error())
		}
		return resolved, nil
	case o.Type == OptionText:
		return s, nil
	case o.Type == OptionList:
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
	case o.Type == OptionFlag && isText:
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, bad(fmt.Sprintf("must be true or false, not %q", s))
		}
		return b, nil
	case o.Type == OptionFlag && isNumber:
		return n != 0, nil
	case o.Type == OptionInt && isText:
		i, err := strconv.Atoi(s)
		if err != nil {
			return nil, bad(fmt.Sprintf("not a whole number: %q", s))
		}
		return i, nil
	case o.Type == OptionInt && isNumber && n != math.Trunc(n):
		return nil, bad(fmt.Sprintf("not a whole number: %v", n))
	case o.Type == OptionDuration && (isText || isNumber && r.traefik):
		if isNumber {
			s = strconv.FormatFloat(n, 'f', -1, 64)
		}
		d, err := durationText(s)
		if err != nil {
			return nil, bad(err.Error())
		}
		return d, nil
	case o.Type == OptionRoles:
		// Not `return r.roles(...)`: yaegi loses the error when converting
		// the results.
		rules, err := r.roles(v, name)
		if err != nil {
			return nil, err
		}
		return rules, nil
	}
	return v, nil
}

// roles reads role rules, each {claim, value, role_arn (Caddy) or roleArn
// (Traefik)}.
func (r reader) roles(v any, name string) ([]RoleRule, error) {
	known := []string{"claim", "value", "role_arn"}
	if r.traefik {
		known[2] = "roleArn"
	}
	var rules []RoleRule
	items, _ := v.([]any)
	for _, item := range items {
		m, _ := item.(map[string]any)
		rule := map[string]string{}
		for k, field := range m {
			s, _ := field.(string)
			key := strings.ToLower(strings.ReplaceAll(k, "_", ""))
			if key != "claim" && key != "value" && key != "rolearn" {
				return nil, unknownOption(name+"[].", k, known)
			}
			if key != "value" {
				s = strings.TrimSpace(s)
			}
			rule[key] = s
		}
		rules = append(rules, RoleRule{Claim: rule["claim"], Value: rule["value"], RoleARN: rule["rolearn"]})
	}
	return rules, nil
}

// unknownOption refuses the option key at path (Traefik would otherwise
// ignore a misspelt accessKeyFile and serve with other keys), naming the
// closest known key when one is near (a third of its letters).
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
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := []int{i}
		for j := 1; j <= len(b); j++ {
			best := prev[j-1] // no min builtin: yaegi's Go is older
			if a[i-1] != b[j-1] {
				best++
			}
			if d := prev[j] + 1; d < best {
				best = d
			}
			if d := cur[j-1] + 1; d < best {
				best = d
			}
			cur = append(cur, best)
		}
		prev = cur
	}
	return prev[len(b)]
}

// durationText reads a duration written as text: a bare integer is
// seconds, anything else a Go duration such as "1h30m".
func durationText(s string) (any, error) {
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
