package postgres_test

import (
	"testing"

	"github.com/mixpeekgo/batches/api/internal/storetest"
)

// TestContract runs the contract every backend keeps (storetest.Contract);
// it skips without BATCHES_TEST_DATABASE_URL.
func TestContract(t *testing.T) { storetest.Contract(t, storetest.Postgres) }
