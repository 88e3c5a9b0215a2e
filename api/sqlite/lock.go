package sqlite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"
)

// lockSuffix names the file, next to the database file, that [Open] locks
// while it sets the database up.
const lockSuffix = "-open.lock"

// errWouldBlock is what tryLock returns when another open file holds the
// lock.
var errWouldBlock = errors.New("lock held elsewhere")

// lockFile opens the file name, creating it (mode 0600) when missing, and
// takes an exclusive advisory lock on it: flock(2) on Unix, LockFileEx on
// Windows. The lock belongs to the open file, so it excludes other
// processes and other goroutines of this one alike, and the system releases
// it when its holder dies. lockFile waits for a lock held elsewhere, polling
// every few milliseconds up to 50 ms, until ctx is done, calling onWait
// (unless nil) once when its first try finds the lock held; it returns the
// function that releases the lock and closes the file.
func lockFile(ctx context.Context, name string, onWait func()) (unlock func() error, err error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		err := tryLock(f)
		if err == nil {
			return func() error { return errors.Join(unlockFile(f), f.Close()) }, nil
		}
		if !errors.Is(err, errWouldBlock) {
			f.Close()
			return nil, fmt.Errorf("locking %s: %w", name, err)
		}
		if onWait != nil {
			onWait()
			onWait = nil
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			f.Close()
			return nil, fmt.Errorf("waiting for the lock on %s: %w", name, context.Cause(ctx))
		case <-t.C:
		}
	}
}
