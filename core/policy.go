package core

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// Session policies may name the caller with ${claim:NAME} placeholders
// (NAME a claim path, claims.go). The ${claim:…} spelling leaves IAM's own policy
// variables such as ${aws:username} or ${jwt:sub} untouched for the STS.
const (
	placeholderOpen  = "${claim:"
	placeholderClose = "}"
)

// policyTemplate is a parsed session policy: literal text and claim names,
// alternating, starting and ending with literal text.
type policyTemplate struct {
	literals []string
	claims   []string
}

func parsePolicyTemplate(src string) (*policyTemplate, error) {
	t := &policyTemplate{}
	rest := src
	for {
		i := strings.Index(rest, placeholderOpen)
		if i < 0 {
			t.literals = append(t.literals, rest)
			break
		}
		j := strings.Index(rest[i:], placeholderClose)
		if j < 0 {
			return nil, fmt.Errorf("unclosed %s placeholder", placeholderOpen)
		}
		name := rest[i+len(placeholderOpen) : i+j]
		if name == "" {
			return nil, fmt.Errorf("empty %s} placeholder", placeholderOpen)
		}
		if err := checkClaimPath(name); err != nil {
			return nil, fmt.Errorf("placeholder %s%s}: %v", placeholderOpen, name, err)
		}
		t.literals = append(t.literals, rest[:i])
		t.claims = append(t.claims, name)
		rest = rest[i+j+len(placeholderClose):]
	}
	// The template must be JSON whatever the claims hold.
	probe, err := t.render(func(name string) (string, bool) { return "x", true })
	if err != nil {
		return nil, err
	}
	if !json.Valid([]byte(probe)) {
		return nil, fmt.Errorf("not a JSON document (placeholders belong inside JSON strings)")
	}
	return t, nil
}

// loadPolicy parses the session policy of one trusted issuer.
func loadPolicy(t trustedIssuer) (*policyTemplate, error) {
	src := t.JWT.Policy
	if t.JWT.PolicyFile != "" {
		data, err := os.ReadFile(t.JWT.PolicyFile)
		if err != nil {
			return nil, configError(t.option("policy_file"), err.Error())
		}
		src = string(data)
	}
	if strings.TrimSpace(src) == "" {
		return nil, nil
	}
	tmpl, err := parsePolicyTemplate(src)
	if err != nil {
		option := t.option("policy")
		if t.JWT.PolicyFile != "" {
			option = t.option("policy_file")
		}
		return nil, configError(option, err.Error())
	}
	return tmpl, nil
}

// Render fills the placeholders from the caller's claims. A missing claim, or
// a value holding an IAM wildcard or variable character, refuses the caller:
// "*" in a resource ARN would widen the policy to other people's data.
func (t *policyTemplate) Render(claims Claims) (string, error) {
	var failed string
	out, err := t.render(func(name string) (string, bool) {
		v, ok := claims.String(name)
		if !ok || v == "" || strings.ContainsAny(v, "*?$") {
			failed = name
			return "", false
		}
		return v, true
	})
	if failed != "" {
		return "", &Error{Kind: KindForbidden, Detail: "the session policy needs a usable claim " + failed}
	}
	return out, err
}

func (t *policyTemplate) render(value func(name string) (string, bool)) (string, error) {
	var b strings.Builder
	for i, lit := range t.literals {
		b.WriteString(lit)
		if i >= len(t.claims) {
			break
		}
		v, ok := value(t.claims[i])
		if !ok {
			return "", fmt.Errorf("claim %s unavailable", t.claims[i])
		}
		b.WriteString(jsonStringBody(v))
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, []byte(b.String())); err != nil {
		return "", fmt.Errorf("not a JSON document: %v", err)
	}
	return compact.String(), nil
}

// jsonStringBody escapes v for use between the quotes of a JSON string.
func jsonStringBody(v string) string {
	quoted, _ := json.Marshal(v)
	return string(quoted[1 : len(quoted)-1])
}
