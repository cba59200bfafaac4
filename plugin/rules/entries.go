package rules

// One record entry of a zone file: its owner, TTL, class and type.

import (
	"github.com/miekg/dns"
)

// header reads the TTL and class that may come, in either order, before the type; it returns the
// type's index in toks.
func header(toks []token, h *dns.RR_Header) (i int, explicitTTL bool) {
	h.Class = dns.ClassINET
	for ; i < 2 && i < len(toks)-1; i++ {
		if c, ok := classOf(toks[i].text); ok && !toks[i].quoted {
			h.Class = c
		} else if ttl, ok := parseTTL(toks[i].text); ok && !toks[i].quoted && !explicitTTL {
			h.Ttl, explicitTTL = ttl, true
		} else {
			break
		}
	}
	return i, explicitTTL
}

// record reads one record entry.
func (r *reader) record(toks []token, blank bool, file string, line int) {
	var owner string
	rest := toks
	if blank {
		if r.owner == "" {
			r.problem("", file, line, text(toks), "no owner name: the first record starts with a blank; the record is left out of the checks")
			return
		}
		owner = r.owner
	} else {
		rest = toks[1:]
		if r.origin == "" && !r.findOrigin(toks) {
			return
		}
		if toks[0].text == r.ownerTok && r.owner != "" {
			owner = r.owner
		} else {
			var ok bool
			if owner, ok = absName(toks[0].text, r.origin); !ok || toks[0].quoted {
				r.problem("", file, line, text(toks), "bad owner name "+toks[0].text+"; the record is left out of the checks")
				return
			}
			r.owner, r.ownerTok = owner, toks[0].text
		}
	}
	h := dns.RR_Header{Name: owner}
	i, explicitTTL := header(rest, &h)
	if i >= len(rest) {
		r.problem(owner, file, line, text(toks), "no type; the record is left out of the checks")
		return
	}
	t, ok := typeOf(rest[i].text)
	if !ok || rest[i].quoted {
		r.problem(owner, file, line, text(toks), "unknown RR type '"+rest[i].text+"'; the record is left out of the checks")
		return
	}
	h.Rrtype = t
	it := item{hdr: h, at: r.place(file), line: i32(line), seq: i32(r.seq)}
	if t == dns.TypeSOA && r.soaOwner == "" {
		r.soaOwner = owner
	}
	// The TTL of a record without one, as BIND gives it: the $TTL; without one, the minimum of an
	// SOA record that has no TTL either, from there on; or else (RFC 1035) the last TTL given.
	switch {
	case explicitTTL:
		if !r.ttlFixed {
			r.ttl, r.ttlKnown = h.Ttl, true
		}
	case r.ttlKnown:
		it.hdr.Ttl = r.ttl
	case t == dns.TypeSOA:
		rr, msg, at := it.build(rest[i+1:])
		if rr == nil {
			r.problem(owner, file, at, text(toks), msg+"; the record is left out of the checks")
			return
		}
		r.ttl, r.ttlKnown, r.ttlFixed = rr.(*dns.SOA).Minttl, true, true
		rr.Header().Ttl = r.ttl
		it.rr = rr
	default:
		r.problem(owner, file, line, text(toks), "no TTL, and neither a $TTL nor an earlier TTL or SOA record to take one from (BIND refuses the zone: no TTL specified)")
	}
	r.add(it, rest[i+1:])
}

// findOrigin sets the origin when the first owner name needs one and no $ORIGIN gave it: an SOA
// record's absolute owner, or else the zone name in the file's name.
func (r *reader) findOrigin(toks []token) bool {
	first := toks[0].text
	absolute := first != "@" && dns.IsFqdn(first)
	if absolute {
		var h dns.RR_Header
		if i, _ := header(toks[1:], &h); i+1 < len(toks) {
			if t, _ := typeOf(toks[1+i].text); t == dns.TypeSOA {
				r.origin = dns.Fqdn(first)
				return true
			}
		}
	}
	if o, ok := OriginFromFileName(r.top); ok {
		r.origin = o
		return true
	}
	if absolute {
		return true // relative names further on cannot be read, and will say so
	}
	r.fatal = noOrigin(r.top)
	return false
}

// place returns where records are read now.
func (r *reader) place(file string) *place {
	if r.at == nil || r.at.origin != r.origin || r.at.file != file {
		r.at = &place{origin: r.origin, file: file}
	}
	return r.at
}
