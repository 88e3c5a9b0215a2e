package api

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/mixpeekgo/batches/generated/server"
)

// The API reference page, /docs: openapi.yaml rendered by Redoc's
// standalone bundle (api/docs/redoc.standalone.js, from the npm package
// redoc; api/docs/update.sh refreshes it, api/docs/VERSION says which), all
// embedded in the binary, so the page works offline and loads nothing from
// elsewhere: its Content-Security-Policy allows this server only, and
// Redoc's telemetry is off (api/docs/init.js).

//go:embed docs/index.html docs/init.js docs/redoc.standalone.js
var docsFS embed.FS

// docsCSP lets the page load scripts, styles, images, fonts and the
// contract from this server only; Redoc injects styles and runs its search
// in a worker made from a blob.
const docsCSP = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; " +
	"img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; frame-ancestors 'none'"

// asset is a file served as is: its bytes, type and validator.
type asset struct {
	body        []byte
	contentType string
	etag        string
}

func newAsset(body []byte, contentType string) asset {
	sum := sha256.Sum256(body)
	return asset{body: body, contentType: contentType, etag: `W/"` + hex.EncodeToString(sum[:12]) + `"`}
}

// serve answers the asset, 304 to a request whose If-None-Match has its
// ETag; caches revalidate each time (no-cache), which the ETag makes cheap.
// The ETag is weak: the same for every Content-Encoding the answer may be
// compressed with (compress.go).
func (a asset) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.body))
}

// docsAssets are the page and its scripts, by path.
var docsAssets = sync.OnceValue(func() map[string]asset {
	read := func(name string) []byte {
		b, err := docsFS.ReadFile("docs/" + name)
		if err != nil {
			panic(err) // embedded: cannot happen
		}
		return b
	}
	return map[string]asset{
		"/docs":                     newAsset(read("index.html"), "text/html; charset=utf-8"),
		"/docs/init.js":             newAsset(read("init.js"), "text/javascript; charset=utf-8"),
		"/docs/redoc.standalone.js": newAsset(read("redoc.standalone.js"), "text/javascript; charset=utf-8"),
	}
})

// contractAssets are openapi.json, the contract as oapi-codegen embedded it
// in generated/server, and openapi.yaml, the same document as YAML.
var contractAssets = sync.OnceValues(func() (map[string]asset, error) {
	js, err := server.GetSpecJSON()
	if err != nil {
		return nil, fmt.Errorf("the embedded openapi.yaml: %w", err)
	}
	// JSON is YAML: decoding it into a node keeps the order of its keys.
	var doc yaml.Node
	if err := yaml.Unmarshal(js, &doc); err != nil {
		return nil, fmt.Errorf("the embedded openapi.yaml: %w", err)
	}
	plainStyle(&doc)
	topLevelOrder(&doc)
	var y bytes.Buffer
	enc := yaml.NewEncoder(&y)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("the embedded openapi.yaml as YAML: %w", err)
	}
	if !json.Valid(js) {
		return nil, fmt.Errorf("the embedded openapi.yaml is not JSON")
	}
	return map[string]asset{
		"/openapi.json": newAsset(js, "application/json"),
		"/openapi.yaml": newAsset(y.Bytes(), "application/yaml; charset=utf-8"),
	}, nil
})

// plainStyle clears the flow and quoting styles that decoding JSON gives
// every node, so that the YAML reads as YAML; strings that need quotes get
// them from the encoder, and long ones become literal blocks.
func plainStyle(n *yaml.Node) {
	n.Style = 0
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" && strings.Contains(n.Value, "\n") {
		n.Style = yaml.LiteralStyle
	}
	for _, c := range n.Content {
		plainStyle(c)
	}
}

// topLevelOrder puts the document's top-level keys in the order of
// openapi.yaml (openapi, info, servers, tags, paths, components); the
// embedded JSON has them, as every key, sorted.
func topLevelOrder(doc *yaml.Node) {
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return
	}
	m := doc.Content[0]
	rank := func(k string) int {
		for i, name := range []string{"openapi", "info", "servers", "security", "tags", "paths", "components"} {
			if k == name {
				return i
			}
		}
		return 100
	}
	type pair struct{ k, v *yaml.Node }
	pairs := make([]pair, 0, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		pairs = append(pairs, pair{m.Content[i], m.Content[i+1]})
	}
	slices.SortStableFunc(pairs, func(a, b pair) int { return rank(a.k.Value) - rank(b.k.Value) })
	m.Content = m.Content[:0]
	for _, p := range pairs {
		m.Content = append(m.Content, p.k, p.v)
	}
}

// serveDocs answers /docs and its assets with the page's security headers.
func serveDocs(w http.ResponseWriter, r *http.Request) bool {
	a, ok := docsAssets()[r.URL.Path]
	if !ok {
		return false
	}
	h := w.Header()
	h.Set("Content-Security-Policy", docsCSP)
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	a.serve(w, r)
	return true
}
