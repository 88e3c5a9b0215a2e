package batches_test

import (
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mixpeekgo/batches"
)

// requestIDRe is the request id that ends an error of the server's
// answer, which differs each time.
var requestIDRe = regexp.MustCompile(`\(request id req_[A-Z2-7]{26}\)`)

// runPrinting runs f and returns what it wrote to os.Stdout, as go test
// does for an example with an Output comment.
func runPrinting(t *testing.T, f func()) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan string)
	go func() {
		b, _ := io.ReadAll(r)
		out <- string(b)
	}()
	stdout := os.Stdout
	os.Stdout = w
	defer func() { os.Stdout = stdout }()
	f()
	w.Close()
	return <-out
}

// The examples that print run against the demo of the reference server
// as a user starts it (batchesd serve, a process), with the environment a
// user sets, and print what the API holds.
func TestExamplesAgainstTheDemo(t *testing.T) {
	info := demoServer(t)
	if info.Bucket != "bkt_demo" {
		t.Fatalf("the demo bucket is %s; the examples list bkt_demo", info.Bucket)
	}
	t.Setenv(batches.EnvAPIKey, info.APIKey)
	t.Setenv(batches.EnvNamespace, info.Namespace)
	t.Setenv(batches.EnvBaseURL, info.URL)
	c, err := batches.New()
	if err != nil {
		t.Fatal(err)
	}

	first, err := c.ListBatches(t.Context(), "bkt_demo", &batches.ListBatchesParams{Limit: 2})
	if err != nil || len(first.Results) != 2 {
		t.Fatalf("%v, %v", first, err)
	}
	var want strings.Builder
	for _, b := range first.Results {
		fmt.Fprintf(&want, "%s %s %s\n", b.BatchID, b.Status, b.CreatedAt.Format(time.DateOnly))
	}
	fmt.Fprintf(&want, "total_count: 300 more: true next offset: 2\n")
	if got := runPrinting(t, ExampleClient_ListBatches); got != want.String() {
		t.Errorf("ExampleClient_ListBatches printed\n%s\nwant\n%s", got, want.String())
	}

	want.Reset()
	page, err := c.ListBatches(t.Context(), "bkt_demo", &batches.ListBatchesParams{Status: batches.TaskStatusFailed, Limit: 1000})
	if err != nil || len(page.Results) == 0 {
		t.Fatalf("no FAILED batch in the demo: %v", err)
	}
	for _, b := range page.Results {
		if b.Error == nil {
			t.Fatalf("%s FAILED without an error", b.BatchID)
		}
		fmt.Fprintf(&want, "%s FAILED terminal=true: %s\n", b.BatchID, *b.Error)
	}
	if got := runPrinting(t, ExampleClient_AllBatches); got != want.String() {
		t.Errorf("ExampleClient_AllBatches printed\n%s\nwant\n%s", got, want.String())
	}

	// The server's request id differs each time.
	wantErr := "not found: batches: listBatches: HTTP 404 NotFoundError: Bucket not found: bkt_missing (request id req_…)\n" +
		"404 NotFoundError bucket 1\n" +
		"true batches: listBatches: limit 5000 is more than 1000\n"
	if got := requestIDRe.ReplaceAllString(runPrinting(t, ExampleError), "(request id req_…)"); got != wantErr {
		t.Errorf("ExampleError printed\n%s\nwant\n%s", got, wantErr)
	}
}

// An example must run as go doc shows it, copied into a program: it may use
// its package, the standard library and its own names, but no helper of the
// tests (a server started by a function go doc does not show). A helper in
// the file of a whole-file example (its only example, no test in it) is
// shown with it, as pkgsite and godoc present such a file.
func TestExamplesAreSelfContained(t *testing.T) {
	for _, dir := range []string{".", "api/batchestest"} {
		fset := token.NewFileSet()
		files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
		if err != nil {
			t.Fatal(err)
		}
		helpers := map[string]string{} // the top-level names of the test files: their file
		examples := map[*ast.FuncDecl]string{}
		wholeFile := map[string]bool{}
		for _, name := range files {
			f, err := parser.ParseFile(fset, name, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.HasSuffix(f.Name.Name, "_test") {
				continue
			}
			nExamples, nTests, nOther := 0, 0, 0
			for _, d := range f.Decls {
				switch d := d.(type) {
				case *ast.FuncDecl:
					switch n := d.Name.Name; {
					case d.Recv != nil:
					case strings.HasPrefix(n, "Example"):
						examples[d] = name
						nExamples++
					default:
						if strings.HasPrefix(n, "Test") || strings.HasPrefix(n, "Benchmark") || strings.HasPrefix(n, "Fuzz") {
							nTests++
						}
						helpers[n] = name
						nOther++
					}
				case *ast.GenDecl:
					for _, s := range d.Specs {
						switch s := s.(type) {
						case *ast.ValueSpec:
							for _, n := range s.Names {
								helpers[n.Name] = name
							}
							nOther++
						case *ast.TypeSpec:
							helpers[s.Name.Name] = name
							nOther++
						}
					}
				}
			}
			wholeFile[name] = nExamples == 1 && nTests == 0 && nOther > 0
		}
		if len(examples) < 2 {
			t.Fatalf("%s: found %d examples", dir, len(examples))
		}
		for ex, file := range examples {
			visible := func(name string) bool { return helpers[name] == "" || (wholeFile[file] && helpers[name] == file) }
			check := func(m ast.Node) bool { return checkIdent(t, fset, ex, visible, m) }
			ast.Inspect(ex.Body, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.SelectorExpr:
					ast.Inspect(n.X, check)
					return false // n.Sel is a field, method or a package's name
				case *ast.KeyValueExpr:
					ast.Inspect(n.Value, check)
					return false // n.Key may be a field name
				}
				return check(n)
			})
		}
	}
}

// checkIdent reports an identifier of ex that names a helper of the tests
// go doc does not show with ex, rather than something declared in ex.
func checkIdent(t *testing.T, fset *token.FileSet, ex *ast.FuncDecl, visible func(string) bool, n ast.Node) bool {
	id, ok := n.(*ast.Ident)
	if !ok || visible(id.Name) {
		return true
	}
	if id.Obj != nil && id.Obj.Pos() >= ex.Pos() && id.Obj.Pos() < ex.End() {
		return true // declared in the example itself
	}
	t.Errorf("%s: %s uses %s, which go doc does not show with it", fset.Position(id.Pos()), ex.Name.Name, id.Name)
	return true
}
