// The code generator's directives; the package doc is in doc.go.

package batches

// oapi-codegen is the version pinned by go.mod's tool directive (see tools.go).
//go:generate go tool oapi-codegen -config generated/client/config.yaml openapi.yaml
//go:generate go tool oapi-codegen -config generated/server/config.yaml openapi.yaml
