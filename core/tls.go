package core

import "crypto/x509"

// rootsWith is the pool a ca_file adds to: the system's roots (an empty
// pool where the system has none) plus the certificates in pem. ok is false
// when pem holds no certificate. Key URLs and the STS client both verify
// against it.
func rootsWith(pem []byte) (pool *x509.CertPool, ok bool) {
	system, err := x509.SystemCertPool()
	if err != nil || system == nil {
		system = x509.NewCertPool()
	}
	return system, system.AppendCertsFromPEM(pem)
}
