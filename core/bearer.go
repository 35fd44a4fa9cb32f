package core

import (
	"net/http"
	"strings"
)

// bearerToken takes the token from the Authorization header. The scheme is
// matched case-insensitively (RFC 9110); the token itself is never logged.
func bearerToken(r *http.Request) (string, *Error) {
	// The server canonicalised the key, so the map gives what Get would,
	// without a library call.
	auth := ""
	if values := r.Header["Authorization"]; len(values) > 0 {
		auth = values[0]
	}
	// "Bearer <token>", the usual case, in a few operations: yaegi (Traefik)
	// allocates every temporary of a function on each call, so the
	// refusals live in bearerTokenOf.
	if len(auth) > 7 && auth[6] == ' ' && (auth[:6] == "Bearer" || strings.EqualFold(auth[:6], "Bearer")) {
		if token := strings.TrimSpace(auth[7:]); token != "" {
			return token, nil
		}
	}
	return bearerTokenOf(auth)
}

// credentialsToken takes the token of GET {prefix}/credentials: "Bearer
// <JWT>", or the JWT itself, which is how AWS SDKs send a projected
// service-account token file (AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE holds
// the raw token, sent verbatim). Anything else is refused as bearerToken
// refuses it.
func credentialsToken(r *http.Request) (string, *Error) {
	auth := ""
	if values := r.Header["Authorization"]; len(values) > 0 {
		auth = values[0]
	}
	if isCompactJWT(auth) {
		return auth, nil
	}
	if token, e := bearerToken(r); e == nil || auth == "" {
		return token, e
	}
	return "", &Error{Kind: KindNoBearer, Detail: "authorization must be a Bearer token or the token itself"}
}

// isCompactJWT reports whether s has a JWS compact serialisation's shape:
// three base64url segments joined by two dots (verification checks the rest).
func isCompactJWT(s string) bool {
	if s == "" || strings.Count(s, ".") != 2 {
		return false
	}
	return strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") == ""
}

// bearerTokenOf is bearerToken for any header value.
func bearerTokenOf(auth string) (string, *Error) {
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
