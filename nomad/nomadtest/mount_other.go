//go:build !linux

package nomadtest

// unmountUnder: only Linux agents mount inside allocation directories.
func unmountUnder(string) {}
