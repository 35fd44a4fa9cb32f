package main

// MinIO, the backend every row ends at: a throwaway data dir, free loopback
// ports, root keys the gateways sign AssumeRole with, and OpenID trust in the
// benchmark's IdP for AssumeRoleWithWebIdentity with a claim-based policy.

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/stsgate/stsgate/internal/conformance"
)

const (
	minioRootUser     = "stsbench-root"
	minioRootPassword = "stsbench-root-password"
	// minioClaimName is the claim MinIO reads policy names from; the
	// benchmark's tokens carry policy: readwrite.
	minioClaimName = "policy"
	minioPolicy    = "readwrite"
	// roleARN is sent with AssumeRole; MinIO ignores it, the core needs one.
	roleARN = "arn:minio:iam:::role/stsbench"
	region  = "us-east-1"
)

// minio is the running MinIO.
type minio struct {
	URL  string
	proc *process
}

// startMinIO runs MinIO in dir/minio and waits until AssumeRole with the
// root keys answers. A port taken between picking and binding is retried.
func startMinIO(ctx context.Context, bin, dir, oidcConfigURL string) (*minio, error) {
	var lastErr error
	for attempt := 1; attempt <= 3; attempt++ {
		m, err := tryStartMinIO(ctx, bin, filepath.Join(dir, fmt.Sprintf("minio-%d", attempt)), oidcConfigURL)
		if err == nil {
			return m, nil
		}
		lastErr = err
		logf("minio: start attempt %d failed: %v", attempt, err)
	}
	return nil, lastErr
}

func tryStartMinIO(ctx context.Context, bin, dir, oidcConfigURL string) (*minio, error) {
	addrs, err := freeAddrs(2)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		return nil, err
	}
	env := []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"MINIO_ROOT_USER=" + minioRootUser,
		"MINIO_ROOT_PASSWORD=" + minioRootPassword,
		"MINIO_BROWSER=off",
		"MINIO_UPDATE=off",
		"MINIO_IDENTITY_OPENID_CONFIG_URL=" + oidcConfigURL,
		"MINIO_IDENTITY_OPENID_CLIENT_ID=" + conformance.Audience,
		"MINIO_IDENTITY_OPENID_CLAIM_NAME=" + minioClaimName,
	}
	args := []string{"server", filepath.Join(dir, "data"),
		"--address", addrs[0], "--console-address", addrs[1],
		"--certs-dir", filepath.Join(dir, "certs"), "--quiet"}
	p, err := startProcess("minio", bin, dir, filepath.Join(dir, "minio.log"), args, env)
	if err != nil {
		return nil, err
	}
	m := &minio{URL: "http://" + addrs[0], proc: p}
	client := newDirectSTS(m.URL, 4)
	err = p.waitUntil(90*time.Second, func() bool {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		return client.assumeRole(c, "stsbench-ready") == nil
	})
	if err != nil {
		p.stop()
		return nil, err
	}
	return m, nil
}

// stsCounter is a reverse proxy in front of MinIO that counts the STS calls
// it forwards, by Action.
type stsCounter struct {
	URL   string
	mu    sync.Mutex
	calls map[string]int
	total atomic.Int64
	srv   *http.Server
}

func newSTSCounter(target string) (*stsCounter, error) {
	u, err := url.Parse(target)
	if err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	c := &stsCounter{URL: "http://" + ln.Addr().String(), calls: map[string]int{}}
	// NewSingleHostReverseProxy keeps the incoming Host header, which the
	// gateway's SigV4 signature covers.
	proxy := httputil.NewSingleHostReverseProxy(u)
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConns = 2048
	transport.MaxIdleConnsPerHost = 2048
	proxy.Transport = transport
	c.srv = &http.Server{ReadHeaderTimeout: 30 * time.Second, Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		form, _ := url.ParseQuery(string(body))
		c.total.Add(1)
		c.mu.Lock()
		c.calls[form.Get("Action")]++
		c.mu.Unlock()
		r.Body = io.NopCloser(bytes.NewReader(body))
		proxy.ServeHTTP(w, r)
	})}
	go func() { _ = c.srv.Serve(ln) }()
	return c, nil
}

// reset zeroes the counts.
func (c *stsCounter) reset() {
	c.mu.Lock()
	c.calls = map[string]int{}
	c.mu.Unlock()
	c.total.Store(0)
}

// count returns the calls of one Action.
func (c *stsCounter) count(action string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls[action]
}

func (c *stsCounter) close() { _ = c.srv.Close() }
