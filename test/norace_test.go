//go:build !race

package test

// raced: this test binary has no race detector, nor does the CoreDNS it builds (TestMain).
const raced = false
