package core

import (
	"encoding/json"
	"net/http"
	"strconv"
	"time"
)

// Header values fixed by the contract.
const (
	challengeNoBearer     = `Bearer realm="sts"`
	challengeInvalidToken = `Bearer realm="sts", error="invalid_token"`
	allowToken            = "PUT"
	allowHealthz          = "GET, HEAD"
	allowCredentials      = "GET"
)

// problem is an RFC 9457 problem document, fields in the reference
// service's order.
type problem struct {
	Type   string `json:"type"`
	Title  string `json:"title"`
	Status int    `json:"status"`
	Detail string `json:"detail"`
}

type tokenDocument struct {
	Credentials tokenCredentials `json:"Credentials"`
}

type tokenCredentials struct {
	EndpointURL     string `json:"EndpointURL"`
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	SessionToken    string `json:"SessionToken"`
	Expiration      string `json:"Expiration"`
}

// containerCredentials is the document AWS SDKs read from a container
// credentials endpoint (AWS_CONTAINER_CREDENTIALS_FULL_URI).
type containerCredentials struct {
	AccessKeyID     string `json:"AccessKeyId"`
	SecretAccessKey string `json:"SecretAccessKey"`
	Token           string `json:"Token"`
	Expiration      string `json:"Expiration"`
}

type healthDocument struct {
	Status string `json:"Status"`
}

func writeProblem(w http.ResponseWriter, r *http.Request, e *Error, allow string) {
	status := e.Kind.Status()
	h := w.Header()
	switch e.Kind {
	case KindNoBearer:
		h.Set("WWW-Authenticate", challengeNoBearer)
	case KindInvalidToken:
		h.Set("WWW-Authenticate", challengeInvalidToken)
	case KindMethodNotAllowed:
		h.Set("Allow", allow)
	}
	h["Cache-Control"] = []string{"no-store"}
	writeJSON(w, r, status, "application/problem+json", problem{
		Type:   "about:blank",
		Title:  http.StatusText(status),
		Status: status,
		Detail: e.Detail,
	})
}

// writeToken answers the credentials; expiration is formatExpiration's of
// c.Expiration, which the caller needs too.
func writeToken(w http.ResponseWriter, r *http.Request, endpointURL string, c Credentials, expiration string) {
	h := w.Header()
	h["Cache-Control"] = []string{"no-store"}
	h["Pragma"] = []string{"no-cache"}
	writeJSON(w, r, http.StatusCreated, "application/json", tokenDocument{Credentials: tokenCredentials{
		EndpointURL:     endpointURL,
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		SessionToken:    c.SessionToken,
		Expiration:      expiration,
	}})
}

// writeContainerCredentials answers the credentials in the container
// credentials shape, 200 and never cached.
func writeContainerCredentials(w http.ResponseWriter, r *http.Request, c Credentials, expiration string) {
	h := w.Header()
	h["Cache-Control"] = []string{"no-store"}
	h["Pragma"] = []string{"no-cache"}
	writeJSON(w, r, http.StatusOK, "application/json", containerCredentials{
		AccessKeyID:     c.AccessKeyID,
		SecretAccessKey: c.SecretAccessKey,
		Token:           c.SessionToken,
		Expiration:      expiration,
	})
}

func writeHealth(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, r, http.StatusOK, "application/json", healthDocument{Status: "ok"})
}

// writeJSON sets Content-Length itself so that every host answers with the
// same headers, and leaves the body out for HEAD. Headers are set by their
// canonical keys straight into the map: Header.Set's canonicalisation is a
// library call per header under yaegi.
func writeJSON(w http.ResponseWriter, r *http.Request, status int, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"type":"about:blank","title":"Internal Server Error","status":500,"detail":"encoding failed"}`)
	}
	body = append(body, '\n')
	h := w.Header()
	h["Content-Type"] = []string{contentType}
	h["Content-Length"] = []string{strconv.Itoa(len(body))}
	h["X-Content-Type-Options"] = []string{"nosniff"}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(body)
	}
}

// formatExpiration writes t in UTC exactly as Python's datetime.isoformat()
// writes an aware UTC time: "+00:00", and six fractional digits (truncated,
// as Python keeps microseconds) only when there is a fraction of a second.
func formatExpiration(t time.Time) string {
	t = t.UTC()
	if t.Nanosecond() < 1000 {
		return t.Format("2006-01-02T15:04:05+00:00")
	}
	return t.Format("2006-01-02T15:04:05.000000+00:00")
}
