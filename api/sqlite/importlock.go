package sqlite

import (
	"context"
	"fmt"

	"github.com/mixpeekgo/batches/api/domain"
)

// importWaitingFor is what an import waits for: the lock is the file's,
// whichever bucket the other import writes to.
const importWaitingFor = "another import into this database file (on SQLite, imports into any of its buckets take turns)"

// importLockSuffix names the file, next to the database file, whose lock
// an import holds ([DB.lockImport]).
const importLockSuffix = "-import.lock"

// lockImport is the domain.ImportLock of the database: an exclusive lock
// (flock(2); LockFileEx on Windows) on the file path+"-import.lock",
// created next to it and left there. SQLite has one writer at a time, so
// imports into any bucket of the file take turns, whichever process runs
// them; the system releases the lock of a process that dies.
func (db *DB) lockImport(ctx context.Context, bucketID string) (func(), error) {
	waited := false
	unlock, err := lockFile(ctx, db.path+importLockSuffix, func() {
		waited = true
		domain.NotifyImportWaiting(ctx, importWaitingFor)
	})
	if err != nil {
		if waited {
			return nil, fmt.Errorf("waiting for %s to finish: %w", importWaitingFor, err)
		}
		return nil, err
	}
	return func() { _ = unlock() }, nil
}
