package audit

// The audit's threads behind the answers, on Linux (background_other.go elsewhere).

import (
	"runtime"
	"syscall"
)

// background makes the calling goroutine the only one on its OS thread, for the rest of its life,
// and gives that thread the lowest CPU priority (nice 19; on Linux, setpriority with a thread's
// id applies to that thread alone). The audit's goroutines call it: reading and checking a zone of
// a million records takes a core for seconds, and on a machine with few cores the threads that
// answer questions must come first. When the goroutine returns, its thread ends with it, so no
// thread of low priority goes back to the runtime's pool.
func background() {
	runtime.LockOSThread()
	_ = syscall.Setpriority(syscall.PRIO_PROCESS, syscall.Gettid(), 19) // best effort
}
