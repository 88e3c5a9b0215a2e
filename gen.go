// Package batches is the Go client of Mixpeek's Bucket Batches API.
//
// The wire layer is generated from openapi.yaml into generated/client
// (models and a typed client) and generated/server (the strict server
// interface the reference server in api/ implements). Regenerate after
// editing openapi.yaml with `go generate ./...`; never edit generated files.
package batches

//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config generated/client/config.yaml openapi.yaml
//go:generate go run github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen -config generated/server/config.yaml openapi.yaml
