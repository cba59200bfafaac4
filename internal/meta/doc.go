// Package meta holds the tests of the source tree itself: the rules CoreDNS holds its own plugins
// to (file names, test messages, import grouping: presubmit_test.go), and the architecture
// document against the code (architecture_test.go).
package meta
