package rules

// The records of a zone file built in batches, on other goroutines when the file is large.

import (
	"sync"

	"github.com/miekg/dns"
)

// batch is a run of records built together.
type batch struct {
	*work
	rrs   []dns.RR
	pos   []Position // where each of rrs was written
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

// add queues a record for building.
func (r *reader) add(it item, toks []token) {
	if r.cur == nil {
		r.cur = &batch{work: works.Get().(*work)}
	}
	b := r.cur
	if it.rr == nil {
		it.from = i32(len(b.toks))
		b.toks = append(b.toks, toks...)
		it.to = i32(len(b.toks))
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
	b.pos = make([]Position, 0, len(b.items))
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
		b.pos = append(b.pos, Position{File: it.at.file, Line: int(it.line)})
	}
	clear(b.items)
	clear(b.toks)
	b.items, b.toks = b.items[:0], b.toks[:0]
	works.Put(b.work)
	b.work = nil
}
