package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"

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
	name := db.path + importLockSuffix
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := tryLock(f); err == nil {
		return func() { _ = errors.Join(unlockFile(f), f.Close()) }, nil
	} else if !errors.Is(err, errWouldBlock) {
		f.Close()
		return nil, fmt.Errorf("locking %s: %w", name, err)
	}
	f.Close()
	domain.NotifyImportWaiting(ctx, importWaitingFor)
	unlock, err := lockFile(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("waiting for %s to finish: %w", importWaitingFor, err)
	}
	return func() { _ = unlock() }, nil
}
