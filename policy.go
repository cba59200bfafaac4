package flatten

// Stage 1 of a question: decide, from the question alone, what the plugin does with it. Pure: no
// I/O, no allocation; most questions leave here for the next plugin.

import (
	"slices"

	"github.com/miekg/dns"
)

// action is what the plugin does with a question.
type action uint8

const (
	// pass: not the plugin's business; the next plugin answers, untouched.
	pass action = iota
	// passAddress: an address question outside the zones: passed on, unless it is a question the
	// plugin itself caused (see nested.go).
	passAddress
	// watch: a name in the zones that is not flattened: passed through, and a dangling CNAME in
	// the answer is reported.
	watch
	// flattenName: a question of a flattened type at a name that is flattened when it is an alias.
	flattenName
	// flattenAlias: a question of a flattened type at a declared alias.
	flattenAlias
	// aliasOther: another type at a declared alias, which exists for every type.
	aliasOther
	// apexOther: another type at an apex, which the apex's own records may answer.
	apexOther
)

// policy is the configuration that decides.
type policy struct {
	zones   []string            // lower-case, fully qualified
	mode    Mode                //
	names   map[string]struct{} // Names mode
	aliases map[string]string   // declared aliases
	// maxChain is max_chain; allowed, with targets, the zones a chain may reach (nil: any).
	maxChain int
	allowed  []string
	// probeFirst: with targets or ecs, a cold question starts with a CNAME question, which no
	// backend chases, so that no lookup of a name outside the zones allowed is ever sent, and
	// every target outside is looked up by the plugin, with the client's subnet.
	probeFirst bool
	// ecs and ecsClient are the ecs option (see ecs.go).
	ecs, ecsClient bool
}

func newPolicy(cfg config) *policy {
	p := &policy{zones: cfg.zones, mode: cfg.mode, names: cfg.names, aliases: cfg.aliases, maxChain: cfg.maxChain,
		probeFirst: cfg.ecs || len(cfg.targets) > 0, ecs: cfg.ecs, ecsClient: cfg.ecsClient}
	if len(cfg.targets) > 0 {
		p.allowed = append(slices.Clone(cfg.zones), cfg.targets...)
	}
	return p
}

// chain starts c, the chain of a question for qname.
func (p *policy) chain(c *chain, qname string) {
	c.start(qname, p.maxChain)
	c.allowed, c.inZones = p.allowed, len(p.zones)
}

// decide returns what to do with r and, for a declared alias, its target. Only ordinary queries
// (opcode QUERY, one question, class IN) are ever touched: NOTIFY, UPDATE and the rest go to the
// next plugin untouched.
func (p *policy) decide(r *dns.Msg) (action, string) {
	if r.Opcode != dns.OpcodeQuery || len(r.Question) != 1 || r.Question[0].Qclass != dns.ClassINET {
		return pass, ""
	}
	q := r.Question[0]
	if len(p.aliases) > 0 {
		if target, ok := p.aliases[lowerASCII(q.Name)]; ok {
			if flattenedType(q.Qtype) {
				return flattenAlias, target
			}
			if !nativeType(q.Qtype) {
				return aliasOther, target
			}
			return pass, ""
		}
	}
	zone := p.zone(q.Name)
	if zone == "" {
		if flattenedType(q.Qtype) {
			return passAddress, ""
		}
		return pass, ""
	}
	if flattenedType(q.Qtype) && p.flattens(q.Name, zone) {
		return flattenName, ""
	}
	if !nativeType(q.Qtype) && len(zone) == len(q.Name) {
		return apexOther, ""
	}
	return watch, ""
}

// zone returns the plugin's zone that holds name, or "".
func (p *policy) zone(name string) string {
	best := ""
	for _, z := range p.zones {
		if len(z) > len(best) && inZone(name, z) {
			best = z
		}
	}
	return best
}

// flattens reports whether a CNAME at name (inside zone) is flattened.
func (p *policy) flattens(name, zone string) bool {
	switch p.mode {
	case Apex:
		return len(name) == len(zone) // name is inside zone, so this is the apex
	case Names:
		_, ok := p.names[lowerASCII(name)]
		return ok
	default:
		return true
	}
}

// isApex reports whether name is the apex of one of the plugin's zones.
func (p *policy) isApex(name string) bool {
	z := p.zone(name)
	return z != "" && len(z) == len(name)
}

// flattenedType reports whether questions of type t at an alias are answered with the records the
// chain ends in: A and AAAA; HTTPS and SVCB, which browsers ask beside them (RFC 9460); and ANY,
// which gets the addresses (as PowerDNS answers ANY at an ALIAS).
func flattenedType(t uint16) bool {
	switch t {
	case dns.TypeA, dns.TypeAAAA, dns.TypeHTTPS, dns.TypeSVCB, dns.TypeANY:
		return true
	}
	return false
}

// nativeType reports whether questions of type t at an apex or declared alias are answered by the
// zone's plugin as usual: the CNAME itself, the apex's own SOA and NS, DNSSEC types and transfers.
func nativeType(t uint16) bool {
	switch t {
	case dns.TypeCNAME, dns.TypeSOA, dns.TypeNS, dns.TypeRRSIG, dns.TypeNSEC, dns.TypeNSEC3,
		dns.TypeNSEC3PARAM, dns.TypeDNSKEY, dns.TypeDS, dns.TypeAXFR, dns.TypeIXFR:
		return true
	}
	return flattenedType(t)
}
