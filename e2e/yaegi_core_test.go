package e2e

// The conformance table, interpreted: the core is loaded by yaegi v0.16.1
// (the interpreter Traefik v3.7 runs plugins with) from a GOPATH-style tree,
// with the standard-library symbols only, exactly as Traefik loads the
// plugin, and every row of the conformance table (docs/api.md) must answer as the compiled core does.

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/traefik/yaegi/interp"
	"github.com/traefik/yaegi/stdlib"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/conformance"
)

// pluginModule is the plugin's module path, and its directory in a GOPATH.
const pluginModule = "github.com/stsgate/stsgate"

// repoRoot is the stsgate repository (e2e/ is one level down).
func repoRoot(t testing.TB) string {
	t.Helper()
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, ".traefik.yml")); err != nil {
		t.Fatalf("repository root not found from e2e/: %v", err)
	}
	return root
}

// copyPluginTree copies what Traefik needs of the plugin (the manifest,
// go.mod, the interpreted packages without their tests, and vendor/) to
// dst, which becomes <gopath>/src/github.com/stsgate/stsgate.
func copyPluginTree(t testing.TB, dst string) {
	t.Helper()
	root := repoRoot(t)
	for _, f := range []string{".traefik.yml", "go.mod", "go.sum"} {
		copyFile(t, filepath.Join(root, f), filepath.Join(dst, f))
	}
	for _, pkg := range []string{"core", "traefikplugin"} {
		entries, err := os.ReadDir(filepath.Join(root, pkg))
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range entries {
			name := e.Name()
			if e.IsDir() || !strings.HasSuffix(name, ".go") || strings.HasSuffix(name, "_test.go") {
				continue
			}
			copyFile(t, filepath.Join(root, pkg, name), filepath.Join(dst, pkg, name))
		}
	}
	vendor := filepath.Join(root, "vendor")
	err := filepath.Walk(vendor, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, err := filepath.Rel(vendor, path)
		if err != nil {
			return err
		}
		copyFile(t, path, filepath.Join(dst, "vendor", rel))
		return nil
	})
	if err != nil {
		t.Fatalf("copying vendor/ (run go mod vendor in the repository root): %v", err)
	}
}

func copyFile(t testing.TB, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// newPluginInterpreter copies the plugin into a fresh GOPATH and returns an
// interpreter set up the way Traefik's plugins.newInterpreter does it: that
// GOPATH, the standard-library symbols and nothing else (no unsafe, no
// syscall).
func newPluginInterpreter(t testing.TB) (*interp.Interpreter, string) {
	t.Helper()
	gopath := t.TempDir()
	copyPluginTree(t, filepath.Join(gopath, "src", filepath.FromSlash(pluginModule)))
	i := interp.New(interp.Options{
		GoPath: gopath,
		Env:    []string{"HOME=" + gopath, "PATH=/usr/bin:/bin"},
		Stdout: io.Discard,
		Stderr: io.Discard,
	})
	if err := i.Use(stdlib.Symbols); err != nil {
		t.Fatal(err)
	}
	return i, gopath
}

// yaegiHarness is interpreted next to the core: a compiled test hands it a
// core.Config as JSON and gets back the interpreted issuer as a middleware.
const yaegiHarness = `package harness

import (
	"encoding/json"
	"net/http"

	"github.com/stsgate/stsgate/core"
)

// Wrap builds an issuer from a JSON-encoded core.Config in front of next.
func Wrap(next http.Handler, configJSON string) (http.Handler, error) {
	cfg := core.DefaultConfig()
	if err := json.Unmarshal([]byte(configJSON), &cfg); err != nil {
		return nil, err
	}
	iss, err := core.New(cfg, core.Options{})
	if err != nil {
		return nil, err
	}
	return iss.Wrap(next), nil
}
`

// interpretedWrap loads the core under yaegi and returns the harness's Wrap
// as a compiled function value.
func interpretedWrap(t testing.TB) func(http.Handler, string) (http.Handler, error) {
	t.Helper()
	i, gopath := newPluginInterpreter(t)
	dir := filepath.Join(gopath, "src", filepath.FromSlash(pluginModule), "yaegiharness")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "harness.go"), []byte(yaegiHarness), 0o644); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if _, err := i.Eval(`import "` + pluginModule + `/yaegiharness"`); err != nil {
		t.Fatalf("yaegi cannot import the core: %v", err)
	}
	t.Logf("yaegi imported the core in %s", time.Since(start).Round(time.Millisecond))
	v, err := i.Eval("harness.Wrap")
	if err != nil {
		t.Fatal(err)
	}
	wrap, ok := v.Interface().(func(http.Handler, string) (http.Handler, error))
	if !ok {
		t.Fatalf("harness.Wrap is a %s", v.Type())
	}
	return wrap
}

// TestYaegiCoreConformance runs every row of the conformance table against
// the interpreted core, mounted as the compiled core is in core/.
func TestYaegiCoreConformance(t *testing.T) {
	env, err := conformance.NewEnv()
	if err != nil {
		t.Fatal(err)
	}
	defer env.Close()
	wrap := interpretedWrap(t)
	h, err := conformance.ChainHandler(env.Mounts(), func(cfg core.Config) (func(http.Handler) http.Handler, error) {
		data, err := json.Marshal(cfg)
		if err != nil {
			return nil, err
		}
		return func(next http.Handler) http.Handler {
			h, err := wrap(next, string(data))
			if err != nil {
				t.Fatalf("interpreted core.New: %v", err)
			}
			return h
		}, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	conformance.RunChecked(t, env, conformance.HandlerDoer(h), openAPIChecker(t))
}

// TestYaegiPitfalls looks for the constructs that yaegi v0.16.1 runs
// differently from the compiler, in every file Traefik interprets (core,
// traefikplugin, vendor). Each one was found by the tests above; this
// catches them on paths the tests do not reach:
//   - a tagless switch whose case lists several expressions: yaegi
//     evaluates only the first ("case a, b:" never matched b, so session
//     names lost every capital letter and digit);
//   - continue written directly in a select case: yaegi runs on past the
//     select instead of continuing the loop (concurrent first callers of
//     OIDC discovery unlocked an unlocked mutex: a fatal error, Traefik
//     down);
//   - a struct literal assigned straight to a field or an element
//     (x.f = T{}, m[k] = T{}): when the field is an interface, yaegi panics
//     ("value of type interp.valueInterface is not assignable to type
//     struct {}"). Convert first (x.f = I(T{})) or assign a variable;
//   - nil or a composite literal in a tuple assignment (a, b = x, nil):
//     reflect: New(nil) when Traefik loaded the plugin, or the assignment
//     not made.
func TestYaegiPitfalls(t *testing.T) {
	dir := t.TempDir()
	copyPluginTree(t, dir)
	fset := token.NewFileSet()
	var found []string
	report := func(pos token.Pos, what string) {
		p := fset.Position(pos)
		rel, _ := filepath.Rel(dir, p.Filename)
		found = append(found, fmt.Sprintf("%s:%d: %s", rel, p.Line, what))
	}
	files := 0
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err == nil && info.IsDir() && info.Name() == "vendor" {
			return filepath.SkipDir // third-party code; the interpreted conformance run covers it
		}
		if err != nil || info.IsDir() || !strings.HasSuffix(path, ".go") {
			return err
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		files++
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.SwitchStmt:
				if n.Tag != nil {
					break
				}
				for _, c := range n.Body.List {
					if cc := c.(*ast.CaseClause); len(cc.List) > 1 {
						report(cc.Pos(), "tagless switch case with several expressions (yaegi tests only the first): join them with ||")
					}
				}
			case *ast.GenDecl:
				if n.Tok != token.CONST {
					break
				}
				for _, spec := range n.Specs {
					for _, v := range spec.(*ast.ValueSpec).Values {
						if b, ok := v.(*ast.BinaryExpr); ok && mentionsIota(b) {
							report(v.Pos(), "constant computed from iota (yaegi v0.16.1 compares such constants unequal to themselves): start from a blank iota instead")
						}
					}
				}
			case *ast.FuncType:
				if n.Params != nil {
					for _, field := range n.Params.List {
						if len(field.Names) == 0 {
							report(field.Pos(), "unnamed parameter (yaegi v0.16.1 panics calling some such functions): name it")
							break
						}
					}
				}
			case *ast.CommClause:
				for _, st := range n.Body {
					if b, ok := st.(*ast.BranchStmt); ok && b.Tok == token.CONTINUE {
						report(b.Pos(), "continue directly in a select case (yaegi runs on past the select): move it after the select")
					}
				}
			case *ast.AssignStmt:
				if len(n.Lhs) > 1 && len(n.Rhs) == len(n.Lhs) {
					for _, rhs := range n.Rhs {
						id, isIdent := rhs.(*ast.Ident)
						if _, isLit := rhs.(*ast.CompositeLit); isLit || (isIdent && id.Name == "nil") {
							report(n.Pos(), "nil or a composite literal in a tuple assignment (yaegi panics or skips the assignment): one assignment per statement")
							break
						}
					}
				}
				for i, lhs := range n.Lhs {
					switch lhs.(type) {
					case *ast.SelectorExpr, *ast.IndexExpr:
					default:
						continue
					}
					if i >= len(n.Rhs) {
						break
					}
					if lit, ok := n.Rhs[i].(*ast.CompositeLit); ok {
						switch lit.Type.(type) {
						case *ast.Ident, *ast.SelectorExpr:
							report(n.Pos(), "struct literal assigned to a field or element (yaegi panics if it is an interface): convert it or assign a variable")
						}
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files < 20 {
		t.Fatalf("only %d Go files scanned", files)
	}
	for _, f := range found {
		t.Error(f)
	}
}

// mentionsIota reports whether expr uses iota.
func mentionsIota(expr ast.Expr) bool {
	found := false
	ast.Inspect(expr, func(n ast.Node) bool {
		if id, ok := n.(*ast.Ident); ok && id.Name == "iota" {
			found = true
		}
		return !found
	})
	return found
}
