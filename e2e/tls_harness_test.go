package e2e

// Gateways over TLS: a test CA and a certificate for 127.0.0.1 and
// localhost, served by the built Caddy (tls <cert> <key>) or by a real
// Traefik (a TLS entrypoint with the certificate in its dynamic
// configuration). Clients trust the CA through CAFile (AWS_CA_BUNDLE).

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/conformance"
)

type testTLS struct {
	CAFile, CertFile, KeyFile string
	pool                      *x509.CertPool
	cert                      tls.Certificate
}

// newTestTLS makes a CA and a server certificate it signed for 127.0.0.1,
// ::1 and localhost, valid for a day, as PEM files in a temporary dir.
func newTestTLS(t *testing.T) *testTLS {
	t.Helper()
	dir := t.TempDir()
	now := time.Now()
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "stsgate test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "127.0.0.1"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(24 * time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1"), net.ParseIP("::1")}, DNSNames: []string{"localhost"},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	tt := &testTLS{
		CAFile: filepath.Join(dir, "ca.pem"), CertFile: filepath.Join(dir, "cert.pem"), KeyFile: filepath.Join(dir, "key.pem"),
		pool: x509.NewCertPool(),
	}
	tt.pool.AddCert(ca)
	write := func(path, kind string, der []byte) {
		if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(tt.CAFile, "CERTIFICATE", caDER)
	write(tt.CertFile, "CERTIFICATE", der)
	write(tt.KeyFile, "EC PRIVATE KEY", keyDER)
	if tt.cert, err = tls.LoadX509KeyPair(tt.CertFile, tt.KeyFile); err != nil {
		t.Fatal(err)
	}
	return tt
}

// client trusts the test CA only.
func (tt *testTLS) client() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: tt.pool}}}
}

// tlsGatewayTargets start a gateway serving cfg over TLS with tt's
// certificate and return its https base URL.
var tlsGatewayTargets = []struct {
	name  string
	start func(t *testing.T, cfg core.Config, tt *testTLS) string
}{
	{"core", func(t *testing.T, cfg core.Config, tt *testTLS) string {
		iss, err := core.New(cfg, core.Options{})
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewUnstartedServer(iss.Wrap(conformance.NextHandler()))
		srv.TLS = &tls.Config{Certificates: []tls.Certificate{tt.cert}}
		srv.StartTLS()
		t.Cleanup(srv.Close)
		return srv.URL
	}},
	{"caddy", func(t *testing.T, cfg core.Config, tt *testTLS) string {
		return startCaddyGatewayTLS(t, cfg, tt)
	}},
	{"traefik", func(t *testing.T, cfg core.Config, tt *testTLS) string {
		backend := startBackend(t, conformance.NextHandler())
		dynamic := traefikDynamic(
			[]conformance.Mount{{Name: "tls", Config: cfg}},
			[]traefikRoute{{name: "all", rule: "PathPrefix(`/`)", backend: backend}},
		)
		return startTraefikTLS(t, dynamic, tt).URL
	}},
}
