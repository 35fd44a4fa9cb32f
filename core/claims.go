package core

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Claims are a verified token's claims, decoded as golang-jwt's MapClaims
// (plain maps behave the same compiled and interpreted).
type Claims map[string]any

// Lookup finds a claim by name, or by a dotted path such as
// realm_access.roles. A claim whose own name contains dots (a URL-named
// claim) is found by its full name first.
func (c Claims) Lookup(path string) (any, bool) {
	if v, ok := c[path]; ok {
		return v, true
	}
	var cur any = map[string]any(c)
	for _, part := range strings.Split(path, ".") {
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[part]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// String returns a claim as text: strings as they are, numbers and booleans
// formatted, anything else not at all.
func (c Claims) String(path string) (string, bool) {
	// A top-level string claim, the usual case, without Lookup's walk.
	if s, ok := c[path].(string); ok {
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
