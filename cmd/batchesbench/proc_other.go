//go:build !linux

package main

import "syscall"

// childAttr is nil off Linux, which has no parent-death signal.
func childAttr() *syscall.SysProcAttr { return nil }
