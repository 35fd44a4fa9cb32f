package core

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func credWriteFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

func TestNewCredentialSourceConfig(t *testing.T) {
	dir := t.TempDir()
	akFile := filepath.Join(dir, "access_key")
	skFile := filepath.Join(dir, "secret_key")
	credWriteFile(t, akFile, "AKIDFROMFILE\n")
	credWriteFile(t, skFile, "  secret-from-file \r\n")

	cases := []struct {
		name       string
		cfg        CredentialsConfig
		wantNil    bool
		wantOption string // a ConfigError naming it
		want       AccessKeys
	}{
		{name: "none", cfg: CredentialsConfig{}, wantNil: true},
		{name: "inline", cfg: CredentialsConfig{AccessKey: " AKIDINLINE ", SecretKey: "inline-secret"},
			want: AccessKeys{AccessKeyID: "AKIDINLINE", SecretAccessKey: "inline-secret"}},
		{name: "files", cfg: CredentialsConfig{AccessKeyFile: akFile, SecretKeyFile: skFile},
			want: AccessKeys{AccessKeyID: "AKIDFROMFILE", SecretAccessKey: "secret-from-file"}},
		{name: "inline access, secret file", cfg: CredentialsConfig{AccessKey: "AKIDINLINE", SecretKeyFile: skFile},
			want: AccessKeys{AccessKeyID: "AKIDINLINE", SecretAccessKey: "secret-from-file"}},
		{name: "access file, inline secret", cfg: CredentialsConfig{AccessKeyFile: akFile, SecretKey: "inline-secret"},
			want: AccessKeys{AccessKeyID: "AKIDFROMFILE", SecretAccessKey: "inline-secret"}},
		{name: "access only", cfg: CredentialsConfig{AccessKey: "AK"}, wantOption: "secret_key"},
		{name: "blank inline secret", cfg: CredentialsConfig{AccessKey: "AK", SecretKey: "  "}, wantOption: "secret_key"},
		{name: "blank inline access with secret file", cfg: CredentialsConfig{AccessKey: " ", SecretKeyFile: skFile}, wantOption: "access_key"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			src, err := NewCredentialSource(tc.cfg)
			if tc.wantOption != "" {
				ce, ok := err.(*ConfigError)
				if !ok || ce.Option != tc.wantOption {
					t.Fatalf("got %v, %v; want a %s ConfigError", src, err, tc.wantOption)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantNil {
				if src != nil {
					t.Fatalf("got a source %#v", src)
				}
				return
			}
			got, err := src.AccessKeys(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

// k8sSecretDir lays out keys the way a Kubernetes Secret volume does: the
// files are symlinks through ..data, itself a symlink to a timestamped
// directory that an update replaces atomically.
type k8sSecretDir struct {
	dir string
	gen int
}

func newK8sSecretDir(t *testing.T, ak, sk string) *k8sSecretDir {
	t.Helper()
	d := &k8sSecretDir{dir: t.TempDir()}
	d.update(t, ak, sk)
	for _, name := range []string{"access_key", "secret_key"} {
		if err := os.Symlink(filepath.Join("..data", name), filepath.Join(d.dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return d
}

func (d *k8sSecretDir) update(t *testing.T, ak, sk string) {
	t.Helper()
	d.gen++
	gen := filepath.Join(d.dir, "..gen"+strings.Repeat("x", d.gen))
	if err := os.Mkdir(gen, 0o700); err != nil {
		t.Fatal(err)
	}
	credWriteFile(t, filepath.Join(gen, "access_key"), ak)
	credWriteFile(t, filepath.Join(gen, "secret_key"), sk)
	tmp := filepath.Join(d.dir, "..data_tmp")
	if err := os.Symlink(filepath.Base(gen), tmp); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, filepath.Join(d.dir, "..data")); err != nil {
		t.Fatal(err)
	}
}

func (d *k8sSecretDir) config() CredentialsConfig {
	return CredentialsConfig{
		AccessKeyFile: filepath.Join(d.dir, "access_key"),
		SecretKeyFile: filepath.Join(d.dir, "secret_key"),
	}
}

func TestFileCredentialsRotation(t *testing.T) {
	clock := newFakeClock(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	// Same sizes on purpose: only the symlink swap tells the versions apart.
	secret := newK8sSecretDir(t, "AKIDVERSION1", "secret-version-1")
	src := newFileCredentials(secret.config(), clock.Now)
	ctx := context.Background()

	expect := func(step string, want AccessKeys) {
		t.Helper()
		got, err := src.AccessKeys(ctx)
		if err != nil {
			t.Fatalf("%s: %v", step, err)
		}
		if got != want {
			t.Fatalf("%s: got %+v, want %+v", step, got, want)
		}
	}
	v1 := AccessKeys{AccessKeyID: "AKIDVERSION1", SecretAccessKey: "secret-version-1"}
	v2 := AccessKeys{AccessKeyID: "AKIDVERSION2", SecretAccessKey: "secret-version-2"}

	expect("first read", v1)
	secret.update(t, "AKIDVERSION2", "secret-version-2")
	expect("right after the rotation", v1)
	clock.Advance(999 * time.Millisecond)
	expect("before the re-check", v1)
	clock.Advance(time.Millisecond)
	expect("at the re-check", v2)
	clock.Advance(time.Hour)
	expect("unchanged later", v2)

	// An in-place rewrite of the same size is seen through its mtime.
	target, err := filepath.EvalSymlinks(secret.config().SecretKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	credWriteFile(t, target, "secret-version-3")
	later := time.Now().Add(time.Minute)
	if err := os.Chtimes(target, later, later); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	expect("in-place rewrite", AccessKeys{AccessKeyID: "AKIDVERSION2", SecretAccessKey: "secret-version-3"})

	// A clock that steps back re-checks rather than waiting for it.
	clock.Advance(-time.Hour)
	expect("clock stepped back", AccessKeys{AccessKeyID: "AKIDVERSION2", SecretAccessKey: "secret-version-3"})
}

func TestFileCredentialsUnavailable(t *testing.T) {
	const content = "very-secret-file-content"
	cases := []struct {
		name    string
		prepare func(t *testing.T, dir string) // makes dir/ak and dir/sk, or not
		wantIn  string                         // in the cause
	}{
		{"missing secret file", func(t *testing.T, dir string) {
			credWriteFile(t, filepath.Join(dir, "ak"), "AKID")
		}, "secret_key_file"},
		{"missing access file", func(t *testing.T, dir string) {
			credWriteFile(t, filepath.Join(dir, "sk"), content)
		}, "access_key_file"},
		{"empty secret file", func(t *testing.T, dir string) {
			credWriteFile(t, filepath.Join(dir, "ak"), "AKID")
			credWriteFile(t, filepath.Join(dir, "sk"), " \n")
		}, "is empty"},
		{"secret path is a directory", func(t *testing.T, dir string) {
			credWriteFile(t, filepath.Join(dir, "ak"), "AKID")
			if err := os.Mkdir(filepath.Join(dir, "sk"), 0o700); err != nil {
				t.Fatal(err)
			}
		}, "secret_key_file"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			tc.prepare(t, dir)
			cfg := CredentialsConfig{AccessKeyFile: filepath.Join(dir, "ak"), SecretKeyFile: filepath.Join(dir, "sk")}
			clock := newFakeClock(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
			src := newFileCredentials(cfg, clock.Now)
			_, err := src.AccessKeys(context.Background())
			e, ok := err.(*Error)
			if !ok || e.Kind != KindGatewayCredentials || e.Detail != "gateway credentials are unavailable" {
				t.Fatalf("got %#v", err)
			}
			if !strings.Contains(e.Err.Error(), tc.wantIn) || !strings.Contains(e.Err.Error(), dir) {
				t.Errorf("cause %q names neither %q nor the path", e.Err, tc.wantIn)
			}
			if strings.Contains(err.Error(), content) {
				t.Errorf("error shows the file's content: %v", err)
			}
			if e.Kind.Status() != 503 {
				t.Errorf("status %d", e.Kind.Status())
			}
		})
	}
}

// TestFileCredentialsAppearLater: files that do not exist when the source is
// built are picked up once they do, and lost again when they go.
func TestFileCredentialsAppearLater(t *testing.T) {
	dir := t.TempDir()
	cfg := CredentialsConfig{AccessKey: "AKIDINLINE", SecretKeyFile: filepath.Join(dir, "sk")}
	src, err := NewCredentialSource(cfg)
	if err != nil {
		t.Fatalf("construction failed for a file not there yet: %v", err)
	}
	clock := newFakeClock(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
	src.(*fileCredentials).now = clock.Now
	ctx := context.Background()
	if _, err := src.AccessKeys(ctx); err == nil {
		t.Fatal("no error before the file exists")
	}
	credWriteFile(t, filepath.Join(dir, "sk"), "late-secret")
	if _, err := src.AccessKeys(ctx); err == nil {
		t.Fatal("the failure was not kept for the re-check period")
	}
	clock.Advance(time.Second)
	got, err := src.AccessKeys(ctx)
	if err != nil || got != (AccessKeys{AccessKeyID: "AKIDINLINE", SecretAccessKey: "late-secret"}) {
		t.Fatalf("got %+v, %v", got, err)
	}
	if err := os.Remove(filepath.Join(dir, "sk")); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Second)
	if _, err := src.AccessKeys(ctx); err == nil {
		t.Fatal("keys kept after the file was removed")
	}
}

func TestFileCredentialsShared(t *testing.T) {
	dirA := newK8sSecretDir(t, "AKIDA", "secret-a")
	dirB := newK8sSecretDir(t, "AKIDB", "secret-b")

	first, err := NewCredentialSource(dirA.config())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 100; i++ { // a hundred routers
		again, err := NewCredentialSource(dirA.config())
		if err != nil {
			t.Fatal(err)
		}
		if again != first {
			t.Fatalf("router %d got its own source", i)
		}
	}
	other, err := NewCredentialSource(dirB.config())
	if err != nil {
		t.Fatal(err)
	}
	if other == first {
		t.Fatal("different files share a source")
	}
	mixedA, _ := NewCredentialSource(CredentialsConfig{AccessKey: "AKID1", SecretKeyFile: dirA.config().SecretKeyFile})
	mixedB, _ := NewCredentialSource(CredentialsConfig{AccessKey: "AKID2", SecretKeyFile: dirA.config().SecretKeyFile})
	if mixedA == mixedB {
		t.Fatal("different inline access keys share a source")
	}
	a, _ := mixedA.AccessKeys(context.Background())
	b, _ := mixedB.AccessKeys(context.Background())
	if a.AccessKeyID != "AKID1" || b.AccessKeyID != "AKID2" || a.SecretAccessKey != "secret-a" {
		t.Fatalf("got %+v and %+v", a, b)
	}

	// Concurrent use of one shared source.
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				k, err := first.AccessKeys(context.Background())
				if err != nil || k.AccessKeyID != "AKIDA" {
					t.Errorf("got %+v, %v", k, err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkFileCredentials(b *testing.B) {
	dir := b.TempDir()
	cfg := CredentialsConfig{AccessKeyFile: filepath.Join(dir, "ak"), SecretKeyFile: filepath.Join(dir, "sk")}
	credWriteFile(b, cfg.AccessKeyFile, "AKIDBENCH\n")
	credWriteFile(b, cfg.SecretKeyFile, "bench-secret\n")
	ctx := context.Background()

	b.Run("cached", func(b *testing.B) {
		src := newFileCredentials(cfg, time.Now)
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, err := src.AccessKeys(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("recheck", func(b *testing.B) {
		clock := newFakeClock(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC))
		src := newFileCredentials(cfg, clock.Now)
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			clock.Advance(time.Second) // two stats per call, no re-read
			if _, err := src.AccessKeys(ctx); err != nil {
				b.Fatal(err)
			}
		}
	})
}
