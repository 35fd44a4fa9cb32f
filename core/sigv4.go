package core

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AWS Signature Version 4, header-based, for the STS Query API. The signer
// follows aws-sdk-go-v2's v4.Signer: it signs host, content-length (when the
// request has a body of known length) and every header already on the request
// except the few that proxies rewrite, so the two produce the same
// Authorization header (e2e/sigv4_test.go checks that).

const (
	sigV4Algorithm  = "AWS4-HMAC-SHA256"
	sigV4TimeFormat = "20060102T150405Z"
	stsServiceName  = "sts"
)

// sigV4Unsigned are the headers never signed, as aws-sdk-go-v2 leaves them
// out: they may be changed on the way without invalidating the request.
var sigV4Unsigned = map[string]bool{
	"authorization":     true,
	"user-agent":        true,
	"x-amzn-trace-id":   true,
	"expect":            true,
	"transfer-encoding": true,
	"content-length":    true, // signed from req.ContentLength instead
}

// SignSTSRequest signs req, whose body is body, for AWS STS with Signature
// Version 4 at the time now. It sets X-Amz-Date, X-Amz-Security-Token (when
// keys carry a session token), Host (without a default port) and
// Authorization. Set Content-Type and any other header to be signed before
// calling it.
func SignSTSRequest(req *http.Request, body []byte, keys AccessKeys, region string, now time.Time) error {
	return signV4(req, body, keys, region, stsServiceName, now)
}

// signV4 is SignSTSRequest for any service name; the AWS test-suite vectors
// use the service "service".
func signV4(req *http.Request, body []byte, keys AccessKeys, region, service string, now time.Time) error {
	_, _, err := buildSigV4(req, body, keys, region, service, now)
	return err
}

// buildSigV4 signs req and returns the canonical request and the string to
// sign, which the tests compare with the published vectors.
func buildSigV4(req *http.Request, body []byte, keys AccessKeys, region, service string, now time.Time) (string, string, error) {
	if req == nil || req.URL == nil {
		return "", "", errors.New("sigv4: no request URL")
	}
	if keys.AccessKeyID == "" || keys.SecretAccessKey == "" {
		return "", "", errors.New("sigv4: an access key ID and a secret access key are required")
	}
	if region == "" || service == "" {
		return "", "", errors.New("sigv4: a region and a service are required")
	}
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	t := now.UTC()
	amzDate := t.Format(sigV4TimeFormat)
	date := amzDate[:8]

	req.Header.Del("Authorization")
	req.Header.Set("X-Amz-Date", amzDate)
	if keys.SessionToken != "" {
		req.Header.Set("X-Amz-Security-Token", keys.SessionToken)
	} else {
		req.Header.Del("X-Amz-Security-Token")
	}
	host := sigV4Host(req)
	req.Host = host

	signedNames, canonHeaders := sigV4CanonicalHeaders(req, host)
	sum := sha256.Sum256(body)

	var creq strings.Builder
	creq.WriteString(req.Method)
	creq.WriteByte('\n')
	creq.WriteString(sigV4CanonicalURI(req.URL))
	creq.WriteByte('\n')
	creq.WriteString(sigV4CanonicalQuery(req.URL.RawQuery))
	creq.WriteByte('\n')
	creq.WriteString(canonHeaders)
	creq.WriteByte('\n')
	creq.WriteString(signedNames)
	creq.WriteByte('\n')
	creq.WriteString(hex.EncodeToString(sum[:]))
	canonical := creq.String()

	scope := date + "/" + region + "/" + service + "/aws4_request"
	creqSum := sha256.Sum256([]byte(canonical))
	stringToSign := sigV4Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(creqSum[:])

	key := sigV4Keys.get(keys.SecretAccessKey, date, region, service)
	signature := hex.EncodeToString(hmacSHA256(key, stringToSign))

	req.Header.Set("Authorization", sigV4Algorithm+" Credential="+keys.AccessKeyID+"/"+scope+
		", SignedHeaders="+signedNames+", Signature="+signature)
	return canonical, stringToSign, nil
}

// sigV4Host is the host that is both signed and sent: req.Host or the URL's,
// without the scheme's default port (Go would send it as given).
func sigV4Host(req *http.Request) string {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	i := strings.LastIndexByte(host, ':')
	if i < 0 || strings.IndexByte(host[i:], ']') >= 0 {
		return host
	}
	port := host[i+1:]
	if (port == "443" && strings.EqualFold(req.URL.Scheme, "https")) ||
		(port == "80" && strings.EqualFold(req.URL.Scheme, "http")) {
		return host[:i]
	}
	return host
}

// sigV4CanonicalHeaders returns the signed header names joined by ';' and the
// canonical header block (each line ends with '\n').
func sigV4CanonicalHeaders(req *http.Request, host string) (string, string) {
	values := make(map[string][]string, len(req.Header)+2)
	names := make([]string, 0, len(req.Header)+2)
	names = append(names, "host")
	values["host"] = []string{host}
	if req.ContentLength > 0 {
		names = append(names, "content-length")
		values["content-length"] = []string{strconv.FormatInt(req.ContentLength, 10)}
	}
	for k, vs := range req.Header {
		name := strings.ToLower(k)
		if name == "host" || sigV4Unsigned[name] {
			continue
		}
		if _, seen := values[name]; !seen {
			names = append(names, name)
		}
		values[name] = append(values[name], vs...)
	}
	sort.Strings(names)

	var b strings.Builder
	for _, name := range names {
		b.WriteString(name)
		b.WriteByte(':')
		for j, v := range values[name] {
			if j > 0 {
				b.WriteByte(',')
			}
			b.WriteString(sigV4TrimAll(v))
		}
		b.WriteByte('\n')
	}
	return strings.Join(names, ";"), b.String()
}

// sigV4TrimAll trims a header value and collapses its runs of spaces.
func sigV4TrimAll(v string) string {
	v = strings.TrimSpace(v)
	if !strings.Contains(v, "  ") {
		return v
	}
	var b strings.Builder
	space := false
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteByte(c)
	}
	return b.String()
}

// sigV4CanonicalURI is the escaped path, escaped once more as every service
// but S3 expects.
func sigV4CanonicalURI(u *url.URL) string {
	path := u.EscapedPath()
	if u.Opaque != "" {
		// "//host/path" form: the path is what follows the host.
		parts := strings.SplitN(u.Opaque, "/", 4)
		path = "/"
		if len(parts) == 4 {
			path += parts[3]
		}
	}
	if path == "" {
		path = "/"
	}
	return sigV4Escape(path, true)
}

// sigV4CanonicalQuery sorts the query by key, then value, and escapes both
// the AWS way (space as %20, only unreserved characters left bare).
func sigV4CanonicalQuery(raw string) string {
	if raw == "" {
		return ""
	}
	q, _ := url.ParseQuery(raw)
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(q))
	for _, k := range keys {
		vs := append([]string(nil), q[k]...)
		sort.Strings(vs)
		for _, v := range vs {
			parts = append(parts, sigV4Escape(k, false)+"="+sigV4Escape(v, false))
		}
	}
	return strings.Join(parts, "&")
}

const upperHex = "0123456789ABCDEF"

// sigV4Escape percent-encodes every byte but the unreserved characters
// (and '/' when keepSlash).
func sigV4Escape(s string, keepSlash bool) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if ('A' <= c && c <= 'Z') || ('a' <= c && c <= 'z') || ('0' <= c && c <= '9') ||
			c == '-' || c == '_' || c == '.' || c == '~' || (keepSlash && c == '/') {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(upperHex[c>>4])
		b.WriteByte(upperHex[c&15])
	}
	return b.String()
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// deriveSigningKey is HMAC("AWS4"+secret, date) chained over region, service
// and "aws4_request".
func deriveSigningKey(secret, date, region, service string) []byte {
	k := hmacSHA256([]byte("AWS4"+secret), date)
	k = hmacSHA256(k, region)
	k = hmacSHA256(k, service)
	return hmacSHA256(k, "aws4_request")
}

// signingKeyCache keeps derived signing keys: one per secret, day, region
// and service, so a hot gateway does four HMACs less per request. It is
// emptied when it grows past a handful of entries (rotated secrets, new days).
type signingKeyCache struct {
	mu sync.Mutex
	m  map[string][]byte
}

const signingKeyCacheSize = 32

var sigV4Keys = &signingKeyCache{m: make(map[string][]byte)}

func (c *signingKeyCache) get(secret, date, region, service string) []byte {
	id := date + "\x00" + region + "\x00" + service + "\x00" + secret
	c.mu.Lock()
	k, ok := c.m[id]
	c.mu.Unlock()
	if ok {
		return k
	}
	k = deriveSigningKey(secret, date, region, service)
	c.mu.Lock()
	if len(c.m) >= signingKeyCacheSize {
		c.m = make(map[string][]byte)
	}
	c.m[id] = k
	c.mu.Unlock()
	return k
}
