//go:build !(darwin || dragonfly || freebsd || illumos || linux || netbsd || openbsd || solaris || windows)

package sqlite

import "os"

// tryLock does nothing on systems without flock(2) or LockFileEx: there,
// Opens of one database at the same moment are not serialized.
func tryLock(*os.File) error { return nil }

// unlockFile does nothing, as tryLock.
func unlockFile(*os.File) error { return nil }
