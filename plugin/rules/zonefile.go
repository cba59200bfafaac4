package rules

// ParseZone: the first pass over a zone file, in order, and the zone it gives.

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

func parseZone(src, origin, filename string) (Zone, error) {
	if at := binaryAt(src); at >= 0 {
		return Zone{}, fmt.Errorf("%s: %w (byte %d is a control character no zone file has)", filename, ErrNotText, at)
	}
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
	z.Positions = make([]Position, 0, n)
	probs := r.problems
	for _, b := range r.batches {
		z.Records = append(z.Records, b.rrs...)
		z.Positions = append(z.Positions, b.pos...)
		probs = append(probs, b.probs...)
	}
	if len(z.Records) == 0 && len(probs) == 0 {
		return Zone{}, fmt.Errorf("%s: %w", filename, ErrEmpty)
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

// binaryAt returns the offset of the first byte in the start of src that no text file holds (NUL,
// or a control character other than tab, newline, carriage return and form feed), or -1.
func binaryAt(src string) int {
	for i := range min(len(src), 1<<16) {
		if c := src[i]; c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f' || c == 0x7f {
			return i
		}
	}
	return -1
}

func noOrigin(filename string) error {
	return fmt.Errorf("%s: no $ORIGIN before the first relative name and no zone name in the file name: name it as FILE:ORIGIN, e.g. %s:example.org", filename, filename)
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
