package caddymodule

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/caddyserver/caddy/v2/caddyconfig/caddyfile"

	"github.com/stsgate/stsgate/core"
	"github.com/stsgate/stsgate/internal/optioncheck"
)

// jsonFieldDocs maps the module's JSON paths ("jwt." inside the jwt block)
// to the doc comments of the Handler and JWTConfig fields, which Caddy
// turns into its JSON docs.
func jsonFieldDocs(t *testing.T) map[string]string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), "handler.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	docs := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok {
			return true
		}
		prefix := map[string]string{"Handler": "", "JWTConfig": "jwt."}[ts.Name.Name]
		if ts.Name.Name != "Handler" && ts.Name.Name != "JWTConfig" {
			return false
		}
		for _, field := range ts.Type.(*ast.StructType).Fields.List {
			if field.Tag == nil {
				continue
			}
			tag, _ := strconv.Unquote(field.Tag.Value)
			name := strings.Split(reflect.StructTag(tag).Get("json"), ",")[0]
			if name != "" && name != "-" {
				docs[prefix+name] = field.Doc.Text()
			}
		}
		return false
	})
	return docs
}

// TestJSONDocsFollowTheOptionTable: every option has its field, documented
// with the table's default ("Default: ..."), and no field is an option the
// table lacks.
func TestJSONDocsFollowTheOptionTable(t *testing.T) {
	docs := jsonFieldDocs(t)
	known := map[string]bool{}
	for _, o := range core.ConfigOptions {
		if o.JSON == "" {
			continue
		}
		known[o.JSON] = true
		if o.PerIssuer {
			// The jwt block holds the per-issuer options too.
			known["jwt."+o.JSON] = true
			if _, ok := docs["jwt."+o.JSON]; !ok {
				t.Errorf("%s: JWTConfig has no field %s", o.Name, o.JSON)
			}
		}
		doc, ok := docs[o.JSON]
		if !ok {
			t.Errorf("%s: no field with JSON name %s", o.Name, o.JSON)
			continue
		}
		if o.Name == "jwt" {
			continue
		}
		_, after, ok := strings.Cut(doc, "Default:")
		if !ok {
			t.Errorf("%s: the doc of %s says no default", o.Name, o.JSON)
			continue
		}
		if got := optioncheck.DocDefault(o, after); got != o.Default {
			t.Errorf("%s: the doc of %s says the default is %q, the table %q", o.Name, o.JSON, got, o.Default)
		}
	}
	for name := range docs {
		if !known[name] {
			t.Errorf("Handler has the JSON field %s, which is not in core.ConfigOptions", name)
		}
	}
}

// TestCaddyfileKeywordsFollowTheOptionTable: the parser knows every
// keyword of the table, and no other.
func TestCaddyfileKeywordsFollowTheOptionTable(t *testing.T) {
	keywords := map[string]bool{"jwt": true}
	for _, o := range core.ConfigOptions {
		if o.Caddyfile == "" || o.Name == "jwt" {
			continue
		}
		key := o.Caddyfile
		input := "sts_token {\n\t" + o.Caddyfile + "\n}"
		if strings.HasPrefix(o.Name, "jwt.") {
			key = "jwt." + o.Caddyfile
			input = "sts_token {\n\tjwt {\n\t\t" + o.Caddyfile + "\n\t}\n}"
		}
		keywords[key] = true
		var h Handler
		err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input))
		if err != nil && strings.Contains(err.Error(), "unrecognized") {
			t.Errorf("%s: the Caddyfile parser does not know %s: %v", o.Name, o.Caddyfile, err)
		}
	}
	// The parser reads keywords by the table alone: any other is refused.
	for _, input := range []string{"sts_token {\n\tfrobnicate\n}", "sts_token {\n\tjwt {\n\t\tfrobnicate\n\t}\n}"} {
		var h Handler
		if err := h.UnmarshalCaddyfile(caddyfile.NewTestDispenser(input)); err == nil || !strings.Contains(err.Error(), `unrecognized`) {
			t.Errorf("an unknown keyword in %q: %v; want it refused", input, err)
		}
	}
}
