//go:build tools

// This file pins the code generator's version in go.mod, so that
// `go generate ./...` runs the same oapi-codegen for everyone.
package batches

import (
	_ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
)
