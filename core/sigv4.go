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
	if err := checkSigV4Input(req, keys, region, service); err != nil {
		return "", "", err
	}
	amzDate := now.UTC().Format(sigV4TimeFormat)
	setSigV4Headers(req, amzDate, keys.SessionToken)
	host := sigV4Host(req)
	req.Host = host
	names, block := sigV4CanonicalHeaders(req, host)
	canonical := sigV4CanonicalRequest(req.Method, sigV4CanonicalURI(req.URL), sigV4CanonicalQuery(req.URL.RawQuery), block, names, body)
	stringToSign := sigV4Authorize(req, canonical, names, amzDate, keys, region, service)
	return canonical, stringToSign, nil
}

func checkSigV4Input(req *http.Request, keys AccessKeys, region, service string) error {
	if req == nil || req.URL == nil {
		return errors.New("sigv4: no request URL")
	}
	if keys.AccessKeyID == "" || keys.SecretAccessKey == "" {
		return errors.New("sigv4: an access key ID and a secret access key are required")
	}
	if region == "" || service == "" {
		return errors.New("sigv4: a region and a service are required")
	}
	if req.Header == nil {
		req.Header = make(http.Header)
	}
	return nil
}

// setSigV4Headers sets X-Amz-Date and X-Amz-Security-Token (or removes it)
// and removes an earlier Authorization. The keys are canonical, so map
// operations do what Del and Set would, with fewer library calls (each is
// costly under yaegi, in Traefik).
func setSigV4Headers(req *http.Request, amzDate, sessionToken string) {
	delete(req.Header, "Authorization")
	req.Header["X-Amz-Date"] = []string{amzDate}
	if sessionToken != "" {
		req.Header["X-Amz-Security-Token"] = []string{sessionToken}
	} else {
		delete(req.Header, "X-Amz-Security-Token")
	}
}

// sigV4CanonicalRequest joins the canonical request's lines; the payload
// line is the body's SHA-256.
func sigV4CanonicalRequest(method, uri, query, headerBlock, signedNames string, body []byte) string {
	sum := sha256.Sum256(body)
	return method + "\n" + uri + "\n" + query + "\n" + headerBlock + "\n" + signedNames + "\n" + hex.EncodeToString(sum[:])
}

// sigV4Authorize signs the canonical request, sets Authorization and
// returns the string to sign.
func sigV4Authorize(req *http.Request, canonical, signedNames, amzDate string, keys AccessKeys, region, service string) string {
	date := amzDate[:8]
	scope := date + "/" + region + "/" + service + "/aws4_request"
	creqSum := sha256.Sum256([]byte(canonical))
	stringToSign := sigV4Algorithm + "\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(creqSum[:])
	key := signingKeyOf(sigV4Keys, keys.SecretAccessKey, date, region, service)
	signature := hex.EncodeToString(hmacSHA256(key, stringToSign))
	req.Header["Authorization"] = []string{sigV4Algorithm + " Credential=" + keys.AccessKeyID + "/" + scope +
		", SignedHeaders=" + signedNames + ", Signature=" + signature}
	return stringToSign
}

// sigV4Endpoint is what a client that always calls one endpoint with one
// kind of request can work out once: the canonical request of a form POST
// around its four variable parts (body length, date, session token, body
// hash), and the credential scope after the date.
type sigV4Endpoint struct {
	host string
	// head runs from the method to "content-length:".
	head string
	// middle runs from after the length to "x-amz-date:".
	middle string
	// region and scope ("/region/sts/aws4_request") name the signing key.
	region string
	scope  string
}

const (
	sigV4FormNames      = "content-length;content-type;host;x-amz-date"
	sigV4FormNamesToken = sigV4FormNames + ";x-amz-security-token"
)

func newSigV4Endpoint(endpoint, region string) (*sigV4Endpoint, error) {
	req, err := http.NewRequest(http.MethodPost, endpoint, nil)
	if err != nil {
		return nil, err
	}
	host := sigV4Host(req)
	return &sigV4Endpoint{
		host:   host,
		head:   http.MethodPost + "\n" + sigV4CanonicalURI(req.URL) + "\n" + sigV4CanonicalQuery(req.URL.RawQuery) + "\ncontent-length:",
		middle: "\ncontent-type:" + stsContentType + "\nhost:" + host + "\nx-amz-date:",
		region: region,
		scope:  "/" + region + "/" + stsServiceName + "/aws4_request",
	}, nil
}

// signForEndpoint is SignSTSRequest for the STS client's own request: a
// POST of body to the endpoint whose only header so far is Content-Type
// stsContentType. keys are known to be complete. It assembles the same
// canonical request in a few concatenations (see hotpath.go);
// TestSigV4EndpointSignsAsSignSTSRequest holds the two together.
func signForEndpoint(e *sigV4Endpoint, req *http.Request, body []byte, keys *AccessKeys, now time.Time) {
	amzDate := now.UTC().Format(sigV4TimeFormat)
	names := sigV4FormNames
	tokenLine := ""
	if keys.SessionToken != "" {
		names = sigV4FormNamesToken
		tokenLine = "x-amz-security-token:" + sigV4TrimAll(keys.SessionToken) + "\n"
		req.Header["X-Amz-Security-Token"] = []string{keys.SessionToken}
	}
	req.Header["X-Amz-Date"] = []string{amzDate}
	req.Host = e.host
	// Joined, not added up: yaegi adds strings pair by pair, copying every
	// intermediate result.
	bodySum := sha256.Sum256(body)
	canonical := strings.Join([]string{e.head, strconv.Itoa(len(body)), e.middle, amzDate, "\n", tokenLine,
		"\n", names, "\n", hex.EncodeToString(bodySum[:])}, "")
	creqSum := sha256.Sum256([]byte(canonical))
	date := amzDate[:8]
	stringToSign := strings.Join([]string{sigV4Algorithm, "\n", amzDate, "\n", date, e.scope, "\n", hex.EncodeToString(creqSum[:])}, "")
	key := signingKeyOf(sigV4Keys, keys.SecretAccessKey, date, e.region, stsServiceName)
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(stringToSign))
	req.Header["Authorization"] = []string{strings.Join([]string{sigV4Algorithm, " Credential=", keys.AccessKeyID, "/", date, e.scope,
		", SignedHeaders=", names, ", Signature=", hex.EncodeToString(mac.Sum(nil))}, "")}
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
	if path == "" || path == "/" {
		return "/"
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
// and service, so a hot gateway does four HMACs less per request. The key
// used last is checked first, with a few comparisons: a gateway signs with
// one key a day. The map is emptied when it grows past a handful of entries
// (rotated secrets, new days).
type signingKeyCache struct {
	mu   sync.Mutex
	last signingKey
	m    map[string][]byte
}

type signingKey struct {
	secret, date, region, service string
	key                           []byte
}

const signingKeyCacheSize = 32

var sigV4Keys = &signingKeyCache{m: make(map[string][]byte)}

func signingKeyOf(c *signingKeyCache, secret, date, region, service string) []byte {
	c.mu.Lock()
	last := c.last
	c.mu.Unlock()
	if last.date == date && last.secret == secret && last.region == region && last.service == service && last.key != nil {
		return last.key
	}
	return c.lookup(secret, date, region, service)
}

// lookup finds or derives a key that is not the last one used.
func (c *signingKeyCache) lookup(secret, date, region, service string) []byte {
	id := date + "\x00" + region + "\x00" + service + "\x00" + secret
	c.mu.Lock()
	k, ok := c.m[id]
	c.mu.Unlock()
	if !ok {
		k = deriveSigningKey(secret, date, region, service)
	}
	c.mu.Lock()
	if !ok {
		if len(c.m) >= signingKeyCacheSize {
			c.m = make(map[string][]byte)
		}
		c.m[id] = k
	}
	last := signingKey{secret: secret, date: date, region: region, service: service, key: k}
	c.last = last
	c.mu.Unlock()
	return k
}
