package e2e

// Helpers shared by every test that drives a real binary (MinIO, Caddy,
// Traefik): finding the binary, picking a port, collecting its output.

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// realBinary finds a real binary from env or the default path, skips the
// test when it is missing, or fails when STSGATE_REQUIRE_BINARIES=1.
func realBinary(t testing.TB, env, fallback string) string {
	t.Helper()
	path := os.Getenv(env)
	if path == "" {
		path = fallback
	}
	abs, err := filepath.Abs(path)
	if err == nil {
		path = abs
	}
	if st, err := os.Stat(path); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		msg := fmt.Sprintf("%s: no executable at %s (set %s or build it)", env, path, env)
		if os.Getenv("STSGATE_REQUIRE_BINARIES") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	return path
}

// pickLoopbackAddr returns a 127.0.0.1 address with a port that was free a moment ago.
func pickLoopbackAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// procOutput collects a child process's output.
type procOutput struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *procOutput) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *procOutput) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
