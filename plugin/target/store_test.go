package target

import (
	"strconv"
	"testing"

	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/miekg/dns"
)

func TestCacheBound(t *testing.T) {
	s := newStore(2000)
	for i := range 100_000 {
		s.put(&Entry{Answer: chain.Answer{Name: "n" + strconv.Itoa(i) + ".example.org.", Qtype: dns.TypeA}})
	}
	if n := s.len(); n > 2048 {
		t.Errorf("cache of size 2000 holds %d entries", n)
	}
	e := &Entry{Answer: chain.Answer{Name: "Last.Example.org.", Qtype: dns.TypeA}}
	s.put(e)
	if s.get("last.example.ORG.", dns.TypeA, nil) != e || s.get("last.example.org.", dns.TypeAAAA, nil) != nil {
		t.Error("lookup by name and type, ignoring case, failed")
	}
}
