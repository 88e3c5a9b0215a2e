package sqlite_test

import (
	"testing"

	"github.com/mixpeekgo/batches/api/internal/storetest"
)

// TestContract runs the contract every backend keeps (storetest.Contract).
func TestContract(t *testing.T) { storetest.Contract(t, storetest.SQLite) }
