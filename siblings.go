package flatten

// An apex that holds a CNAME beside other data (MX, TXT, ...: the layout users bring from
// providers that flatten apex CNAMEs) is answered from the zone's own records for those types, not
// with the CNAME that the file plugin gives for every type. The records come from the audit's
// snapshot (read at once when the first audit has not yet run); a question first checks the zone's serial (an in-memory SOA question), so answers
// follow every reload of the zone whatever the audit interval.

import (
	"context"

	"github.com/miekg/dns"
)

// siblings answers a question for another type at an apex.
func (f *Flatten) siblings(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	q := r.Question[0]
	z := f.audit.snapshot().zone(q.Name)
	if z == nil || !equalFold(z.origin, q.Name) {
		// Not read yet (the first audit runs in the background after start-up): read the apex
		// now, so the first questions get the same answer as the later ones.
		z = f.audit.apexNow(lowerASCII(q.Name)) // zones are read by their names in lower case
	}
	if z == nil || z.apex == nil {
		return f.watch(ctx, w, r)
	}
	if serial, ok := f.serial(ctx, z.origin); ok && serial != z.serial {
		if z = f.audit.apexNow(z.origin); z == nil || z.apex == nil {
			return f.watch(ctx, w, r)
		}
	}
	var soa *dns.SOA
	if s := z.apex[dns.TypeSOA]; len(s) > 0 {
		soa, _ = s[0].(*dns.SOA)
	}
	return f.write(ctx, w, r, sibling(r, z.apex[q.Qtype], z.apex[dns.TypeRRSIG], soa))
}

// serial returns the serial the zone's plugin serves for origin now.
func (f *Flatten) serial(ctx context.Context, origin string) (uint32, bool) {
	m, err := f.chase.lookups.askNext(ctx, origin, dns.TypeSOA)
	if err != nil || m == nil {
		return 0, false
	}
	for _, rr := range m.Answer {
		if soa, ok := rr.(*dns.SOA); ok {
			return soa.Serial, true
		}
	}
	return 0, false
}
