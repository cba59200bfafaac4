package flatten

// The first step of a question: decide, from the question alone, what the plugin does with it.
// Pure: no I/O, no allocation; most questions leave here for the next plugin.

import (
	"github.com/dnsflatten/flatten/plugin/chain"

	"github.com/miekg/dns"
)

// action is what the plugin does with a question.
type action uint8

const (
	// pass: not the plugin's business; the next plugin answers, untouched.
	pass action = iota
	// passAddress: an address question outside the zones: passed on, unless it is a question the
	// plugin itself caused (see plugin/own).
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
	// apexOther: another type at a flattened apex, which the apex's own records may answer.
	apexOther
	// belowOther: another type at a flattened name below an apex of ZONES, which may be the apex
	// of a zone served below them (a root block's): answered as apexOther when it is one, passed
	// through as watch when not.
	belowOther
)

// policy is the configuration that decides.
type policy struct {
	zones   chain.Zones
	mode    Mode
	names   map[string]struct{} // Names mode
	aliases map[string]string   // declared aliases
	// probeFirst: with targets or ecs, a cold question starts with a CNAME question, which no
	// backend chases, so that no lookup of a name outside the zones allowed is ever sent, and
	// every target outside is looked up by the plugin, with the client's subnet.
	probeFirst bool
	// ecs and ecsClient are the ecs option (see plugin/target's ecs.go).
	ecs, ecsClient bool
}

func newPolicy(cfg config) *policy {
	return &policy{zones: cfg.zones, mode: cfg.mode, names: cfg.names, aliases: cfg.aliases,
		probeFirst: cfg.ecs || len(cfg.targets) > 0, ecs: cfg.ecs, ecsClient: cfg.ecsClient}
}

// passesFirst reports whether a question of type qtype at a name not known to be an alias goes
// down the chain before anything else is done for it: in all mode, where most names are no alias,
// unless the name must be probed first (probeFirst, or ANY, whose answer needs two chains).
func (p *policy) passesFirst(qtype uint16) bool {
	return p.mode == All && !p.probeFirst && qtype != dns.TypeANY
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
		if target, ok := p.aliases[chain.Lower(q.Name)]; ok {
			if chain.Flattened(q.Qtype) {
				return flattenAlias, target
			}
			if !chain.Native(q.Qtype) {
				return aliasOther, target
			}
			return pass, ""
		}
	}
	zone := p.zones.Match(q.Name)
	if zone == "" {
		if chain.Flattened(q.Qtype) {
			return passAddress, ""
		}
		return pass, ""
	}
	if chain.Flattened(q.Qtype) && p.flattens(q.Name, zone) {
		return flattenName, ""
	}
	if !chain.Native(q.Qtype) && p.flattens(q.Name, zone) {
		if len(zone) == len(q.Name) {
			return apexOther, ""
		}
		return belowOther, "" // all and names modes: apex mode flattens apexes alone
	}
	return watch, ""
}

// flattens reports whether a CNAME at name (inside zone) is flattened.
func (p *policy) flattens(name, zone string) bool {
	switch p.mode {
	case Apex:
		return len(name) == len(zone) // name is inside zone, so this is the apex
	case Names:
		_, ok := p.names[chain.Lower(name)]
		return ok
	default:
		return true
	}
}
