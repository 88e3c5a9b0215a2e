package storetest_test

import (
	"slices"
	"testing"

	"github.com/mixpeekgo/batches/api/postgres"
	"github.com/mixpeekgo/batches/api/sqlite"
)

// TestMigrationsAlike: api/postgres has a migration of every version
// api/sqlite has, with the same name (the file's, or the Source of a Go
// migration, river's included), and none other.
func TestMigrationsAlike(t *testing.T) {
	lite, pg := sqlite.Migrations(), postgres.Migrations()
	if !slices.Equal(lite, pg) || len(lite) == 0 {
		t.Errorf("migrations differ:\nsqlite   %v\npostgres %v", lite, pg)
	}
	if !slices.Contains(lite, "00008_river_001") || !slices.Contains(lite, "00007_tasks") {
		t.Errorf("no tasks or river migrations: %v", lite)
	}
}
