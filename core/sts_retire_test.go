package core

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestRetiredClientLeavesNoConnection: a reload replaces the STS client
// while a call is under way; once the call ends, the replaced client holds
// no connection (before Retire, it kept it until the 90 s idle timeout).
func TestRetiredClientLeavesNoConnection(t *testing.T) {
	release := make(chan struct{})
	ok := answerXML(200, awsAssumeRoleXML)
	fake := newFakeSTS(t, func(n int, w http.ResponseWriter, r *http.Request) {
		if n == 1 {
			<-release
		}
		ok(n, w, r)
	})
	c := newTestSTSClient(t, fake.URL, 10*time.Second, 0, gatewayKeys)
	if _, err := c.AssumeRole(context.Background(), roleInput); err != nil {
		t.Fatal(err)
	}
	if n := fake.OpenConns(); n != 1 {
		t.Fatalf("a client in use keeps %d connections; want its one pooled connection", n)
	}
	done := make(chan error)
	go func() { _, err := c.AssumeRole(context.Background(), roleInput); done <- err }()
	for len(fake.Calls()) < 2 {
		time.Sleep(time.Millisecond)
	}
	c.Retire()
	close(release)
	if err := <-done; err != nil {
		t.Fatalf("a call under way when the client was retired: %v", err)
	}
	waitConns(t, fake.OpenConns, 0)
	// A retired client still answers, and keeps nothing open after.
	if _, err := c.AssumeRole(context.Background(), roleInput); err != nil {
		t.Fatal(err)
	}
	waitConns(t, fake.OpenConns, 0)
}

// TestSharedSTSClientRetiresReplaced: when an owner's settings change (a
// Traefik reload), the client it used before is retired, unless another
// owner still uses it.
func TestSharedSTSClientRetiresReplaced(t *testing.T) {
	cfg := testConfig()
	cfg.STS.Endpoint = "http://127.0.0.1:1"
	a1, err := SharedSTSClient(cfg, "t-a")
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := SharedSTSClient(cfg, "t-b"); b != a1 {
		t.Fatal("owners with the same settings do not share the client")
	}
	cfg.STS.Timeout = 7 * time.Second
	a2, _ := SharedSTSClient(cfg, "t-a")
	if a2 == a1 || retired(a1) {
		t.Fatalf("a new client for new settings (%v); the old one still used by t-b kept (retired %v)", a2 != a1, retired(a1))
	}
	if b2, _ := SharedSTSClient(cfg, "t-b"); b2 != a2 || !retired(a1) {
		t.Fatalf("t-b moved to the new settings: shared %v, old client retired %v", b2 == a2, retired(a1))
	}
	if again, _ := SharedSTSClient(cfg, "t-a"); again != a2 || retired(a2) {
		t.Fatal("the same settings again must keep the client")
	}
}

func retired(c *STSClient) bool { return c.retired != 0 }

// waitConns waits (bounded) for open to report want: the server sees a
// close a moment after the client makes it.
func waitConns(t *testing.T, open func() int, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for open() != want {
		if time.Now().After(deadline) {
			t.Fatalf("%d connections open; want %d", open(), want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// TestSTSClientKeyCoversWhatTheClientReads: every option the STS client or
// its credential source reads tells two keys apart, and no other option
// does, so two configurations share a client exactly when they may.
func TestSTSClientKeyCoversWhatTheClientReads(t *testing.T) {
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(caFile, ktTLSCertPEM(t), 0o600); err != nil {
		t.Fatal(err)
	}
	reads := map[string]bool{
		"mode": true, "sts_endpoint": true, "region": true, "ca_file": true, "insecure_skip_verify": true,
		"timeout": true, "retries": true, "access_key": true, "access_key_file": true, "secret_key": true, "secret_key_file": true,
	}
	samples := map[string]any{
		OptionText: "other", OptionList: []string{"other"}, OptionFlag: true, OptionDuration: "17m", OptionInt: "7",
		OptionRoles: []map[string]string{{"claim": "c", "value": "v", "role_arn": "r"}},
	}
	base, _ := STSClientKey(DefaultConfig())
	for _, o := range ConfigOptions {
		if o.Core == "" || strings.HasPrefix(o.Name, "jwt.") {
			continue
		}
		v := samples[o.Type]
		if o.Name == "ca_file" {
			v = caFile
		}
		raw, _ := json.Marshal(map[string]any{o.JSON: v})
		cfg, err := ConfigFrom(raw, HostCaddy, nil)
		if err != nil {
			t.Fatalf("%s: %v", o.Name, err)
		}
		key, ok := STSClientKey(cfg)
		if !ok {
			t.Fatalf("%s: not keyed", o.Name)
		}
		if changed := key != base; changed != reads[o.Name] {
			t.Errorf("%s: changes the key: %v, want %v", o.Name, changed, reads[o.Name])
		}
	}
	cfg := DefaultConfig()
	cfg.STS.CAFile = filepath.Join(t.TempDir(), "missing.pem")
	if _, ok := STSClientKey(cfg); ok {
		t.Error("an unreadable ca_file was keyed")
	}
}
