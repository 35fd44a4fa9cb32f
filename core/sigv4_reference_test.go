package core

// A general SigV4 signer for any request and service: the reference the
// STS client's own signer (signForEndpoint, which assembles only the one
// request it sends) is held to byte for byte, and what the published AWS
// test-suite vectors check. Only tests use it; e2e/sigv4_test.go holds the
// client's real requests to aws-sdk-go-v2's signer.

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
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

// signSTSRequest signs req, whose body is body, for AWS STS with Signature
// Version 4 at the time now. It sets X-Amz-Date, X-Amz-Security-Token (when
// keys carry a session token), Host (without a default port) and
// Authorization. Set Content-Type and any other header to be signed before
// calling it.
func signSTSRequest(req *http.Request, body []byte, keys AccessKeys, region string, now time.Time) error {
	return signV4(req, body, keys, region, stsServiceName, now)
}

// signV4 is signSTSRequest for any service name; the AWS test-suite vectors
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
