package conformance

import (
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stsgate/stsgate/internal/fakests"
)

// Case is one row of the conformance table (docs/api.md): a request and the exact answer.
type Case struct {
	Name   string
	Method string
	Path   string
	// Auth returns the Authorization header value; nil sends none.
	Auth func(e *Env, now time.Time) string
	// Status, Headers (exact values) and Body (exact bytes) are expected.
	Status  int
	Headers map[string]string
	Body    string
	// SessionName, when set, is the RoleSessionName the STS must have seen
	// in the last call.
	SessionName string
	// WebIdentity expects the last STS call to forward the caller's token.
	WebIdentity bool
	// NoKeyFetch expects no discovery or JWKS request to either IdP.
	NoKeyFetch bool
}

// Expected bodies, written out independently of the core's encoder.
var (
	tokenBody = fmt.Sprintf(`{"Credentials":{"EndpointURL":%q,"AccessKeyId":%q,"SecretAccessKey":%q,"SessionToken":%q,"Expiration":"2030-01-02T03:04:05.123456+00:00"}}`+"\n",
		EndpointURL, fakests.AccessKeyID, fakests.SecretAccessKey, fakests.SessionToken)
	healthBody = `{"Status":"ok"}` + "\n"
	// containerBody is GET {prefix}/credentials' answer.
	containerBody = fmt.Sprintf(`{"AccessKeyId":%q,"SecretAccessKey":%q,"Token":%q,"Expiration":"2030-01-02T03:04:05.123456+00:00"}`+"\n",
		fakests.AccessKeyID, fakests.SecretAccessKey, fakests.SessionToken)
)

func containerCase(name string, auth func(*Env, time.Time) string) Case {
	return Case{Name: name, Method: http.MethodGet, Path: "/apis/sts/credentials", Auth: auth, Status: 200,
		Headers: map[string]string{"Content-Type": "application/json", "Cache-Control": "no-store", "Pragma": "no-cache",
			"Content-Length": strconv.Itoa(len(containerBody))},
		Body: containerBody, SessionName: user}
}

// raw sends the token itself as the Authorization header, as AWS SDKs send
// a projected service-account token file.
func raw(tok tokenFunc) func(*Env, time.Time) string {
	return func(e *Env, now time.Time) string { return tok(e, now) }
}

func problemBody(status int, detail string) string {
	return fmt.Sprintf(`{"type":"about:blank","title":%q,"status":%d,"detail":%q}`+"\n", http.StatusText(status), status, detail)
}

func tokenHeaders() map[string]string {
	return map[string]string{
		"Content-Type":   "application/json",
		"Cache-Control":  "no-store",
		"Pragma":         "no-cache",
		"Content-Length": strconv.Itoa(len(tokenBody)),
	}
}

func problemHeaders(status int, detail string, extra map[string]string) map[string]string {
	h := map[string]string{
		"Content-Type":   "application/problem+json",
		"Cache-Control":  "no-store",
		"Content-Length": strconv.Itoa(len(problemBody(status, detail))),
	}
	for k, v := range extra {
		h[k] = v
	}
	return h
}

const (
	challenge        = `Bearer realm="sts"`
	challengeInvalid = `Bearer realm="sts", error="invalid_token"`
)

func noBearer(name, method, path string, auth func(*Env, time.Time) string, detail string) Case {
	return Case{Name: name, Method: method, Path: path, Auth: auth, Status: 401,
		Headers: problemHeaders(401, detail, map[string]string{"WWW-Authenticate": challenge}),
		Body:    problemBody(401, detail)}
}

func invalid(name string, auth func(*Env, time.Time) string, detail string) Case {
	return Case{Name: name, Method: http.MethodPut, Path: "/apis/sts/token", Auth: auth, Status: 401,
		Headers: problemHeaders(401, detail, map[string]string{"WWW-Authenticate": challengeInvalid}),
		Body:    problemBody(401, detail)}
}

func refused(name, path string, auth func(*Env, time.Time) string, status int, detail string) Case {
	return Case{Name: name, Method: http.MethodPut, Path: path, Auth: auth, Status: status,
		Headers: problemHeaders(status, detail, nil), Body: problemBody(status, detail)}
}

func issued(name, path string, auth func(*Env, time.Time) string, session string) Case {
	return Case{Name: name, Method: http.MethodPut, Path: path, Auth: auth, Status: 201,
		Headers: tokenHeaders(), Body: tokenBody, SessionName: session}
}

func next(name, method, path string) Case {
	return Case{Name: name, Method: method, Path: path, Auth: bearer(userToken("RS256")), Status: NextStatus, Body: NextBody}
}

// user is the subject of well-formed tokens; its session name is itself.
const user = "jane.doe@example.com"

// claimsFor are a user's claims with edits applied.
func claimsFor(e *Env, now time.Time, edit func(jwt.MapClaims)) jwt.MapClaims {
	c := e.IdP.Claims(now, user)
	c["groups"] = []string{"sts-users"}
	if edit != nil {
		edit(c)
	}
	return c
}

type tokenFunc func(e *Env, now time.Time) string

func bearer(tok tokenFunc) func(*Env, time.Time) string {
	return func(e *Env, now time.Time) string { return "Bearer " + tok(e, now) }
}

func userToken(alg string) tokenFunc {
	return editedToken(alg, nil)
}

func editedToken(alg string, edit func(jwt.MapClaims)) tokenFunc {
	return func(e *Env, now time.Time) string {
		key := e.IdP.RSA
		switch {
		case strings.HasPrefix(alg, "ES"):
			key = e.IdP.EC
		case alg == "EdDSA":
			key = e.IdP.Ed
		}
		return Sign(alg, key, claimsFor(e, now, edit), nil)
	}
}

// issuer2Token is a token of the second issuer (Env.IdP2).
func issuer2Token(alg string, edit func(jwt.MapClaims)) tokenFunc {
	return func(e *Env, now time.Time) string {
		c := e.IdP2.Claims(now, user)
		if edit != nil {
			edit(c)
		}
		key := e.IdP2.RSA
		if strings.HasPrefix(alg, "ES") {
			key = e.IdP2.EC
		}
		return Sign(alg, key, c, nil)
	}
}

func scenario(name string) tokenFunc {
	return editedToken("RS256", func(c jwt.MapClaims) { c["scenario"] = name })
}

// Cases is the conformance table (docs/api.md), row by row, plus the edges around it.
func Cases() []Case {
	return []Case{
		issued("token/RS256", "/apis/sts/token", bearer(userToken("RS256")), user),
		issued("token/PS256", "/apis/sts/token", bearer(userToken("PS256")), user),
		issued("token/ES256", "/apis/sts/token", bearer(userToken("ES256")), user),
		issued("token/EdDSA", "/apis/sts/token", bearer(userToken("EdDSA")), user),
		issued("token/realm role by dotted claim path", "/apis/sts/token", bearer(editedToken("RS256", func(c jwt.MapClaims) {
			delete(c, "groups")
			c["realm_access"] = map[string]any{"roles": []string{"offline_access", "s3-users"}}
		})), user),
		issued("token/scheme is case-insensitive", "/apis/sts/token", func(e *Env, now time.Time) string {
			return "bearer " + userToken("RS256")(e, now)
		}, user),
		issued("token/exp within leeway", "/apis/sts/token", bearer(editedToken("RS256", func(c jwt.MapClaims) {
			c["exp"] = time.Now().Add(-30 * time.Second).Unix()
		})), user),
		issued("token/session name sanitised", "/apis/sts/token", bearer(editedToken("RS256", func(c jwt.MapClaims) {
			c["preferred_username"] = "Jane Doe/ops"
		})), "Jane-Doe-ops"),
		issued("token/session name falls back to sub", "/apis/sts/token", bearer(editedToken("RS256", func(c jwt.MapClaims) {
			delete(c, "preferred_username")
			c["sub"] = "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"
		})), "f81d4fae-7dec-11d0-a765-00a0c91e6bf6"),

		{Name: "healthz/GET", Method: http.MethodGet, Path: "/apis/sts/healthz", Auth: bearer(userToken("RS256")), Status: 200,
			Headers: map[string]string{"Content-Type": "application/json", "Content-Length": strconv.Itoa(len(healthBody))}, Body: healthBody},
		{Name: "healthz/HEAD", Method: http.MethodHead, Path: "/apis/sts/healthz", Auth: bearer(userToken("RS256")), Status: 200,
			Headers: map[string]string{"Content-Type": "application/json"}, Body: ""},
		noBearer("healthz/no token", http.MethodGet, "/apis/sts/healthz", nil, "missing bearer token"),

		{Name: "token/POST is 405", Method: http.MethodPost, Path: "/apis/sts/token", Auth: bearer(userToken("RS256")), Status: 405,
			Headers: problemHeaders(405, "use PUT", map[string]string{"Allow": "PUT"}), Body: problemBody(405, "use PUT")},
		{Name: "token/GET is 405", Method: http.MethodGet, Path: "/apis/sts/token", Status: 405,
			Headers: problemHeaders(405, "use PUT", map[string]string{"Allow": "PUT"}), Body: problemBody(405, "use PUT")},
		{Name: "healthz/DELETE is 405", Method: http.MethodDelete, Path: "/apis/sts/healthz", Status: 405,
			Headers: problemHeaders(405, "use GET or HEAD", map[string]string{"Allow": "GET, HEAD"}), Body: problemBody(405, "use GET or HEAD")},

		noBearer("token/no Authorization", http.MethodPut, "/apis/sts/token", nil, "missing bearer token"),
		noBearer("token/Basic scheme", http.MethodPut, "/apis/sts/token", func(*Env, time.Time) string {
			return "Basic " + base64.StdEncoding.EncodeToString([]byte("jane:secret"))
		}, "authorization scheme must be Bearer"),
		noBearer("token/empty bearer", http.MethodPut, "/apis/sts/token", func(*Env, time.Time) string { return "Bearer " }, "missing bearer token"),
		noBearer("token/raw token is not Bearer", http.MethodPut, "/apis/sts/token", raw(userToken("RS256")), "authorization scheme must be Bearer"),

		containerCase("credentials/Bearer token", bearer(userToken("RS256"))),
		containerCase("credentials/raw token (a projected token file)", raw(userToken("ES256"))),
		noBearer("credentials/Basic scheme", http.MethodGet, "/apis/sts/credentials", func(*Env, time.Time) string {
			return "Basic " + base64.StdEncoding.EncodeToString([]byte("jane:secret"))
		}, "authorization must be a Bearer token or the token itself"),
		noBearer("credentials/garbage", http.MethodGet, "/apis/sts/credentials", func(*Env, time.Time) string { return "not.a-token" },
			"authorization must be a Bearer token or the token itself"),
		noBearer("credentials/no Authorization", http.MethodGet, "/apis/sts/credentials", nil, "missing bearer token"),
		{Name: "credentials/raw token that fails a check", Method: http.MethodGet, Path: "/apis/sts/credentials",
			Auth: raw(editedToken("RS256", func(c jwt.MapClaims) { c["aud"] = []string{"other-service"} })), Status: 401,
			Headers: problemHeaders(401, "token has invalid audience", map[string]string{"WWW-Authenticate": challengeInvalid}),
			Body:    problemBody(401, "token has invalid audience")},

		invalid("token/expired", bearer(editedToken("RS256", func(c jwt.MapClaims) {
			c["iat"] = time.Now().Add(-3 * time.Hour).Unix()
			c["nbf"] = time.Now().Add(-3 * time.Hour).Unix()
			c["exp"] = time.Now().Add(-2 * time.Hour).Unix()
		})), "token is expired"),
		invalid("token/nbf in the future", bearer(editedToken("RS256", func(c jwt.MapClaims) {
			c["nbf"] = time.Now().Add(10 * time.Minute).Unix()
		})), "token is not valid yet"),
		invalid("token/iat in the future", bearer(editedToken("RS256", func(c jwt.MapClaims) {
			c["iat"] = time.Now().Add(10 * time.Minute).Unix()
		})), "token used before issued"),
		invalid("token/nbf 1e19 does not overflow into the past", bearer(editedToken("RS256", func(c jwt.MapClaims) {
			c["nbf"] = 1e19
		})), "token is not valid yet"),
		invalid("token/no exp", bearer(editedToken("RS256", func(c jwt.MapClaims) { delete(c, "exp") })), "token has no exp claim"),
		invalid("token/wrong issuer", bearer(editedToken("RS256", func(c jwt.MapClaims) { c["iss"] = "https://evil.example" })), "token has invalid issuer"),
		invalid("token/wrong audience", bearer(editedToken("RS256", func(c jwt.MapClaims) { c["aud"] = []string{"other-service"} })), "token has invalid audience"),
		invalid("token/alg none", bearer(func(e *Env, now time.Time) string {
			return unsignedToken(claimsFor(e, now, nil))
		}), "token algorithm is not allowed"),
		invalid("token/HS256 with the RSA public key", bearer(func(e *Env, now time.Time) string {
			der, _ := x509.MarshalPKIXPublicKey(e.IdP.RSA.Private.Public())
			return SignHMAC("HS256", der, e.IdP.RSA.Kid, claimsFor(e, now, nil))
		}), "token algorithm is not allowed"),
		invalid("token/tampered payload", bearer(func(e *Env, now time.Time) string {
			good := userToken("RS256")(e, now)
			other := strings.Split(Sign("RS256", e.IdP.Attacker, claimsFor(e, now, func(c jwt.MapClaims) { c["sub"] = "admin" }), nil), ".")
			parts := strings.Split(good, ".")
			return parts[0] + "." + other[1] + "." + parts[2]
		}), "token signature is invalid"),
		invalid("token/unknown kid", bearer(func(e *Env, now time.Time) string {
			return Sign("RS256", e.IdP.Attacker, claimsFor(e, now, nil), nil)
		}), "token signing key is unknown"),
		invalid("token/jku header is never followed", bearer(func(e *Env, now time.Time) string {
			key := SigningKey{Kid: e.IdP.RSA.Kid, Private: e.IdP.Attacker.Private}
			return Sign("RS256", key, claimsFor(e, now, nil), map[string]any{"jku": e.IdP.URL + "/attacker-jwks"})
		}), "token signature is invalid"),
		invalid("token/over 16 KiB", bearer(editedToken("RS256", func(c jwt.MapClaims) {
			c["padding"] = strings.Repeat("x", 16<<10)
		})), "token is too large"),
		invalid("token/not a JWT", func(*Env, time.Time) string { return "Bearer not-a-jwt" }, "token is malformed"),

		refused("token/no role rule admits", "/apis/sts/token", bearer(editedToken("RS256", func(c jwt.MapClaims) { delete(c, "groups") })),
			403, "no role rule admits this token"),
		refused("token/a top-level claim named realm_access.roles is not the nested one", "/apis/sts/token", bearer(editedToken("RS256", func(c jwt.MapClaims) {
			delete(c, "groups")
			c["realm_access.roles"] = []string{"s3-users"}
		})), 403, "no role rule admits this token"),
		refused("sts/AccessDenied is 502", "/apis/sts/token", bearer(scenario("denied")),
			502, "STS refused the request: AccessDenied: Access denied by the conformance STS"),
		refused("sts/500 is 502", "/apis/sts/token", bearer(scenario("fail500")),
			502, "STS refused the request: InternalError: The conformance STS failed"),
		refused("sts/garbage is 502", "/apis/sts/token", bearer(scenario("garbage")),
			502, "STS answered with something that is not an STS answer"),
		refused("sts/hang is 504", "/apis/sts/token", bearer(scenario("hang")),
			504, "STS did not answer within "+STSTimeout.String()),
		refused("sts/refused connection is 502", "/refused/token", bearer(userToken("RS256")),
			502, "STS is unreachable"),
		refused("gateway credentials missing is 503", "/nocreds/token", bearer(userToken("RS256")),
			503, "gateway credentials are unavailable"),

		func() Case {
			c := issued("web_identity/forwards the token", "/webid/token", bearer(userToken("ES256")), user)
			c.WebIdentity = true
			return c
		}(),
		issued("empty prefix/token with HS256 secret", "/token", bearer(func(e *Env, now time.Time) string {
			return SignHMAC("HS256", e.IdP.HMACSecret, "", claimsFor(e, now, nil))
		}), user),
		{Name: "empty prefix/public healthz", Method: http.MethodGet, Path: "/healthz", Status: 200,
			Headers: map[string]string{"Content-Type": "application/json"}, Body: healthBody},

		issued("issuers/the first issuer's token, its role rule", "/multi/token", bearer(userToken("RS256")), user),
		issued("issuers/the second issuer's token, its own rule and session claim", "/multi/token", bearer(issuer2Token("ES256", func(c jwt.MapClaims) {
			c["team"] = "storage"
			c["sub"] = "svc-backup"
		})), "svc-backup"),
		refused("issuers/a rule of the first issuer does not admit the second's token", "/multi/token", bearer(issuer2Token("RS256", func(c jwt.MapClaims) {
			c["groups"] = []string{"sts-users"}
		})), 403, "no role rule admits this token"),
		{Name: "issuers/a kid only the other issuer has", Method: http.MethodPut, Path: "/multi/token",
			Auth: bearer(func(e *Env, now time.Time) string {
				c := e.IdP2.Claims(now, user)
				c["team"] = "storage"
				return Sign("RS256", e.IdP.RSA, c, nil)
			}), Status: 401,
			Headers: problemHeaders(401, "token signing key is unknown", map[string]string{"WWW-Authenticate": challengeInvalid}),
			Body:    problemBody(401, "token signing key is unknown")},
		{Name: "issuers/an unknown iss fetches no key", Method: http.MethodPut, Path: "/multi/token",
			Auth: bearer(editedToken("RS256", func(c jwt.MapClaims) { c["iss"] = c["iss"].(string) + "/realms/elsewhere" })), Status: 401,
			Headers: problemHeaders(401, "token has invalid issuer", map[string]string{"WWW-Authenticate": challengeInvalid}),
			Body:    problemBody(401, "token has invalid issuer"), NoKeyFetch: true},

		next("other path/GET /", http.MethodGet, "/"),
		next("other path/PUT /apis/sts/tokens", http.MethodPut, "/apis/sts/tokens"),
		next("other path/GET /apis/sts", http.MethodGet, "/apis/sts"),
		next("other path/trailing slash", http.MethodPut, "/apis/sts/token/"),
	}
}

// unsignedToken builds an alg "none" token by hand.
func unsignedToken(claims jwt.MapClaims) string {
	s, err := jwt.NewWithClaims(jwt.SigningMethodNone, claims).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		panic(err)
	}
	return s
}
