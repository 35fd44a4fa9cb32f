package conformance

import (
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Roles the fake STS knows; the role ARN picks its behaviour, so one gateway
// configuration reaches every STS fault through role rules.
const (
	RoleOK      = "arn:aws:iam:::role/ok"
	RoleDenied  = "arn:aws:iam:::role/denied"
	RoleFail500 = "arn:aws:iam:::role/fail500"
	RoleGarbage = "arn:aws:iam:::role/garbage"
	RoleHang    = "arn:aws:iam:::role/hang"
)

// The fake STS's fixed answer, so token bodies compare byte for byte.
const (
	FakeAccessKeyID     = "ASIACONFORMANCE00001"
	FakeSecretAccessKey = "conformance/fake/secret/access/key/0001"
	FakeSessionToken    = "conformance-fake-session-token-0001"
)

// FakeExpiration has a fraction of a second, which the Token document must
// keep to the microsecond.
var FakeExpiration = time.Date(2030, 1, 2, 3, 4, 5, 123456000, time.UTC)

// STSCall is what the fake STS was asked.
type STSCall struct {
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
	// HasWebIdentityToken is true when a WebIdentityToken was sent (its value
	// is not kept).
	HasWebIdentityToken bool
}

// FakeSTS answers the STS Query API on loopback with faults on demand.
type FakeSTS struct {
	URL    string
	server *httptest.Server

	mu    sync.Mutex
	calls []STSCall
	stop  chan struct{}
}

// NewFakeSTS starts the fake on 127.0.0.1.
func NewFakeSTS() (*FakeSTS, error) {
	f := &FakeSTS{stop: make(chan struct{})}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	f.server = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.server.Listener = ln
	f.server.Start()
	f.URL = f.server.URL
	return f, nil
}

// Close releases hanging requests and stops the fake.
func (f *FakeSTS) Close() {
	close(f.stop)
	f.server.Close()
}

// Calls returns what the fake was asked, in order.
func (f *FakeSTS) Calls() []STSCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]STSCall(nil), f.calls...)
}

func (f *FakeSTS) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	call := STSCall{
		Action:              r.PostForm.Get("Action"),
		RoleARN:             r.PostForm.Get("RoleArn"),
		RoleSessionName:     r.PostForm.Get("RoleSessionName"),
		DurationSeconds:     r.PostForm.Get("DurationSeconds"),
		Policy:              r.PostForm.Get("Policy"),
		AccessKeyID:         credentialKeyID(r.Header.Get("Authorization")),
		SecurityToken:       r.Header.Get("X-Amz-Security-Token"),
		HasWebIdentityToken: r.PostForm.Get("WebIdentityToken") != "",
	}
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()

	switch {
	case call.Action != "AssumeRole" && call.Action != "AssumeRoleWithWebIdentity":
		writeSTSError(w, http.StatusBadRequest, "InvalidAction", "unknown action")
	case call.Action == "AssumeRole" && call.AccessKeyID == "":
		writeSTSError(w, http.StatusForbidden, "MissingAuthenticationToken", "request is not signed")
	case call.RoleARN == RoleDenied:
		writeSTSError(w, http.StatusForbidden, "AccessDenied", "Access denied by the conformance STS")
	case call.RoleARN == RoleFail500:
		writeSTSError(w, http.StatusInternalServerError, "InternalError", "The conformance STS failed")
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
		writeCredentials(w, call.Action)
	}
}

func writeCredentials(w http.ResponseWriter, action string) {
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
</%[1]sResponse>`, action, FakeAccessKeyID, FakeSecretAccessKey, FakeSessionToken, FakeExpiration.Format("2006-01-02T15:04:05.000000Z"))
}

func writeSTSError(w http.ResponseWriter, status int, code, message string) {
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
