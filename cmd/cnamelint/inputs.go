package main

// The zones to check, read from files, a Corefile's file plugins, or zone transfers. An input that
// cannot be read is reported and the others are still read.

import (
	"strings"

	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
)

// source is one zone to read: a file with the origin given, if any, or a zone to transfer.
type source struct {
	path, origin string
	server       string // a transfer from this server; path is then SERVER/ZONE
}

// inputError is an input that could not be read, or a setting that kept a check from running.
type inputError struct {
	file string // "" for what concerns no file
	err  error
}

// loaded is what was read: the zones, each with the name of its source (the file, or SERVER/ZONE),
// the aliases declared in a Corefile, and what could not be read.
type loaded struct {
	zones   []rules.Zone
	names   []string
	aliases map[string]string
	errs    []inputError
	// transfers holds the names of the zones read by transfer, given or not.
	transfers map[string]bool
}

// load reads every source the options name, in order: the files (or the transfers), then the
// Corefile's zones. A source given twice is read once.
func load(o *options) *loaded {
	l := &loaded{transfers: map[string]bool{}}
	var srcs []source
	for _, arg := range o.args {
		if o.axfr != "" {
			zone := dns.CanonicalName(arg)
			srcs = append(srcs, source{path: transferName(o.axfr, zone), origin: zone, server: o.axfr})
			continue
		}
		path, origin := arg, ""
		if i := strings.LastIndexByte(arg, ':'); i > 0 {
			path, origin = arg[:i], arg[i+1:]
		}
		srcs = append(srcs, source{path: path, origin: origin})
	}
	if o.corefile != "" {
		fromCorefile, declared, err := readCorefile(o.corefile)
		if err != nil {
			l.errs = append(l.errs, inputError{file: o.corefile, err: err})
		}
		l.aliases = declared
		for _, z := range fromCorefile {
			srcs = append(srcs, source{path: z.path, origin: z.origin})
		}
	}
	seen := map[source]bool{}
	for _, s := range srcs {
		key := s
		if s.origin != "" { // "" (the file's own origin) is not "." (the root's)
			key.origin = dns.CanonicalName(s.origin)
		}
		if seen[key] {
			continue
		}
		seen[key] = true
		var (
			z   rules.Zone
			err error
		)
		if s.server != "" {
			l.transfers[s.path] = true
			z, err = transfer(s.server, s.origin, s.path, o.tsig)
		} else {
			z, err = rules.ParseZoneFile(s.path, s.origin)
		}
		if err != nil {
			l.errs = append(l.errs, inputError{file: s.path, err: err})
			continue
		}
		l.zones, l.names = append(l.zones, z), append(l.names, s.path)
	}
	return l
}

// zoneOf returns the index of the zone that holds owner, the deepest whose origin is at or above
// it, or -1.
func zoneOf(owner string, zones []rules.Zone) int {
	at := -1
	for i, z := range zones {
		if dns.IsSubDomain(z.Origin, owner) && (at < 0 || len(z.Origin) > len(zones[at].Origin)) {
			at = i
		}
	}
	return at
}

// fileOf returns the name of the zone that holds owner ("" for none).
func fileOf(owner string, zones []rules.Zone, names []string) string {
	if i := zoneOf(owner, zones); i >= 0 {
		return names[i]
	}
	return ""
}
