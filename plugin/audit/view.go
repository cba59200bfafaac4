package audit

// What the request path reads of the zones: an apex's own records, and whether a name owns
// records beside its CNAME. Both come from the published snapshot, without locks.

import (
	"context"

	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/miekg/dns"
)

// Apex returns the records by type at name when name is the apex of one of the zones and holds a
// CNAME (beside SOA and NS alone, or other data too: the layout users bring from providers that
// flatten apex CNAMEs): its other types are answered from here, not with the CNAME. The records are the zone's own, never to
// be changed: replies get copies. The zone's serial is checked first (an in-memory SOA question),
// so answers follow every reload of the zone whatever the audit interval; a zone not read yet (the
// first audit runs in the background after start-up) is read at once, so that the first questions
// get the same answer as the later ones.
func (a *Auditor) Apex(ctx context.Context, name string) map[uint16][]dns.RR {
	lower := chain.Lower(name) // zones are read by their names in lower case
	z := a.snapshot().at(lower)
	if z == nil {
		z = a.apexNow(lower)
	}
	if z == nil || z.apex == nil {
		return nil
	}
	if a.serial != nil {
		if serial, ok := a.serial(ctx, z.origin); ok && serial != z.serial {
			if z = a.apexNow(z.origin); z == nil {
				return nil
			}
		}
	}
	return z.apex
}

// AliasApex reports whether name is the apex of a zone read (one of the zones, or one served below
// them) whose apex holds a CNAME: Apex answers its other types. From the snapshot alone: a zone not
// read yet is not known.
func (a *Auditor) AliasApex(name string) bool {
	z := a.snapshot().at(chain.Lower(name))
	return z != nil && z.apex != nil
}

// Owns reports whether name owns records other than its CNAME, or names below it: such a name
// exists whatever its CNAME leads to, so it is never answered NXDOMAIN (RFC 8020). Known only with
// Config.Owners.
func (a *Auditor) Owns(name string) bool { return a.snapshot().owns(name) }
