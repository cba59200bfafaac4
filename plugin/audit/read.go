package audit

// Reading the plugin's zones from the server block's plugins that can hand zones over (file, auto,
// secondary, kubernetes, ...: CoreDNS's transfer.Transferer), without any transfer directive and
// without exposing anything to clients.

import (
	"cmp"
	"errors"
	"math"
	"math/bits"
	"reflect"
	"slices"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/auto"
	"github.com/coredns/coredns/plugin/file"
	"github.com/coredns/coredns/plugin/file/tree"
	"github.com/coredns/coredns/plugin/transfer"
	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/miekg/dns"
)

// zoneRead is one zone as read: its serial and records (nil when the serial was unchanged), and
// whether they are only a part of its names (a kubernetes zone, see kube.go). The audit keeps no
// records of a zone between checks, only its count, the size to read it into the next time.
type zoneRead struct {
	serial  uint32
	records []dns.RR
	partial bool
	count   int
	// print is the records' fingerprint (what the rules read of them), or 0 for a partial zone.
	print uint64
}

// readZone reads zone origin from the first Transferer that serves it or, when none does, the part
// of an enclosing zone that one serves: ZONES may name a part of a zone, such as a Kubernetes
// namespace, prod.svc.cluster.local, whose records are in the kubernetes plugin's cluster.local.
// With a serial, a zone whose serial is unchanged comes back without records. hint is how many
// records the zone had when last read.
func readZone(trs []transfer.Transferer, origin string, serial uint32, hint int) (zoneRead, error) {
	// origin and its ancestors, innermost first.
	var names []string
	for i, end := 0, false; !end; i, end = dns.NextLabel(origin, i) {
		names = append(names, origin[i:])
	}
	for _, tr := range trs {
		order := names
		if _, ok := tr.(plugin.ServiceBackend); ok {
			// Service backends (kubernetes, etcd) accept any name below their zones and build the
			// records' names from the one asked for; only their own zone gives the right names.
			order = slices.Clone(names)
			slices.Reverse(order)
		}
		for _, zone := range order {
			z, err := transferZone(tr, zone, origin, serial, hint)
			if !errors.Is(err, transfer.ErrNotAuthoritative) {
				return z, err
			}
		}
	}
	return zoneRead{}, transfer.ErrNotAuthoritative
}

// transferZone reads zone from tr and keeps the records at and below origin, into room for hint
// records (doubled when the zone has grown: append's own growth of a large slice, by a quarter,
// would allocate five times the zone's size on the way). The channel is always drained, so the
// Transferer's goroutine ends.
func transferZone(tr transfer.Transferer, zone, origin string, serial uint32, hint int) (zoneRead, error) {
	f, isFile := tr.(file.File)
	if isFile && hint == 0 {
		hint = fileNames(f, zone) // a zone read the first time: most names own one record
	}
	rrs := make([]dns.RR, 0, hint+hint/64)
	add := func(batch []dns.RR) {
		if len(rrs)+len(batch) > cap(rrs) {
			rrs = slices.Grow(rrs, max(len(batch), cap(rrs), 1024))
		}
		rrs = append(rrs, batch...)
	}
	if isFile {
		// file's own zones are read as its Transfer reads them, without a channel send and a
		// slice for every name: at a million records that was a third of the audit.
		if err := fileRecords(f, zone, serial, add); err != nil {
			return zoneRead{}, err
		}
	} else {
		ch, err := tr.Transfer(zone, serial)
		if err != nil {
			return zoneRead{}, err
		}
		for batch := range ch {
			add(batch)
		}
	}
	var z zoneRead
	if len(rrs) > 0 {
		if soa, ok := rrs[0].(*dns.SOA); ok {
			z.serial = soa.Serial
		}
	}
	if len(rrs) <= 1 && serial != 0 {
		return z, nil // only the SOA: unchanged
	}
	if zone != origin {
		kept := rrs[:0]
		for _, rr := range rrs {
			if dns.IsSubDomain(origin, rr.Header().Name) {
				kept = append(kept, rr)
			}
		}
		rrs = kept
	}
	// A transfer ends with the SOA it started with (RFC 5936 section 2.2).
	if n := len(rrs); n > 1 && rrs[n-1].Header().Rrtype == dns.TypeSOA && rrs[0].Header().Rrtype == dns.TypeSOA {
		rrs = rrs[:n-1]
	}
	inMemoryOrder(rrs)
	z.records = rrs
	if z.records == nil {
		z.records = []dns.RR{} // read, and empty: not "unchanged"
	}
	return z, nil
}

// inMemoryOrder puts rrs in the order their records lie in memory. A zone plugin's records are
// allocated as its parser read them, and its transfer gives them in its tree's order, which
// scatters them: every pass of the audit over a million records in the tree's order waited on the
// memory for nearly each one, and the check cost 1.7 x what it costs over the same records in
// memory order, sorting included. The rules sort their findings and fingerprint sums its records'
// hashes, so neither shows the order; the serial's SOA, which a transfer gives first, has been read
// before. Where a finding quotes one record of several of a name and type (two CNAMEs at a name,
// the first NS of a lame delegation), it is the one the parser allocated first: the first in the
// zone file, unless the allocator started a new span between the two.
func inMemoryOrder(rrs []dns.RR) {
	if len(rrs) < 2 {
		return
	}
	// Each record's key is its offset from the lowest and its place in rrs, in one word: a third of
	// the memory a copy of the records would take, and nothing in it for the collector to scan.
	keys := make([]uint64, len(rrs))
	lo, hi := uint64(math.MaxUint64), uint64(0)
	for i, rr := range rrs {
		keys[i] = uint64(at(rr))
		lo, hi = min(lo, keys[i]), max(hi, keys[i])
	}
	shift := bits.Len(uint(len(rrs)))
	if bits.Len64(hi-lo)+shift > 63 { // a heap wider than the word holds: the slow sort
		slices.SortFunc(rrs, func(x, y dns.RR) int { return cmp.Compare(at(x), at(y)) })
		return
	}
	for i := range keys {
		keys[i] = (keys[i]-lo)<<shift | uint64(i)
	}
	slices.Sort(keys)
	// Move each record to its place, one cycle of the permutation at a time, marking each place
	// filled in its key's top bit.
	const done = 1 << 63
	place := uint64(1)<<shift - 1
	for start := range keys {
		if keys[start]&done != 0 {
			continue
		}
		first, i := rrs[start], start
		for {
			from := int(keys[i] & place) // #nosec G115 -- a place in rrs, below len(rrs)
			keys[i] |= done
			if from == start {
				rrs[i] = first
				break
			}
			rrs[i], i = rrs[from], from
		}
	}
}

// at is where rr lies in memory: every dns.RR is a pointer, and Go's collector moves nothing.
func at(rr dns.RR) uintptr { return reflect.ValueOf(rr).Pointer() }

// fileRecords hands add the records of file's zone as its Transfer sends them (file/xfr.go): the
// apex (SOA, its signatures, NS, their signatures), every other name in the zone's tree, the SOA
// again; only the SOA when the zone's serial is serial. Like Transfer, it takes the zone's tree
// under the zone's lock and walks it after: file replaces a zone's tree on reload, never changes
// one.
func fileRecords(f file.File, zone string, serial uint32, add func([]dns.RR)) error {
	z, ok := f.Z[zone]
	if !ok || z == nil {
		return transfer.ErrNotAuthoritative
	}
	z.RLock()
	ap, t := z.Apex, z.Tree
	z.RUnlock()
	if ap.SOA == nil {
		return errors.New("zone " + zone + " is not loaded")
	}
	if serial != 0 && ap.SOA.Serial == serial {
		add([]dns.RR{ap.SOA})
		return nil
	}
	add([]dns.RR{ap.SOA})
	add(ap.SIGSOA)
	add(ap.NS)
	add(ap.SIGNS)
	if t != nil {
		_ = t.Walk(func(_ *tree.Elem, m map[uint16][]dns.RR) error {
			for _, rrs := range m {
				add(rrs)
			}
			return nil
		})
	}
	add([]dns.RR{ap.SOA})
	return nil
}

// fileNames is how many names file's zone has (its tree's count, and the apex), 0 for a zone it
// does not serve.
func fileNames(f file.File, zone string) int {
	z, ok := f.Z[zone]
	if !ok || z == nil {
		return 0
	}
	z.RLock()
	t := z.Tree
	z.RUnlock()
	if t == nil {
		return 0
	}
	return t.Count + 1
}

// readApex reads the records at the apex of zone origin: a transfer starts with the apex (the SOA,
// then the apex's other records), so reading stops at the first other name, and the rest of the
// transfer is drained in the background so the Transferer's goroutine ends.
func readApex(trs []transfer.Transferer, origin string) (zoneRead, error) {
	for _, tr := range trs {
		if _, ok := tr.(plugin.ServiceBackend); ok {
			continue // no apex layouts to serve there
		}
		ch, err := tr.Transfer(origin, 0)
		if errors.Is(err, transfer.ErrNotAuthoritative) {
			continue
		}
		if err != nil {
			return zoneRead{}, err
		}
		var z zoneRead
	read:
		for batch := range ch {
			for _, rr := range batch {
				if !chain.Equal(rr.Header().Name, origin) {
					break read
				}
				if soa, ok := rr.(*dns.SOA); ok && z.serial == 0 {
					z.serial = soa.Serial
				}
				z.records = append(z.records, rr)
			}
		}
		go func() {
			for range ch {
			}
		}()
		if n := len(z.records); n > 1 && z.records[n-1].Header().Rrtype == dns.TypeSOA {
			z.records = z.records[:n-1]
		}
		return z, nil
	}
	return zoneRead{}, transfer.ErrNotAuthoritative
}

// loadedZones are the zones the block's plugins that load zones (file, auto) serve now, spelled
// as they are (auto keeps its zone files' spelling, and its Transfer asks for it): auto's change
// as it finds zone files. Plugins that keep their names unexported or under a lock of their own
// (secondary's catalog zones) are not listed.
func loadedZones(handlers []plugin.Handler) []string {
	var names []string
	for _, h := range handlers {
		switch h := h.(type) {
		case file.File:
			names = append(names, h.Names...)
		case auto.Auto:
			if h.Zones != nil {
				names = append(names, h.Names()...)
			}
		}
	}
	slices.Sort(names)
	return slices.Compact(names)
}

// zonesBelow are the zones of loaded at or below zone, a zone that no plugin serves: with
// `flatten . { all }` no plugin serves the root, and the zones the block's file and auto plugins
// serve below it are audited in its place.
func zonesBelow(zone string, loaded []string) []string {
	var below []string
	for _, l := range loaded {
		if chain.In(l, zone) {
			below = append(below, l)
		}
	}
	return below
}
