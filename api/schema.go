package api

import (
	"errors"
	"fmt"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/mixpeekgo/batches/api/domain"
	"github.com/mixpeekgo/batches/generated/server"
)

// BatchSchema returns the Batch schema of the embedded openapi.yaml
// (components.schemas.Batch) as the import format checks lines against it
// ([domain.ReadBatches], [domain.Admin].ImportBatches): by kin-openapi, the
// validator that checks requests, its errors reading `Error at "/path":
// reason`. It panics if the embedded document cannot be loaded or has no
// Batch schema, which the package's tests rule out (the document is
// generated with the code).
func BatchSchema() domain.Schema { return batchSchema() }

var batchSchema = sync.OnceValue(func() domain.Schema {
	spec, err := server.GetSpec()
	if err != nil {
		panic(fmt.Errorf("loading the embedded openapi.yaml: %w", err))
	}
	ref := spec.Components.Schemas["Batch"]
	if ref == nil || ref.Value == nil {
		panic(errors.New("the embedded openapi.yaml has no components.schemas.Batch"))
	}
	return contractSchema{ref.Value}
})

// contractSchema is a schema of openapi.yaml as a domain.Schema.
type contractSchema struct{ s *openapi3.Schema }

func (c contractSchema) Has(property string) bool {
	_, ok := c.s.Properties[property]
	return ok
}

func (c contractSchema) Check(obj map[string]any) error {
	return c.s.VisitJSON(obj, openapi3.DisableSchemaErrorDetails())
}
