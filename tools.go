//go:build ignore

// The code generator is pinned in go.mod, by the line
//
//	tool github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen
//
// with its version in go.mod's require block (change it with
// `go get -tool github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen@vX.Y.Z`);
// gen.go runs it as `go tool oapi-codegen`, so `go generate ./...` runs the
// same generator for everyone.
//
// It used to be pinned here, by a blank import under the "tools" build tag.
// But `go mod tidy` reads files of every build tag except "ignore", so each
// module that imported this package then required the generator and what it
// needs (golang.org/x/tools, kin-openapi, …): 20 requirements instead of 5.
// A tool directive is read in this module only. This file, which no build
// or tidy reads, only says so.
package batches
