// Package fakests is the one fake STS of the tests, for what a real STS
// cannot be made to do: an httptest server on loopback that answers the STS
// Query API, records every call, and answers by the role ARN (success, a
// refusal, a 500, an answer that is not XML, no answer) unless a test
// scripts its answers. It imports only the standard library, so the core's
// own tests use it as well as the hosts' and the end-to-end tests.
package fakests

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Roles the fake knows when it answers by role: the role ARN picks its
// behaviour, so one gateway configuration reaches every STS fault through
// role rules.
const (
	RoleOK      = "arn:aws:iam:::role/ok"
	RoleDenied  = "arn:aws:iam:::role/denied"
	RoleFail500 = "arn:aws:iam:::role/fail500"
	RoleGarbage = "arn:aws:iam:::role/garbage"
	RoleHang    = "arn:aws:iam:::role/hang"
)

// The fixed credentials of a success, so token bodies compare byte for byte.
const (
	AccessKeyID     = "ASIACONFORMANCE00001"
	SecretAccessKey = "conformance/fake/secret/access/key/0001"
	SessionToken    = "conformance-fake-session-token-0001"
)

// Expiration has a fraction of a second, which the Token document must keep
// to the microsecond.
var Expiration = time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)

// Call is what the fake was asked.
type Call struct {
	Action          string
	RoleARN         string
	RoleSessionName string
	DurationSeconds string
	Policy          string
	// AccessKeyID is the key named in the SigV4 Authorization header.
	AccessKeyID string
	// SecurityToken is the X-Amz-Security-Token header: the signing keys'
	// session token, when they are temporary.
	SecurityToken string
	// HasWebIdentityToken is true when a WebIdentityToken was sent.
	HasWebIdentityToken bool
	// Form is the whole form; Request (its body read) and Body are the
	// request as it came, for the tests that check its signature.
	Form    url.Values
	Request *http.Request
	Body    []byte
}

// Answer writes the answer to the n-th call (from 0).
type Answer func(n int, w http.ResponseWriter, r *http.Request)

// STS is a running fake.
type STS struct {
	URL    string
	server *httptest.Server
	answer Answer

	mu    sync.Mutex
	calls []Call
	conns int // open client connections
	stop  chan struct{}
}

// Start starts a fake on 127.0.0.1 that answers with answer, or by role
// when answer is nil.
func Start(answer Answer) (*STS, error) {
	f := &STS{answer: answer, stop: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f.server = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.server.Listener = ln
	f.server.Config.ConnState = func(_ net.Conn, state http.ConnState) {
		f.mu.Lock()
		defer f.mu.Unlock()
		switch state {
		case http.StateNew:
			f.conns++
		case http.StateClosed, http.StateHijacked:
			f.conns--
		}
	}
	f.server.Start()
	f.URL = f.server.URL
	return f, nil
}

// Close releases hanging requests and stops the fake.
func (f *STS) Close() {
	close(f.stop)
	f.server.Close()
}

// OpenConns is how many client connections are open now.
func (f *STS) OpenConns() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.conns
}

// Calls returns what the fake was asked, in order.
func (f *STS) Calls() []Call {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Call(nil), f.calls...)
}

func (f *STS) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	form, _ := url.ParseQuery(string(body))
	call := Call{
		Action:              form.Get("Action"),
		RoleARN:             form.Get("RoleArn"),
		RoleSessionName:     form.Get("RoleSessionName"),
		DurationSeconds:     form.Get("DurationSeconds"),
		Policy:              form.Get("Policy"),
		AccessKeyID:         credentialKeyID(r.Header.Get("Authorization")),
		SecurityToken:       r.Header.Get("X-Amz-Security-Token"),
		HasWebIdentityToken: form.Get("WebIdentityToken") != "",
		Form:                form,
		Request:             r.Clone(context.Background()),
		Body:                body,
	}
	f.mu.Lock()
	n := len(f.calls)
	f.calls = append(f.calls, call)
	f.mu.Unlock()
	if f.answer != nil {
		f.answer(n, w, r)
		return
	}
	f.byRole(call, w, r)
}

// byRole answers as the role ARN of the call asks.
func (f *STS) byRole(call Call, w http.ResponseWriter, r *http.Request) {
	switch {
	case call.Action != "AssumeRole" && call.Action != "AssumeRoleWithWebIdentity":
		WriteError(w, http.StatusBadRequest, "InvalidAction", "unknown action")
	case call.Action == "AssumeRole" && call.AccessKeyID == "":
		WriteError(w, http.StatusForbidden, "MissingAuthenticationToken", "request is not signed")
	case call.RoleARN == RoleDenied:
		WriteError(w, http.StatusForbidden, "AccessDenied", "Access denied by the conformance STS")
	case call.RoleARN == RoleFail500:
		WriteError(w, http.StatusInternalServerError, "InternalError", "The conformance STS failed")
	case call.RoleARN == RoleGarbage:
		w.Header().Set("Content-Type", "text/html")
		_, _ = w.Write([]byte("<html><body>502 proxy error</body></html>"))
	case call.RoleARN == RoleHang:
		select {
		case <-r.Context().Done():
		case <-f.stop:
		case <-time.After(time.Minute):
		}
	default:
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<%[1]sResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <%[1]sResult>
    <AssumedRoleUser><Arn>arn:aws:sts:::assumed-role/ok/session</Arn><AssumedRoleId>AROA:session</AssumedRoleId></AssumedRoleUser>
    <Credentials>
      <AccessKeyId>%[2]s</AccessKeyId>
      <SecretAccessKey>%[3]s</SecretAccessKey>
      <SessionToken>%[4]s</SessionToken>
      <Expiration>%[5]s</Expiration>
    </Credentials>
  </%[1]sResult>
  <ResponseMetadata><RequestId>c0nf0rmance</RequestId></ResponseMetadata>
</%[1]sResponse>`, call.Action, AccessKeyID, SecretAccessKey, SessionToken, Expiration.Format("2006-01-02T15:04:05.000000Z"))
	}
}

// WriteError writes an STS error document.
func WriteError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error>
  <RequestId>c0nf0rmance</RequestId>
</ErrorResponse>`, code, message)
}

// credentialKeyID takes the access key from "AWS4-HMAC-SHA256 Credential=AK/…".
func credentialKeyID(auth string) string {
	const marker = "Credential="
	i := strings.Index(auth, marker)
	if i < 0 {
		return ""
	}
	rest := auth[i+len(marker):]
	if j := strings.IndexByte(rest, '/'); j >= 0 {
		return rest[:j]
	}
	return ""
}
