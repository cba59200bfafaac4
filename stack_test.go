package flatten

import (
	"context"
	"testing"
	"unsafe"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// The stack a question's goroutine needs is part of what the plugin costs. CoreDNS serves each
// UDP question on a goroutine of its own, whose stack starts small and grows by copying all of it,
// frame by frame: a plugin whose frames push the plugins below it, or the write of the reply, past
// the stack's edge costs every question a copy, as much as the rest of its work (a profile of a
// pass-through in front of cache showed 30% of the CPU in that copy). These tests pin how deep
// below its caller the plugin takes the next plugin and the client's write, against a plugin that
// does nothing.

// stackAt returns an address in its own frame: how far down the stack a call from its caller
// reaches (the stack grows down).
//
//go:noinline
func stackAt() uintptr {
	var b byte
	return uintptr(unsafe.Pointer(&b))
}

// grow grows the calling goroutine's stack, so that the calls after it do not move it.
//
//go:noinline
func grow(i int) byte {
	var pad [64 << 10]byte
	pad[i] = 1
	return pad[len(pad)-1-i]
}

// depths is how far below the caller of ServeDNS a question took the next plugin (its entry) and
// the client's reply (the write), in bytes.
type depths struct{ next, write uintptr }

// probe is a next plugin and a client that note how deep they are called.
type probe struct {
	test.ResponseWriter
	next, write uintptr
	answer      plugin.Handler
}

func (p *probe) ServeDNS(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
	p.next = stackAt()
	return p.answer.ServeDNS(ctx, w, r)
}

func (p *probe) Name() string { return "probe" }

func (p *probe) WriteMsg(*dns.Msg) error {
	p.write = stackAt()
	return nil
}

// measure serves the question (name, A) with h, built in front of p, on a goroutine of its own
// with its stack grown first, and returns the depths p saw. A try in which the stack moved anyway
// (a GC may shrink it) is made again.
func measure(t *testing.T, h plugin.Handler, p *probe, name string) depths {
	t.Helper()
	r := new(dns.Msg)
	r.SetQuestion(name, dns.TypeA)
	for range 10 {
		got := make(chan *depths)
		go func() {
			grow(1)
			top := stackAt()
			p.next, p.write = 0, 0
			h.ServeDNS(context.Background(), p, r)
			if stackAt() != top {
				got <- nil // moved: try again
				return
			}
			var d depths
			if p.write != 0 {
				d.write = top - p.write
			}
			if p.next != 0 {
				d.next = top - p.next
			}
			got <- &d
		}()
		if d := <-got; d != nil {
			if d.write == 0 {
				t.Fatalf("%s: no reply was written", name)
			}
			return *d
		}
	}
	t.Fatal("the stack moved in every try")
	return depths{}
}

// TestStackDepth pins how deep the plugin takes a question below the server, against plugins that
// do nothing: a question it passes on reaches the next plugin, and its reply is written, within a
// small frame of where a plugin that only calls the next one takes them, in every mode; a warm
// flattened answer is written within as much of where a plugin that answers at once writes it.
func TestStackDepth(t *testing.T) {
	// How far a plugin that only calls the next one (CoreDNS's any) takes the question, and how
	// far one that answers at once (whoami) takes the reply: the baselines.
	p := &probe{answer: plainNext}
	bare := measure(t, handlerFunc(func(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		return plugin.NextOrFailure("bare", p, ctx, w, r)
	}), p, "www.example.org.")
	at := measure(t, plainNext, p, "www.example.org.")
	t.Logf("a bare plugin: next plugin at %d bytes, write at %d; a plugin that answers: write at %d", bare.next, bare.write, at.write)

	// frame is what the plugin's own frame may add to a bare plugin's on the way to the next one
	// (half as much again with the race detector).
	frame := uintptr(128)
	if raced {
		frame = 192
	}
	for _, tc := range []struct {
		name, qname string
		mode        Mode
	}{
		{"all mode, a name without a chain", "www.example.org.", All},
		{"apex mode, a name in the zone (watched)", "www.example.org.", Apex},
		{"a name outside the zones", "www.example.com.", Apex},
	} {
		f, _ := newTest(t, p, nil, func(c *config) { c.mode = tc.mode })
		d := measure(t, f, p, tc.qname)
		t.Logf("%s: next plugin at %d bytes, write at %d", tc.name, d.next, d.write)
		if d.next > bare.next+frame {
			t.Errorf("%s: the next plugin runs %d bytes down the stack, a bare plugin's at %d: more than %d bytes deeper", tc.name, d.next, bare.next, frame)
		}
		if d.write > bare.write+frame {
			t.Errorf("%s: the reply is written %d bytes down the stack, a bare plugin's at %d: more than %d bytes deeper", tc.name, d.write, bare.write, frame)
		}
	}

	u := &backend{rrs: []dns.RR{test.A("www.example.net. 3600 IN A 192.0.2.10")}}
	f, _ := newTest(t, apexNext, u)
	measure(t, f, p, "example.org.") // cold: the chain is cached
	d := measure(t, f, p, "example.org.")
	t.Logf("a warm flattened answer: write at %d bytes", d.write)
	if d.write > at.write+frame {
		t.Errorf("a warm flattened answer is written %d bytes down the stack, a plugin that answers at once writes at %d: more than %d bytes deeper", d.write, at.write, frame)
	}
}
