package core

import (
	"net/http"
	"strings"
)

// bearerToken takes the token from the Authorization header. The scheme is
// matched case-insensitively (RFC 9110); the token itself is never logged.
func bearerToken(r *http.Request) (string, *Error) {
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return "", &Error{Kind: KindNoBearer, Detail: "missing bearer token"}
	}
	// A header of the scheme alone is a Bearer header without a token: HTTP
	// servers trim trailing whitespace, so "Bearer " arrives as "Bearer".
	scheme, token, _ := strings.Cut(auth, " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return "", &Error{Kind: KindNoBearer, Detail: "authorization scheme must be Bearer"}
	}
	token = strings.TrimSpace(token)
	if token == "" {
		return "", &Error{Kind: KindNoBearer, Detail: "missing bearer token"}
	}
	return token, nil
}
