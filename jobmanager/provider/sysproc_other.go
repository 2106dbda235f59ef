//go:build !linux

package provider

import "syscall"

// sysProcAttr returns no special process attributes: only Linux can tie
// a child's life to its parent's.
func sysProcAttr() *syscall.SysProcAttr { return nil }
