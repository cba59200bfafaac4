package rules

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"unsafe"

	"github.com/miekg/dns"
)

// ParseZone reads a zone in master file format (RFC 1035 section 5), as BIND reads it. When origin
// is "", the zone's origin is the owner of its SOA record, and relative names before the first
// $ORIGIN are taken relative to the first record's owner when that is an SOA with an absolute
// name, else to the zone name in filename (see OriginFromFileName); failing both, ParseZone says
// to name the origin as FILE:ORIGIN.
//
// A record that cannot be read does not stop the reading: it becomes a finding in Zone.Problems
// (rule unparsable-record, with file and line) and the rest of the zone is read. $INCLUDE files
// are read relative to the including file's directory and must lie below filename's directory.
// The error is for what leaves nothing to check: the input cannot be read, or there is no origin.
func ParseZone(r io.Reader, origin, filename string) (Zone, error) {
	b, err := io.ReadAll(r)
	if err != nil {
		return Zone{}, err
	}
	return parseZone(bytesString(b), origin, filename)
}

// ParseZoneFile reads the zone in the file at path (see ParseZone).
func ParseZoneFile(path, origin string) (Zone, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return Zone{}, err
	}
	return parseZone(bytesString(b), origin, path)
}

// bytesString is b as a string, without a copy: the zone's text is large, read once and never
// written, and the names read from it may keep it.
func bytesString(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	return unsafe.String(&b[0], len(b))
}

// maxIncludeDepth bounds nested $INCLUDE files (an include loop ends there).
const maxIncludeDepth = 8

// batchSize is the number of records a worker builds at a time.
const batchSize = 2048

// reader is the first pass over a zone: it follows the directives, owners and TTLs, in order, and
// hands the records' data to workers in batches.
type reader struct {
	top      string // the zone file's name, for origin inference and $INCLUDE
	given    string // the origin given, if any
	origin   string // the current $ORIGIN, absolute; "" while unknown
	soaOwner string // the first SOA's owner
	ttl      uint32 // the TTL of records without one, as BIND gives it (see record)
	ttlKnown bool
	ttlFixed bool   // set by $TTL or the SOA's minimum, not by the last record's TTL
	owner    string // the previous record's owner
	ownerTok string // and its text, to reuse owner for the same text
	depth    int
	root     *os.Root
	rootErr  error
	seq      int
	problems []problem
	at       *place
	cur      *batch
	batches  []*batch
	work     chan *batch
	wg       sync.WaitGroup
	fatal    error
}

// batch is a run of records built together.
type batch struct {
	*work
	rrs   []dns.RR
	probs []problem
}

// work is a batch's records to build, with their tokens; it goes back to a pool once built.
type work struct {
	items []item
	toks  []token
}

var works = sync.Pool{New: func() any {
	return &work{items: make([]item, 0, batchSize), toks: make([]token, 0, 4*batchSize)}
}}

func parseZone(src, origin, filename string) (Zone, error) {
	r := &reader{top: filename}
	if origin != "" {
		o, ok := absName(dns.Fqdn(origin), ".")
		if !ok {
			return Zone{}, fmt.Errorf("%s: bad origin %q", filename, origin)
		}
		r.origin, r.given = o, o
	}
	if workers := runtime.GOMAXPROCS(0); len(src) > 1<<20 && workers > 1 {
		r.work = make(chan *batch, 2*workers)
		for range workers {
			r.wg.Go(func() {
				for b := range r.work {
					b.build()
				}
			})
		}
	}
	r.file(src, filename)
	r.flush()
	if r.work != nil {
		close(r.work)
		r.wg.Wait()
	}
	if r.root != nil {
		r.root.Close()
	}
	if r.fatal != nil {
		return Zone{}, r.fatal
	}

	z := Zone{}
	n := 0
	for _, b := range r.batches {
		if r.work == nil {
			b.build()
		}
		n += len(b.rrs)
	}
	z.Records = make([]dns.RR, 0, n)
	probs := r.problems
	for _, b := range r.batches {
		z.Records = append(z.Records, b.rrs...)
		probs = append(probs, b.probs...)
	}
	switch {
	case r.given != "":
		z.Origin = r.given
	case r.soaOwner != "":
		z.Origin = r.soaOwner
	case r.origin != "":
		z.Origin = r.origin
	default:
		return Zone{}, noOrigin(filename)
	}
	z.Origin = dns.CanonicalName(z.Origin)
	slices.SortStableFunc(probs, func(a, b problem) int { return a.seq - b.seq })
	for _, p := range probs {
		z.Problems = append(z.Problems, p.finding(z.Origin))
	}
	return z, nil
}

func noOrigin(filename string) error {
	return fmt.Errorf("%s: no $ORIGIN before the first relative name and no zone name in the file name: name it as FILE:ORIGIN, e.g. %s:example.org", filename, filename)
}

// finding is the unparsable-record finding for p.
func (p problem) finding(origin string) Finding {
	owner := origin
	if p.owner != "" {
		owner = dns.CanonicalName(p.owner)
	}
	return Finding{Severity: Error, Rule: RuleUnparsable, Owner: owner, Record: p.text,
		RFC:     "RFC 1035 5.1",
		Message: fmt.Sprintf("%s:%d: %s", p.file, p.line, p.msg),
		Fix:     "correct the record; named-checkzone shows how BIND reads it"}
}

func (r *reader) problem(owner, file string, line int, text, msg string) {
	r.problems = append(r.problems, problem{seq: r.seq, owner: owner, file: file, line: line, text: text, msg: msg})
}

// text writes toks back as one line, for a finding.
func text(toks []token) string {
	var b strings.Builder
	for i, t := range toks {
		if i > 0 {
			b.WriteByte(' ')
		}
		if t.quoted {
			b.WriteString(`"` + t.text + `"`)
		} else {
			b.WriteString(t.text)
		}
	}
	return b.String()
}

// file reads the entries of one file (the zone's, or an included one).
func (r *reader) file(src, name string) {
	s := newScanner(src)
	var e entry
	for r.fatal == nil && s.next(&e) {
		r.seq++
		if e.err != "" {
			owner := ""
			if !e.blank && len(e.toks) > 0 {
				owner, _ = absName(e.toks[0].text, r.origin)
			}
			first := e.toks
			for i, t := range e.toks {
				if t.line != e.line {
					first = e.toks[:i] // what the broken entry took from the lines after it is theirs
					break
				}
			}
			r.problem(owner, name, e.line, text(first), e.err+"; the record is left out of the checks")
			continue
		}
		if !e.blank && strings.HasPrefix(e.toks[0].text, "$") && !e.toks[0].quoted {
			r.directive(e.toks, name, e.line)
			continue
		}
		r.record(e.toks, e.blank, name, e.line)
	}
}

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
		if r.origin == "" && !r.findOrigin(toks, file) {
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
	it := item{hdr: h, at: r.place(file), line: int32(line), seq: int32(r.seq)}
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
func (r *reader) findOrigin(toks []token, file string) bool {
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

// add queues a record for building.
func (r *reader) add(it item, toks []token) {
	if r.cur == nil {
		r.cur = &batch{work: works.Get().(*work)}
	}
	b := r.cur
	if it.rr == nil {
		it.from = int32(len(b.toks))
		b.toks = append(b.toks, toks...)
		it.to = int32(len(b.toks))
	}
	b.items = append(b.items, it)
	if len(b.items) == batchSize {
		r.flush()
	}
}

func (r *reader) flush() {
	if r.cur == nil {
		return
	}
	r.batches = append(r.batches, r.cur)
	if r.work != nil {
		r.work <- r.cur
	}
	r.cur = nil
}

// build builds a batch's records.
func (b *batch) build() {
	b.rrs = make([]dns.RR, 0, len(b.items))
	for i := range b.items {
		it := &b.items[i]
		toks := b.toks[it.from:it.to]
		rr, msg, line := it.build(toks)
		if rr == nil {
			b.probs = append(b.probs, problem{seq: int(it.seq), owner: it.hdr.Name, file: it.at.file, line: line,
				text: it.hdr.Name + " " + typeName(it.hdr.Rrtype) + " " + text(toks), msg: msg + "; the record is left out of the checks"})
			continue
		}
		b.rrs = append(b.rrs, rr)
	}
	clear(b.items)
	clear(b.toks)
	b.items, b.toks = b.items[:0], b.toks[:0]
	works.Put(b.work)
	b.work = nil
}
