package chain

import (
	"testing"

	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// The chain walk over a 4-hop answer.
func BenchmarkChainWalk(b *testing.B) {
	answer := append(hops(4), test.A("h4.example.org. 300 IN A 192.0.2.1"))
	b.ReportAllocs()
	for b.Loop() {
		c := New("h0.example.org.", Limits{Max: 10})
		if final, err := c.Follow(answer, dns.TypeA); err != nil || len(final) != 1 {
			b.Fatal(final, err)
		}
	}
}
