package batches_test

import "syscall"

func init() {
	// The kernel kills batchesd when the test binary dies without TestMain
	// stopping it: a panic, or the end of -timeout.
	demoProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
