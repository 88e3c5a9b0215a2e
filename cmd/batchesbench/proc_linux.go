package main

import "syscall"

// childAttr makes a child process end with the benchmark: SIGKILL when
// batchesbench dies, so that no server or wrk is left running.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
