package sqlite

import (
	"github.com/mixpeekgo/batches/api/storage"
	"github.com/mixpeekgo/batches/generated/server"
)

// batchArgs is [storage.BatchRow], for list_internal_test.go, which writes
// the rows of a version 1 database.
func batchArgs(bucketID string, b *server.Batch) ([]any, error) {
	return storage.BatchRow(bucketID, *b)
}
