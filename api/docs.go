package api

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v4"

	"github.com/mixpeekgo/batches"
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

// asset is a file served as is: its bytes, type and validator, and its
// bytes gzip-compressed once (gzipped; nil when that saves nothing), so
// that a request for it costs no compression (the bundle is 2.3 MB: the
// compression middleware would spend about 13 ms of CPU on each request).
type asset struct {
	body        []byte
	gzipped     []byte
	contentType string
	etag        string
}

func newAsset(body []byte, contentType string) asset {
	sum := sha256.Sum256(body)
	a := asset{body: body, contentType: contentType, etag: `W/"` + hex.EncodeToString(sum[:12]) + `"`}
	var z bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&z, gzip.BestCompression) // a valid level: no error
	_, _ = zw.Write(body)                                  // to memory: no error
	_ = zw.Close()
	if z.Len() < len(body) {
		a.gzipped = z.Bytes()
	}
	return a
}

// serve answers the asset, 304 to a request whose If-None-Match has its
// ETag; caches revalidate each time (no-cache), which the ETag makes cheap.
// The ETag is weak: the same for either Content-Encoding. A caller that
// accepts gzip gets the bytes compressed once (the compression middleware
// leaves an answer with a Content-Encoding as it is), any other the bytes
// as they are.
func (a asset) serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("ETag", a.etag)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Add("Vary", "Accept-Encoding")
	body := a.body
	if a.gzipped != nil && acceptsGzip(r.Header.Values("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		body = a.gzipped
	}
	http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
}

// acceptsGzip reports whether Accept-Encoding values (RFC 9110, section
// 12.5.3) accept gzip: gzip (or x-gzip) with a q above 0, or, when gzip is
// not named, * with a q above 0.
func acceptsGzip(values []string) bool {
	star := false
	for _, v := range values {
		for _, part := range strings.Split(v, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
			q := 1.0
			for _, p := range strings.Split(params, ";") {
				if k, val, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(strings.TrimSpace(k), "q") {
					if f, err := strconv.ParseFloat(strings.TrimSpace(val), 64); err == nil {
						q = f
					}
				}
			}
			switch c := strings.ToLower(strings.TrimSpace(coding)); c {
			case "gzip", "x-gzip":
				return q > 0
			case "*":
				star = q > 0
			}
		}
	}
	return star
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

// contractAssets are openapi.yaml, the contract byte for byte
// (batches.OpenAPI), and openapi.json, the same document as JSON, its keys
// in the same order. (The document oapi-codegen embeds in generated/server
// is not quite the contract: it has the operationIds capitalized.)
var contractAssets = sync.OnceValues(func() (map[string]asset, error) {
	y := batches.OpenAPI()
	var doc yaml.Node
	if err := yaml.Unmarshal(y, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	var js bytes.Buffer
	if err := yamlAsJSON(&js, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml as JSON: %w", err)
	}
	js.WriteByte('\n')
	if !json.Valid(js.Bytes()) {
		return nil, fmt.Errorf("openapi.yaml as JSON is not valid JSON")
	}
	return map[string]asset{
		"/openapi.json": newAsset(js.Bytes(), "application/json"),
		"/openapi.yaml": newAsset(y, "application/yaml; charset=utf-8"),
	}, nil
})

// yamlAsJSON writes the YAML node n as JSON, mappings as objects with their
// keys in order.
func yamlAsJSON(w *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) != 1 {
			return fmt.Errorf("a document of %d nodes", len(n.Content))
		}
		return yamlAsJSON(w, n.Content[0])
	case yaml.AliasNode:
		return yamlAsJSON(w, n.Alias)
	case yaml.MappingNode:
		w.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				w.WriteByte(',')
			}
			k, err := json.Marshal(n.Content[i].Value)
			if err != nil {
				return err
			}
			w.Write(k)
			w.WriteByte(':')
			if err := yamlAsJSON(w, n.Content[i+1]); err != nil {
				return err
			}
		}
		w.WriteByte('}')
	case yaml.SequenceNode:
		w.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				w.WriteByte(',')
			}
			if err := yamlAsJSON(w, c); err != nil {
				return err
			}
		}
		w.WriteByte(']')
	case yaml.ScalarNode:
		var v any
		if err := n.Decode(&v); err != nil {
			return err
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Errorf("line %d: %w", n.Line, err)
		}
		w.Write(b)
	default:
		return fmt.Errorf("line %d: a YAML node of kind %v", n.Line, n.Kind)
	}
	return nil
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
