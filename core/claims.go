package core

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Claims are a verified token's claims, decoded as golang-jwt's MapClaims
// (plain maps behave the same compiled and interpreted).
type Claims map[string]any

// A claim path names a claim wherever the configuration does (role rules,
// session_name_claims, ${claim:…} placeholders), in one of two forms with
// one meaning each:
//
//   - a dotted path: realm_access.roles is the member roles of the object
//     realm_access, and nothing else (never a top-level claim whose name
//     holds a dot, which whoever can name a claim could otherwise use to
//     pick a role);
//   - a path starting with "/": an RFC 6901 JSON Pointer, for names that
//     hold dots or slashes: /kubernetes.io/serviceaccount/name,
//     /https:~1~1example.com~1roles ("~1" is "/", "~0" is "~"). A pointer
//     may index a list: /groups/0.
//
// checkClaimPath validates a path when the configuration loads.

// Lookup finds the claim at path (a dotted path or a JSON Pointer).
func (c Claims) Lookup(path string) (any, bool) {
	if path != "" && path[0] == '/' {
		return c.pointer(path)
	}
	var cur any = map[string]any(c)
	for {
		head, rest, nested := strings.Cut(path, ".")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[head]; !ok {
			return nil, false
		}
		if !nested {
			return cur, true
		}
		path = rest
	}
}

// pointer is Lookup for a JSON Pointer.
func (c Claims) pointer(path string) (any, bool) {
	var cur any = map[string]any(c)
	for _, token := range strings.Split(path[1:], "/") {
		token = strings.ReplaceAll(strings.ReplaceAll(token, "~1", "/"), "~0", "~")
		switch node := cur.(type) {
		case map[string]any:
			v, ok := node[token]
			if !ok {
				return nil, false
			}
			cur = v
		case []any:
			i, err := strconv.Atoi(token)
			if err != nil || i < 0 || i >= len(node) || (len(token) > 1 && token[0] == '0') {
				return nil, false
			}
			cur = node[i]
		default:
			return nil, false
		}
	}
	return cur, true
}

// String returns a claim as text: strings as they are, numbers and booleans
// formatted, anything else not at all.
func (c Claims) String(path string) (string, bool) {
	// A top-level name, the usual case, without Lookup's walk. A name
	// holding a dot or a slash is a path, never a literal claim name.
	if s, ok := c[path].(string); ok && strings.IndexAny(path, "./") < 0 {
		return s, true
	}
	v, ok := c.Lookup(path)
	if !ok {
		return "", false
	}
	return scalarString(v)
}

// Has reports whether the claim equals value, or is a list holding it.
func (c Claims) Has(path, value string) bool {
	v, ok := c.Lookup(path)
	if !ok {
		return false
	}
	if list, isList := v.([]any); isList {
		for _, item := range list {
			if s, ok := scalarString(item); ok && s == value {
				return true
			}
		}
		return false
	}
	s, ok := scalarString(v)
	return ok && s == value
}

// checkClaimPath says what is wrong with a claim path, or nil.
func checkClaimPath(path string) error {
	if path == "" {
		return fmt.Errorf("a claim path is empty")
	}
	if path[0] == '/' {
		for i := 0; i < len(path); i++ {
			if path[i] == '~' && (i+1 == len(path) || (path[i+1] != '0' && path[i+1] != '1')) {
				return fmt.Errorf("claim path %q: a JSON Pointer writes ~ as ~0 and / as ~1", path)
			}
		}
		return nil
	}
	suggest := "/" + strings.ReplaceAll(strings.ReplaceAll(path, "~", "~0"), "/", "~1")
	if strings.Contains(path, "/") {
		return fmt.Errorf("claim path %q holds a /: a dotted path means nesting; write a name that holds dots or slashes as a JSON Pointer, %s", path, suggest)
	}
	for _, part := range strings.Split(path, ".") {
		if part == "" {
			return fmt.Errorf("claim path %q has an empty part: a dotted path means nesting; write a name that holds dots as a JSON Pointer, %s", path, suggest)
		}
	}
	return nil
}

func scalarString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case json.Number:
		return x.String(), true
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case bool:
		return strconv.FormatBool(x), true
	}
	return "", false
}
