package rules

// One record's data turned into a dns.RR: the common types directly, the rest through miekg/dns.

import (
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// item is one record as the first pass over a zone file read it: owner, TTL, class and type are
// known; its data (tokens from, to in its batch) is turned into a dns.RR by build, which may run
// on another goroutine.
type item struct {
	hdr      dns.RR_Header
	at       *place
	line     int32
	seq      int32 // order of the entry in the zone, for the problems' order
	from, to int32
	rr       dns.RR // already built (an SOA read early for its minimum TTL)
}

// place is the origin and file of the records that follow.
type place struct {
	origin, file string
}

// problem is a record that could not be read.
type problem struct {
	seq   int
	owner string
	file  string
	line  int
	text  string // the record as written, or what of it was read
	msg   string
}

// build turns the item's data into a record, or says why it cannot (and on which line).
func (it *item) build(toks []token) (dns.RR, string, int) {
	if it.rr != nil {
		return it.rr, "", 0
	}
	h := it.hdr
	line := int(it.line)
	if metaTypes[h.Rrtype] {
		return nil, typeName(h.Rrtype) + " is a meta type, which exists only in messages, never in a zone (RFC 6895 3.1)", line
	}
	if len(toks) == 0 {
		if h.Rrtype == dns.TypeAPL { // an empty address prefix list (RFC 3123 section 4)
			return &dns.APL{Hdr: h}, "", 0
		}
		return nil, "no data after the type " + typeName(h.Rrtype) + " (unexpected end of input)", line
	}
	generic := !toks[0].quoted && toks[0].text == `\#`
	if generic && h.Rrtype == dns.TypeTXT && (len(toks) == 1 || !isDecimal(toks[1].text)) {
		// BIND reads a TXT record's \# not followed by a length as text, not as RFC 3597's
		// marker; miekg/dns refuses it.
		toks = append([]token{{text: `\#`, quoted: true, line: toks[0].line}}, toks[1:]...)
		generic = false
	}
	_, parser := dns.TypeToRR[h.Rrtype]
	if !generic {
		if rr := fast(h, toks, it.at.origin); rr != nil {
			return rr, "", 0
		}
		if !parser {
			// A type miekg/dns cannot read (WKS, NSAP, A6, SINK, DOA, ...): kept as an opaque
			// record of its type, so that the name holds data.
			return &dns.RFC3597{Hdr: h}, "", 0
		}
		toks = workaround(h.Rrtype, toks)
	}
	return parseRR(h, toks, it.at.origin, parser && !generic, line)
}

func isDecimal(s string) bool {
	if s == "" {
		return false
	}
	for i := range len(s) {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// fast builds the most common records without the miekg/dns parser, or returns nil to leave them
// to it (which then also gives the error message).
func fast(h dns.RR_Header, toks []token, origin string) dns.RR {
	for _, t := range toks {
		if t.quoted {
			return nil
		}
	}
	switch h.Rrtype {
	case dns.TypeA:
		if len(toks) == 1 {
			if a, err := netip.ParseAddr(toks[0].text); err == nil && a.Is4() {
				b := a.As4()
				return &dns.A{Hdr: h, A: net.IP(append(make([]byte, 0, 4), b[:]...))}
			}
		}
	case dns.TypeAAAA:
		if len(toks) == 1 && strings.Contains(toks[0].text, ":") {
			if a, err := netip.ParseAddr(toks[0].text); err == nil && a.Is6() && a.Zone() == "" {
				b := a.As16()
				return &dns.AAAA{Hdr: h, AAAA: net.IP(append(make([]byte, 0, 16), b[:]...))}
			}
		}
	case dns.TypeCNAME, dns.TypeNS, dns.TypePTR, dns.TypeDNAME:
		if len(toks) != 1 {
			return nil
		}
		name, ok := absName(toks[0].text, origin)
		if !ok {
			return nil
		}
		switch h.Rrtype {
		case dns.TypeCNAME:
			return &dns.CNAME{Hdr: h, Target: name}
		case dns.TypeNS:
			return &dns.NS{Hdr: h, Ns: name}
		case dns.TypePTR:
			return &dns.PTR{Hdr: h, Ptr: name}
		default:
			return &dns.DNAME{Hdr: h, Target: name}
		}
	case dns.TypeMX:
		if len(toks) != 2 || !isDecimal(toks[0].text) {
			return nil
		}
		pref, err := strconv.ParseUint(toks[0].text, 10, 16)
		name, ok := absName(toks[1].text, origin)
		if err != nil || !ok {
			return nil
		}
		return &dns.MX{Hdr: h, Preference: uint16(pref), Mx: name}
	}
	return nil
}

// absName makes name absolute as miekg/dns's parser does: @ is the origin, a name without a
// trailing dot is relative to it.
func absName(name, origin string) (string, bool) {
	if name == "@" {
		return origin, origin != ""
	}
	if _, ok := dns.IsDomainName(name); !ok || name == "" {
		return "", false
	}
	if dns.IsFqdn(name) {
		return name, true
	}
	switch origin {
	case "":
		return "", false
	case ".":
		return name + ".", true
	}
	return name + "." + origin, true
}

// workaround rewrites valid data that miekg/dns v1.1.73 refuses into a form it reads.
func workaround(t uint16, toks []token) []token {
	switch t {
	case dns.TypeLOC:
		// RFC 1876 lets minutes and seconds be left out; miekg/dns refuses degrees and minutes
		// without seconds. Write both out.
		var out []token
		rest := toks
		for _, hemi := range []string{"NnSs", "EeWw"} {
			i := 0
			for i < len(rest) && i < 4 && (len(rest[i].text) != 1 || !strings.Contains(hemi, rest[i].text)) {
				i++
			}
			if i == 0 || i > 3 || i >= len(rest) {
				return toks
			}
			out = append(out, rest[:i]...)
			for j := i; j < 3; j++ {
				out = append(out, token{text: "0", line: rest[i].line})
			}
			out = append(out, rest[i])
			rest = rest[i+1:]
		}
		return append(out, rest...)
	case dns.TypeGPOS, dns.TypeX25:
		// GPOS fields (RFC 1712) and the X25 address (RFC 1183) are character strings, which
		// may be quoted; miekg/dns reads only bare ones.
		out := make([]token, len(toks))
		for i, tk := range toks {
			if tk.quoted && tk.text != "" && !strings.ContainsAny(tk.text, " \t\\;()") {
				tk.quoted = false
			}
			out[i] = tk
		}
		return out
	case dns.TypeNID, dns.TypeL64:
		// RFC 6742 writes the 64 bits as four groups of hex digits, with leading zeros that
		// may be left out as in IPv6 (BIND reads 14:4fff:ff20:ee64); miekg/dns wants four
		// digits a group.
		if len(toks) == 2 {
			groups := strings.Split(toks[1].text, ":")
			if len(groups) == 4 {
				for i, g := range groups {
					if g == "" || len(g) > 4 {
						return toks
					}
					groups[i] = strings.Repeat("0", 4-len(g)) + g
				}
				return []token{toks[0], {text: strings.Join(groups, ":"), line: toks[1].line}}
			}
		}
	}
	return toks
}

// parseRR reads one record with the miekg/dns parser, from its fields written out on one line.
// Types the parser knows by name are written by name; others as TYPEnnn (their data is then in
// RFC 3597's \# form).
func parseRR(h dns.RR_Header, toks []token, origin string, byName bool, line int) (dns.RR, string, int) {
	var b strings.Builder
	b.Grow(len(h.Name) + 32 + 16*len(toks))
	b.WriteString(h.Name)
	b.WriteByte(' ')
	b.WriteString(strconv.FormatUint(uint64(h.Ttl), 10))
	b.WriteByte(' ')
	if c, ok := dns.ClassToString[h.Class]; ok {
		b.WriteString(c)
	} else {
		b.WriteString("CLASS" + strconv.Itoa(int(h.Class)))
	}
	b.WriteByte(' ')
	if name, ok := dns.TypeToString[h.Rrtype]; ok && byName {
		b.WriteString(name)
	} else {
		b.WriteString("TYPE" + strconv.Itoa(int(h.Rrtype)))
	}
	starts := make([]int, len(toks))
	for i, t := range toks {
		if i == 0 || !t.glued { // as written: a key and its quoted value are one field
			b.WriteByte(' ')
		}
		starts[i] = b.Len()
		if t.quoted {
			b.WriteByte('"')
			b.WriteString(t.text)
			b.WriteByte('"')
		} else {
			b.WriteString(t.text)
		}
	}
	b.WriteByte('\n')
	zp := dns.NewZoneParser(strings.NewReader(b.String()), origin, "")
	rr, _ := zp.Next()
	if err := zp.Err(); err != nil {
		msg, col := parseErrorText(err)
		switch {
		case strings.HasPrefix(msg, ":") && (h.Rrtype == dns.TypeSVCB || h.Rrtype == dns.TypeHTTPS):
			// miekg/dns drops the text of a SvcParam value's error
			msg = "cannot read the " + typeName(h.Rrtype) + " SvcParams: a value is missing or wrong for its key (RFC 9460 2.1, 7)" + strings.TrimPrefix(msg, ":")
		case strings.HasPrefix(msg, ":"): // miekg/dns gives some errors no text (IPSECKEY, AMTRELAY)
			msg = "cannot read the " + typeName(h.Rrtype) + " data, short of a field"
		}
		// The line of the token the parser stopped at.
		for i, start := range slices.Backward(starts) {
			if col > start {
				line = toks[i].line
				break
			}
		}
		return nil, msg, line
	}
	if rr == nil {
		return nil, "no record", line
	}
	if msg := svcbProblem(rr); msg != "" {
		return nil, msg, line
	}
	return rr, "", 0
}

// parseErrorText is a miekg/dns parse error's message without its position, and the column it gives.
func parseErrorText(err error) (string, int) {
	s := strings.TrimPrefix(err.Error(), "dns: ")
	col := 0
	if i := strings.LastIndex(s, " at line: "); i >= 0 {
		if _, c, ok := strings.Cut(s[i+len(" at line: "):], ":"); ok {
			col, _ = strconv.Atoi(c)
		}
		s = s[:i]
	}
	return s, col
}
