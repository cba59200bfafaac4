//go:build !race

package flatten

// raced: this test binary has the race detector, whose instrumentation makes frames larger.
const raced = false
