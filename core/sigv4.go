package core

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// AWS Signature Version 4, header-based, for the STS client's one kind of
// request: a form POST to one endpoint. sigv4_reference_test.go holds it to
// a general signer checked with the AWS test-suite vectors, and
// e2e/sigv4_test.go holds the client's real requests to aws-sdk-go-v2's
// signer.

const (
	sigV4Algorithm  = "AWS4-HMAC-SHA256"
	sigV4TimeFormat = "20060102T150405Z"
	stsServiceName  = "sts"
)

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

// signForEndpoint signs the STS client's own request: a
// POST of body to the endpoint whose only header so far is Content-Type
// stsContentType. keys are known to be complete. It assembles the same
// canonical request as the general signer in a few concatenations (see
// doc.go); TestSigV4EndpointSignsAsSignSTSRequest holds the two together.
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
