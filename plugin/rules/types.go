package rules

// Type and class mnemonics, and TTLs, as BIND reads them in zone files.

import (
	"strconv"
	"strings"

	"github.com/miekg/dns"
)

// extraTypes are the IANA type mnemonics that BIND reads and miekg/dns does not know: records of
// these types are kept as opaque records of their type (RFC 3597), so that their owner names
// exist for the rules.
var extraTypes = map[string]uint16{
	"WKS": 11, "NSAP": 22, "A6": 38, "SINK": 40, "DSYNC": 66, "HHIT": 67, "BRID": 68,
	"DOA": 259, "WALLET": 262, "CLA": 263, "IPN": 264,
}

// metaTypes exist only in messages (RFC 6895 section 3.1), never in a zone.
var metaTypes = map[uint16]bool{
	dns.TypeOPT: true, dns.TypeTKEY: true, dns.TypeTSIG: true, dns.TypeIXFR: true, dns.TypeAXFR: true,
	dns.TypeMAILA: true, dns.TypeMAILB: true, dns.TypeANY: true,
}

// typeOf reads a type mnemonic or its RFC 3597 form TYPEnnn.
func typeOf(s string) (uint16, bool) {
	if t, ok := dns.StringToType[s]; ok {
		return t, true
	}
	u := strings.ToUpper(s)
	if t, ok := dns.StringToType[u]; ok {
		return t, true
	}
	if t, ok := extraTypes[u]; ok {
		return t, true
	}
	if n, ok := strings.CutPrefix(u, "TYPE"); ok {
		if t, err := strconv.ParseUint(n, 10, 16); err == nil {
			return uint16(t), true
		}
	}
	return 0, false
}

// classOf reads a class mnemonic or its RFC 3597 form CLASSnnn.
func classOf(s string) (uint16, bool) {
	if c, ok := dns.StringToClass[s]; ok {
		return c, true
	}
	u := strings.ToUpper(s)
	if c, ok := dns.StringToClass[u]; ok {
		return c, true
	}
	if n, ok := strings.CutPrefix(u, "CLASS"); ok {
		if c, err := strconv.ParseUint(n, 10, 16); err == nil {
			return uint16(c), true
		}
	}
	return 0, false
}

// typeName is the mnemonic of t, or TYPEnnn.
func typeName(t uint16) string {
	if s, ok := dns.TypeToString[t]; ok {
		return s
	}
	for s, v := range extraTypes {
		if v == t {
			return s
		}
	}
	return "TYPE" + strconv.Itoa(int(t))
}

// parseTTL reads a TTL as BIND does: seconds, or a sum of numbers with the units w, d, h, m, s
// (1h30m), in either case.
func parseTTL(s string) (uint32, bool) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	var total, cur uint64
	digits := false
	for i := range len(s) {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
			cur = cur*10 + uint64(c-'0')
			digits = true
		case digits:
			var unit uint64
			switch c | 0x20 {
			case 's':
				unit = 1
			case 'm':
				unit = 60
			case 'h':
				unit = 3600
			case 'd':
				unit = 86400
			case 'w':
				unit = 604800
			default:
				return 0, false
			}
			total += cur * unit
			cur, digits = 0, false
		default:
			return 0, false
		}
		if cur > 1<<32 || total > 1<<32 {
			return 0, false
		}
	}
	total += cur
	if total > 1<<32-1 {
		return 0, false
	}
	return uint32(total), true
}
