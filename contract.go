package batches

import (
	"bytes"
	_ "embed"
)

//go:embed openapi.yaml
var openAPIYAML []byte

// OpenAPI returns openapi.yaml, the contract this package and the
// reference server are generated from, byte for byte (a new copy each
// call). The reference server serves it at /openapi.yaml, as JSON at
// /openapi.json, and renders it at /docs.
func OpenAPI() []byte { return bytes.Clone(openAPIYAML) }
