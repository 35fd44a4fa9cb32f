package core

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"
)

// maxSTSAnswer bounds what is read of an STS answer; real ones are ~2 KiB.
const maxSTSAnswer = 1 << 20

// maxSTSMessage bounds how much of an STS error message reaches the caller.
const maxSTSMessage = 200

// The STS Query API answers, matched by local name only: AWS and MinIO put
// them in the https://sts.amazonaws.com/doc/2011-06-15/ namespace, Ceph RGW
// in none.

type stsCredentialsXML struct {
	AccessKeyID     string `xml:"AccessKeyId"`
	SecretAccessKey string `xml:"SecretAccessKey"`
	SessionToken    string `xml:"SessionToken"`
	Expiration      string `xml:"Expiration"`
}

type stsResultXML struct {
	Credentials stsCredentialsXML `xml:"Credentials"`
}

// stsErrorXML is the Error element of an ErrorResponse, or a bare S3-style
// Error document.
type stsErrorXML struct {
	Type      string `xml:"Type"`
	Code      string `xml:"Code"`
	Message   string `xml:"Message"`
	RequestID string `xml:"RequestId"`
}

// stsAnswerXML is every STS answer, told apart by its root: a success
// (AssumeRoleResponse, AssumeRoleWithWebIdentityResponse), an ErrorResponse
// (Error, RequestID) or a bare Error (its fields at the root). Fields are
// listed, not embedded: yaegi's structs embed unreliably.
type stsAnswerXML struct {
	XMLName     xml.Name
	AssumeRole  stsResultXML `xml:"AssumeRoleResult"`
	WebIdentity stsResultXML `xml:"AssumeRoleWithWebIdentityResult"`
	Error       stsErrorXML  `xml:"Error"`
	RequestID   string       `xml:"RequestId"`
	Type        string       `xml:"Type"`
	Code        string       `xml:"Code"`
	Message     string       `xml:"Message"`
}

// readSTSAnswer reads at most maxSTSAnswer bytes of an answer. A longer one
// is a KindSTSBadAnswer *Error; a read failure is returned as it is.
func readSTSAnswer(r io.Reader) ([]byte, error) {
	body, err := io.ReadAll(io.LimitReader(r, maxSTSAnswer+1))
	if err != nil {
		return nil, err
	}
	if len(body) > maxSTSAnswer {
		return nil, badSTSAnswer(fmt.Errorf("the STS answer is larger than %d bytes", maxSTSAnswer))
	}
	return body, nil
}

// parseSTSAnswer reads an STS answer of the given HTTP status: the
// credentials of a success document, a KindSTSRejected *Error for an error
// document (whatever the status), and a KindSTSBadAnswer *Error for anything
// else. redact lists request values (token, policy) that must not reach a
// Detail even if the STS echoed them.
func parseSTSAnswer(status int, body []byte, redact []string) (Credentials, error) {
	if status >= 200 && status <= 299 {
		if c, ok := stsSuccess(body); ok {
			return c, nil
		}
	}
	return stsDocument(status, body, redact)
}

// stsSuccess reads a complete success answer in one library call; ok is
// false for anything else, which stsDocument then explains. (yaegi, under
// Traefik, allocates every temporary of a function on each call: this is
// the one frame the success path pays for.)
func stsSuccess(body []byte) (out Credentials, ok bool) {
	// Pointers throughout: under yaegi each struct-valued expression would
	// be a copy of its own.
	doc := new(stsAnswerXML)
	if xml.Unmarshal(body, doc) != nil {
		return out, false
	}
	c, other := &doc.AssumeRole.Credentials, &doc.WebIdentity.Credentials
	if doc.XMLName.Local == "AssumeRoleWithWebIdentityResponse" {
		c, other = other, c
	} else if doc.XMLName.Local != "AssumeRoleResponse" {
		return out, false
	}
	c = pickCredentials(c, other)
	exp, err := time.Parse(time.RFC3339Nano, c.Expiration)
	if err != nil {
		// Another spelling, or none: stsDocument reads it.
		return out, false
	}
	out = newCredentials(c.AccessKeyID, c.SecretAccessKey, c.SessionToken, exp.UTC())
	return out, missingField(out) == ""
}

// stsDocument reads any answer, with the same decoder as stsSuccess, and
// says what it is.
func stsDocument(status int, body []byte, redact []string) (Credentials, error) {
	doc := new(stsAnswerXML)
	err := xml.Unmarshal(body, doc)
	root := doc.XMLName.Local
	switch {
	case len(bytes.TrimSpace(body)) == 0:
		return Credentials{}, stsBadAnswer(status, "is empty", nil)
	case err != nil && root == "":
		return Credentials{}, stsBadAnswer(status, "is not XML", err)
	case err != nil:
		return Credentials{}, stsBadAnswer(status, "is not well-formed XML", err)
	case root == "ErrorResponse":
		if doc.Error.RequestID == "" {
			doc.Error.RequestID = doc.RequestID
		}
		return Credentials{}, stsRejected(status, doc.Error, redact)
	case root == "Error":
		return Credentials{}, stsRejected(status, stsErrorXML{Type: doc.Type, Code: doc.Code, Message: doc.Message, RequestID: doc.RequestID}, redact)
	case root != "AssumeRoleResponse" && root != "AssumeRoleWithWebIdentityResponse":
		return Credentials{}, stsBadAnswer(status, "is not an STS document", fmt.Errorf("root element <%s>", truncateText(root, 64)))
	case status < 200 || status > 299:
		return Credentials{}, stsBadAnswer(status, "holds credentials with a failure status", nil)
	case root == "AssumeRoleWithWebIdentityResponse":
		return stsCredentials(status, pickCredentials(&doc.WebIdentity.Credentials, &doc.AssumeRole.Credentials))
	}
	return stsCredentials(status, pickCredentials(&doc.AssumeRole.Credentials, &doc.WebIdentity.Credentials))
}

// pickCredentials is the credentials of the result element named after the
// root, or of the other one when that is absent (an STS that names its
// result after the other action).
func pickCredentials(own, other *stsCredentialsXML) *stsCredentialsXML {
	if own.AccessKeyID == "" && own.SecretAccessKey == "" && own.SessionToken == "" {
		return other
	}
	return own
}

func stsCredentials(status int, c *stsCredentialsXML) (Credentials, error) {
	var exp time.Time
	if strings.TrimSpace(c.Expiration) != "" {
		var err error
		if exp, err = parseSTSTime(c.Expiration); err != nil {
			return Credentials{}, stsBadAnswer(status, "has an unreadable Expiration", err)
		}
	}
	out := newCredentials(c.AccessKeyID, c.SecretAccessKey, c.SessionToken, exp)
	if missing := missingField(out); missing != "" {
		return Credentials{}, stsBadAnswer(status, "has no "+missing, nil)
	}
	return out, nil
}

// visibleASCII is every printable ASCII character but the space.
const visibleASCII = "!\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~"

// stripSpace removes every white space character. A value of visible ASCII
// alone, as keys and tokens are, is returned in one library call.
func stripSpace(s string) string {
	if strings.Trim(s, visibleASCII) == "" {
		return s
	}
	return strings.Join(strings.Fields(s), "")
}

// parseSTSTime reads an RFC 3339 time with or without fractional seconds
// (AWS: .359Z, Ceph RGW: nanoseconds, MinIO: none); a time without a zone
// is taken as UTC.
func parseSTSTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	t, err := time.Parse(time.RFC3339Nano, s)
	if err == nil {
		return t.UTC(), nil
	}
	if t2, err2 := time.Parse("2006-01-02T15:04:05.999999999", s); err2 == nil {
		return t2.UTC(), nil
	}
	return time.Time{}, err
}

func stsBadAnswer(status int, what string, cause error) *Error {
	err := fmt.Errorf("STS answered HTTP %d: the answer %s", status, what)
	if cause != nil {
		err = fmt.Errorf("STS answered HTTP %d: the answer %s: %v", status, what, cause)
	}
	return badSTSAnswer(err)
}

// stsRejected builds the KindSTSRejected *Error of an STS error document
// (Detail "STS refused the request: Code: Message", see rejectedBySTS), the
// message cleaned of control characters, stripped of the redact values and
// cut to maxSTSMessage bytes.
func stsRejected(status int, e stsErrorXML, redact []string) *Error {
	code := truncateText(cleanSTSText(e.Code, redact), 64)
	msg := truncateText(cleanSTSText(e.Message, redact), maxSTSMessage)
	cause := fmt.Sprintf("STS answered HTTP %d", status)
	if t := truncateText(cleanSTSText(e.Type, redact), 32); t != "" {
		cause += ", type " + t
	}
	if id := truncateText(cleanSTSText(e.RequestID, redact), 128); id != "" {
		cause += ", request id " + id
	}
	return rejectedBySTS(code, msg, fmt.Errorf("%s", cause))
}

// cleanSTSText turns control characters into spaces, collapses whitespace
// and removes every redact value of 8 bytes or more.
func cleanSTSText(s string, redact []string) string {
	for _, r := range redact {
		if len(r) >= 8 && strings.Contains(s, r) {
			s = strings.Replace(s, r, "[redacted]", -1)
		}
	}
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == utf8.RuneError {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

// truncateText cuts s to at most n bytes, on a character boundary, marking
// the cut with "…" (counted in the n).
func truncateText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	const ellipsis = "…"
	cut := n - len(ellipsis)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	if cut < 0 {
		cut = 0
	}
	return s[:cut] + ellipsis
}
