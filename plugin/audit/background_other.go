//go:build !linux

package audit

// background does nothing where threads have no priority of their own (see background_linux.go).
func background() {}
