package caddymodule_test

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig"
	_ "github.com/caddyserver/caddy/v2/modules/standard"

	_ "github.com/stsgate/stsgate/caddymodule"
)

var envPlaceholders = regexp.MustCompile(`\{env\.([A-Za-z0-9_]+)\}`)

var update = flag.Bool("update", false, "rewrite the expected JSON of testdata/*.caddyfiletest")

// separator parts a .caddyfiletest into the Caddyfile and what adapting it
// gives: the JSON config, or "error: <text>" lines that the adapter's error
// must each contain.
const separator = "\n----------\n"

// TestCaddyfileAdapt adapts every testdata/*.caddyfiletest, as Caddy's own
// caddytest/integration/caddyfile_adapt tests do.
func TestCaddyfileAdapt(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.caddyfiletest"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no testdata/*.caddyfiletest files")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".caddyfiletest")
		t.Run(name, func(t *testing.T) {
			data, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			input, expected, ok := strings.Cut(string(data), separator)
			if !ok {
				t.Fatalf("%s has no %q separator line", file, strings.TrimSpace(separator))
			}
			// Secrets' {env.NAME} must be set when the Caddyfile is
			// adapted, except in the test of that refusal.
			if !strings.HasPrefix(name, "error_env_") {
				for _, m := range envPlaceholders.FindAllStringSubmatch(input, -1) {
					t.Setenv(m[1], "set-for-the-test-0123456789-0123456789-0123456789")
				}
			}
			got, adaptErr := adapt(input)
			if wants := errorLines(expected); len(wants) > 0 {
				if adaptErr == nil {
					t.Fatalf("adapting succeeded, want an error containing %q; got:\n%s", wants, got)
				}
				for _, want := range wants {
					if !strings.Contains(adaptErr.Error(), want) {
						t.Errorf("error %q does not contain %q", adaptErr, want)
					}
				}
				return
			}
			if adaptErr != nil {
				t.Fatalf("adapting failed: %v", adaptErr)
			}
			if *update {
				out := input + separator + got + "\n"
				if err := os.WriteFile(file, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := indentJSON([]byte(expected))
			if err != nil {
				t.Fatalf("expected JSON of %s: %v", file, err)
			}
			if got != want {
				t.Errorf("adapted JSON differs (run go test -run TestCaddyfileAdapt -update to accept)\n--- got\n%s\n--- want\n%s", got, want)
			}
		})
	}
}

// adapt runs the Caddyfile adapter; warnings fail like errors, since every
// test input is meant to be clean.
func adapt(input string) (string, error) {
	adapter := caddyconfig.GetAdapter("caddyfile")
	out, warnings, err := adapter.Adapt([]byte(input+"\n"), map[string]any{"filename": "Caddyfile"})
	if err != nil {
		return "", err
	}
	for _, w := range warnings {
		return "", &adaptWarning{w}
	}
	return indentJSON(out)
}

type adaptWarning struct{ w caddyconfig.Warning }

func (a *adaptWarning) Error() string { return "warning: " + a.w.String() }

func indentJSON(data []byte) (string, error) {
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		return "", err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetIndent("", "\t")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

func errorLines(expected string) []string {
	var out []string
	for _, line := range strings.Split(expected, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "error:"); ok {
			out = append(out, strings.TrimSpace(rest))
		}
	}
	return out
}
