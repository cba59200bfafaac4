// Package directive places flatten in CoreDNS's plugin order, for the custom CoreDNS build
// (cmd/coredns) and for the tests that start CoreDNS in their own process.
package directive

import "fmt"

// Anchor is the directive flatten is inserted in front of: cache, so that the plugin's own replies
// (and their extended errors, which CoreDNS 1.15's cache drops) go straight to the client. See the
// README's "Building".
const Anchor = "cache"

// Name is the plugin's directive.
const Name = "flatten"

// Place returns directives with flatten inserted just before Anchor. It fails when Anchor is
// missing, so that a CoreDNS upgrade that renames or drops it stops the build's binary from
// starting with the plugin in a wrong place.
func Place(directives []string) ([]string, error) {
	return insertBefore(directives, Anchor, Name)
}

func insertBefore(directives []string, anchor, name string) ([]string, error) {
	for i, d := range directives {
		if d == anchor {
			out := make([]string, 0, len(directives)+1)
			out = append(out, directives[:i]...)
			out = append(out, name)
			return append(out, directives[i:]...), nil
		}
	}
	return nil, fmt.Errorf("flatten: directive %q not found in CoreDNS's plugin order; cannot place %q", anchor, name)
}
