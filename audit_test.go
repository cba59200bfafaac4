package flatten

import (
	"testing"

	"github.com/coredns/coredns/plugin/test"
	"github.com/coredns/coredns/plugin/transfer"

	"github.com/miekg/dns"
)

// exactTransferer serves one zone, and only when asked for exactly that zone, as the file plugin
// does.
type exactTransferer struct {
	origin string
	rrs    []dns.RR
}

func (x exactTransferer) Transfer(zone string, serial uint32) (<-chan []dns.RR, error) {
	if zone != x.origin {
		return nil, transfer.ErrNotAuthoritative
	}
	ch := make(chan []dns.RR, 1)
	ch <- x.rrs
	close(ch)
	return ch, nil
}

// ZONES below a served zone are read from the enclosing zone, keeping only their own names.
func TestTransferBelowZone(t *testing.T) {
	soa := test.SOA("example.org. 3600 IN SOA ns1.example.org. hostmaster.example.org. 7 7200 3600 1209600 300")
	f := New([]string{"sub.example.org."})
	f.transferers = []transfer.Transferer{exactTransferer{origin: "example.org.", rrs: []dns.RR{
		soa,
		test.CNAME("www.example.org. 300 IN CNAME elsewhere.example.net."),
		test.CNAME("a.sub.example.org. 300 IN CNAME b.sub.example.org."),
		test.A("b.sub.example.org. 300 IN A 192.0.2.1"),
	}}}
	z, err := f.transfer("sub.example.org.", 0)
	if err != nil {
		t.Fatal(err)
	}
	if z.serial != 7 || z.zone.Origin != "sub.example.org." || len(z.zone.Records) != 2 {
		t.Fatalf("serial %d, origin %s, records %v; want serial 7 and the two records of sub.example.org.", z.serial, z.zone.Origin, z.zone.Records)
	}
	for _, rr := range z.zone.Records {
		if !dns.IsSubDomain("sub.example.org.", rr.Header().Name) {
			t.Errorf("record outside sub.example.org.: %s", rr)
		}
	}
	// Nothing serves a zone that encloses this one.
	if _, err := f.transfer("example.com.", 0); err != transfer.ErrNotAuthoritative {
		t.Errorf("example.com.: %v, want ErrNotAuthoritative", err)
	}
}
