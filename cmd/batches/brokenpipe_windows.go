package main

import (
	"errors"
	"syscall"
)

// errorNoData is ERROR_NO_DATA ("The pipe is being closed."), which a write
// to a pipe whose reader has gone may return on Windows; package syscall
// does not name it.
const errorNoData = syscall.Errno(232)

// brokenPipe reports whether err is a write to a pipe whose reader has gone:
// ERROR_BROKEN_PIPE or ERROR_NO_DATA on Windows (EPIPE for the Go runtime's
// own conversions).
func brokenPipe(err error) bool {
	return errors.Is(err, syscall.ERROR_BROKEN_PIPE) || errors.Is(err, errorNoData) || errors.Is(err, syscall.EPIPE)
}
