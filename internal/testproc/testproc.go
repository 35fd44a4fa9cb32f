// Package testproc holds what every test that drives a real process needs:
// finding the binary, picking a loopback port, collecting output. The core,
// the Caddy module and the e2e module share it.
package testproc

import (
	"bytes"
	"fmt"
	"math/rand"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// RequireEnv, set to 1, turns a missing binary into a failure instead of a
// skip. make test sets it, so CI can never pass by skipping.
const RequireEnv = "STSGATE_REQUIRE_BINARIES"

// Missing skips the test for a missing binary, or fails it when RequireEnv
// is set.
func Missing(t testing.TB, msg string) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("%s (%s=1)", msg, RequireEnv)
	}
	t.Skip(msg)
}

// Binary finds a real binary from the environment variable env, else at
// fallback; when it is not there the test skips (see Missing).
func Binary(t testing.TB, env, fallback string) string {
	t.Helper()
	path := os.Getenv(env)
	if path == "" {
		path = fallback
	}
	if abs, err := filepath.Abs(path); err == nil {
		path = abs
	}
	if st, err := os.Stat(path); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
		Missing(t, fmt.Sprintf("%s: no executable at %s (set %s or build it)", env, path, env))
	}
	return path
}

// LoopbackAddr returns a 127.0.0.1 address whose port was free a moment ago,
// for a child process to listen on. The port is drawn from below the
// kernel's ephemeral range: ports in that range (what 127.0.0.1:0 gives)
// are handed to every outgoing connection and :0 listener on the machine,
// so one could be taken before the child binds it. scripts/ports.sh picks
// the same way.
func LoopbackAddr(t testing.TB) string {
	t.Helper()
	low := ephemeralLow()
	for i := 0; i < 200 && low > loopbackPortMin+1000; i++ {
		addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(loopbackPortMin+rand.Intn(low-loopbackPortMin)))
		if ln, err := net.Listen("tcp", addr); err == nil {
			ln.Close()
			return addr
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

const loopbackPortMin = 20000

// ephemeralLow is the first port of net.ipv4.ip_local_port_range (32768
// when it cannot be read).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	if f := strings.Fields(string(b)); len(f) == 2 {
		if n, err := strconv.Atoi(f[0]); err == nil {
			return n
		}
	}
	return 32768
}

// Buffer collects output written from several goroutines (a child process's
// stdout and stderr, a logger).
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Start starts cmd with its output collected; done is closed once it has
// exited.
func Start(t testing.TB, cmd *exec.Cmd) (out *Buffer, done <-chan struct{}) {
	t.Helper()
	out = &Buffer{}
	cmd.Stdout, cmd.Stderr = out, out
	dieWithParent(cmd)
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", cmd.Path, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	return out, exited
}

// WaitReady polls ready until it holds, failing the test when the process
// (done closed when it exited) stops first or limit passes; out is the
// process's output, shown with the failure.
func WaitReady(t testing.TB, what string, limit time.Duration, done <-chan struct{}, out *Buffer, ready func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ready() {
		select {
		case <-done:
			t.Fatalf("%s exited before it was ready\n%s", what, out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s was not ready within %s\n%s", what, limit, out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Stop asks a child process to stop (SIGTERM) and kills it if it has not
// exited within grace. done must be closed once cmd.Wait has returned; a
// child that has exited already is left alone.
func Stop(cmd *exec.Cmd, done <-chan struct{}, grace time.Duration) {
	select {
	case <-done:
		return
	default:
	}
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-done:
	case <-time.After(grace):
		_ = cmd.Process.Kill()
		<-done
	}
}

// CaddyCommand returns the command that runs Caddy's args (run, validate,
// ...) with HOME and Caddy's storage inside dir and extraEnv (NAME=value)
// added to a minimal environment.
func CaddyCommand(bin, dir string, extraEnv []string, args ...string) *exec.Cmd {
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Env = append([]string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir,
		"XDG_DATA_HOME=" + filepath.Join(dir, "data"), "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
	}, extraEnv...)
	return cmd
}
