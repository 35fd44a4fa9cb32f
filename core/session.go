package core

import "strings"

// Session names appear in the STS audit trail (RoleSessionName), so they name
// the person. AWS allows [\w+=,.@-]{2,64}; Ceph RGW refuses '+' (its rule is
// [A-Za-z0-9_=,.@-]+), so names keep only what every backend accepts.
const (
	minSessionName      = 2
	maxSessionName      = 64
	fallbackSessionName = "stsgate"
)

// sessionName takes the first of the configured claims that yields a usable
// name, sanitised; other characters become '-'.
func sessionName(claims Claims, names []string) string {
	// The first claim already a valid name, the usual case, without the
	// loop's calls (each allocates its whole frame under yaegi).
	if len(names) > 0 {
		if v, ok := claims[names[0]].(string); ok && strings.IndexAny(names[0], "./") < 0 && len(v) >= minSessionName && len(v) <= maxSessionName &&
			strings.Trim(v, sessionNameBytes) == "" {
			return v
		}
	}
	return sessionNameOf(claims, names)
}

// sessionNameOf is sessionName without the shortcut.
func sessionNameOf(claims Claims, names []string) string {
	for _, name := range names {
		v, ok := claims.String(name)
		if !ok {
			continue
		}
		if s := sanitizeSessionName(v); len(s) >= minSessionName {
			return s
		}
	}
	return fallbackSessionName
}

// sessionNameBytes are the bytes AWS, MinIO and Ceph RGW all allow in a
// RoleSessionName.
const sessionNameBytes = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_=,.@-"

func sanitizeSessionName(v string) string {
	// A name already valid in one library call: the loop below costs a
	// call per byte under yaegi.
	if len(v) <= maxSessionName && strings.Trim(v, sessionNameBytes) == "" {
		return v
	}
	out := make([]byte, 0, len(v))
	for i := 0; i < len(v) && len(out) < maxSessionName; i++ {
		c := v[i]
		if isSessionNameByte(c) {
			out = append(out, c)
			continue
		}
		if c >= 0x80 {
			// Skip the rest of a multi-byte rune; one '-' stands for it.
			for i+1 < len(v) && v[i+1]&0xC0 == 0x80 {
				i++
			}
		}
		out = append(out, '-')
	}
	return string(out)
}

func isSessionNameByte(c byte) bool {
	// One condition, not a "case a, b, c:" list: yaegi v0.16.1 (Traefik)
	// evaluates only the first expression of a tagless switch's case list.
	if (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') {
		return true
	}
	switch c {
	case '_', '=', ',', '.', '@', '-':
		return true
	}
	return false
}
