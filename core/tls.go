package core

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"
)

// trustTLS is how a client verifies a server (the STS, or key URLs): the
// ca_file's certificates added to the system roots, or no verification at
// all when the operator asked for insecure_skip_verify.
type trustTLS struct {
	caPEM    []byte
	insecure bool
}

// readTLS reads ca_file once for the option named option (its errors name
// it, never the contents), checking that it holds a certificate.
func readTLS(option, caFile string, insecure bool) (trustTLS, error) {
	t := trustTLS{insecure: insecure}
	if caFile == "" {
		return t, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return t, configError(option, fmt.Sprintf("cannot read %s: %s", caFile, errorText(err)))
	}
	if !x509.NewCertPool().AppendCertsFromPEM(pem) {
		return t, configError(option, caFile+" holds no PEM certificate")
	}
	t.caPEM = pem
	return t, nil
}

// key tells two settings apart by the bundle's content, so that a bundle
// rotated under the same path gets a new client after a reload.
func (t trustTLS) key() string {
	sum := sha256.Sum256(t.caPEM)
	return hex.EncodeToString(sum[:]) + "\x00" + strconv.FormatBool(t.insecure)
}

// client is the one http.Client builder: TLS 1.2 or later, verified as t
// says; proxies from the environment; a connection pool sized for a busy
// gateway; handshake bounding the TLS handshake.
func (t trustTLS) client(handshake time.Duration) *http.Client {
	config := &tls.Config{MinVersion: tls.VersionTLS12}
	if t.insecure {
		config.InsecureSkipVerify = true // #nosec G402 -- the operator's explicit insecure_skip_verify
	}
	if len(t.caPEM) > 0 {
		system, err := x509.SystemCertPool()
		if err != nil || system == nil {
			system = x509.NewCertPool()
		}
		system.AppendCertsFromPEM(t.caPEM)
		config.RootCAs = system
	}
	// A clone of the default transport for its dialer (30 s to connect,
	// keep-alives): yaegi cannot take (*net.Dialer).DialContext as a value.
	transport := &http.Transport{Proxy: http.ProxyFromEnvironment, ForceAttemptHTTP2: true}
	if dt, ok := http.DefaultTransport.(*http.Transport); ok {
		transport = dt.Clone()
	}
	transport.TLSClientConfig = config
	transport.MaxIdleConns = 256
	transport.MaxIdleConnsPerHost = 64
	transport.IdleConnTimeout = 90 * time.Second
	transport.TLSHandshakeTimeout = handshake
	transport.ExpectContinueTimeout = time.Second
	return &http.Client{Transport: transport}
}
