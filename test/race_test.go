//go:build race

package test

// raced: this test binary has the race detector, and so does the CoreDNS it builds (TestMain).
const raced = true
