package flatten

import (
	"context"
	"slices"
	"strconv"
	"testing"

	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
)

// sink is a client's ResponseWriter that records every write, in order.
type sink struct {
	test.ResponseWriter
	writes []string // "msg <id>" or "raw <bytes>"
}

func (s *sink) WriteMsg(m *dns.Msg) error {
	s.writes = append(s.writes, "msg "+strconv.Itoa(int(m.Id)))
	return nil
}

func (s *sink) Write(b []byte) (int, error) {
	s.writes = append(s.writes, "raw "+string(b))
	return len(b), nil
}

// TestCaptureWriterOrder pins what the writer of all mode's pass-through does with the next
// plugin's writes: a plain reply waits until the question is back from the chain (flush), so that
// it is written from the plugin's own frame; a chain's start is kept; nothing is lost or reordered,
// and a write after flush goes straight out.
func TestCaptureWriterOrder(t *testing.T) {
	t.Parallel()
	f, _ := newTest(t, plainNext, nil, func(c *config) { c.mode = All })
	plain := func(id uint16) *dns.Msg {
		m := new(dns.Msg)
		m.SetQuestion("www.example.org.", dns.TypeA)
		m.Id, m.Response = id, true
		m.Answer = []dns.RR{test.A("www.example.org. 300 IN A 192.0.2.1")}
		return m
	}
	chained := func(id uint16) *dns.Msg {
		m := plain(id)
		m.Answer = []dns.RR{test.CNAME("www.example.org. 300 IN CNAME www.example.net.")}
		return m
	}
	servfail := func(id uint16) *dns.Msg {
		m := plain(id)
		m.Answer, m.Rcode = nil, dns.RcodeServerFailure
		return m
	}
	for _, tc := range []struct {
		name string
		// writes are the next plugin's, before and after the question is back
		writes, late func(*captureWriter)
		// client: what the client got before the question was back, when it was, and at the end
		before, back, end []string
		kept              string // what the writer keeps for the plugin: "chain", "held" or none
	}{
		{
			name:   "one plain reply waits for the question to be back",
			writes: func(w *captureWriter) { w.WriteMsg(plain(1)) },
			before: nil,
			back:   []string{"msg 1"},
			end:    []string{"msg 1"},
		},
		{
			name:   "two plain replies go out in order",
			writes: func(w *captureWriter) { w.WriteMsg(plain(1)); w.WriteMsg(plain(2)) },
			before: []string{"msg 1"},
			back:   []string{"msg 1", "msg 2"},
			end:    []string{"msg 1", "msg 2"},
		},
		{
			name:   "raw bytes go out after the reply kept before them",
			writes: func(w *captureWriter) { w.WriteMsg(plain(1)); w.Write([]byte("x")) },
			before: []string{"msg 1", "raw x"},
			back:   []string{"msg 1", "raw x"},
			end:    []string{"msg 1", "raw x"},
		},
		{
			name:   "a chain's start is kept, a plain reply after it goes out",
			writes: func(w *captureWriter) { w.WriteMsg(chained(1)); w.WriteMsg(plain(2)) },
			before: []string{"msg 2"},
			back:   []string{"msg 2"},
			end:    []string{"msg 2"},
			kept:   "chain",
		},
		{
			name:   "a plain reply before a chain's start goes out first",
			writes: func(w *captureWriter) { w.WriteMsg(plain(1)); w.WriteMsg(chained(2)) },
			before: []string{"msg 1"},
			back:   []string{"msg 1"},
			end:    []string{"msg 1"},
			kept:   "chain",
		},
		{
			name:   "a SERVFAIL that may hide a chain is held for a probe, a plain reply after it goes out",
			writes: func(w *captureWriter) { w.WriteMsg(servfail(1)); w.WriteMsg(plain(2)) },
			before: []string{"msg 2"},
			back:   []string{"msg 2"},
			end:    []string{"msg 2"},
			kept:   "held",
		},
		{
			name:   "a write after the question is back goes straight out",
			writes: func(w *captureWriter) { w.WriteMsg(plain(1)) },
			late:   func(w *captureWriter) { w.WriteMsg(chained(2)); w.WriteMsg(plain(3)) },
			before: nil,
			back:   []string{"msg 1"},
			end:    []string{"msg 1", "msg 2", "msg 3"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			client := &sink{}
			r := new(dns.Msg)
			r.SetQuestion("www.example.org.", dns.TypeA)
			cw := question{f: f, ctx: context.Background(), w: client, r: r}.capture()
			tc.writes(cw)
			if !slices.Equal(client.writes, tc.before) {
				t.Errorf("before: client got %v, want %v", client.writes, tc.before)
			}
			cw.flush()
			if !slices.Equal(client.writes, tc.back) {
				t.Errorf("back: client got %v, want %v", client.writes, tc.back)
			}
			if (cw.msg != nil) != (tc.kept == "chain") || (cw.held != nil) != (tc.kept == "held") || cw.plain(dns.RcodeSuccess) != (tc.kept == "") {
				t.Errorf("chain kept %v, held %v, plain %v; want %q kept", cw.msg != nil, cw.held != nil, cw.plain(dns.RcodeSuccess), tc.kept)
			}
			if tc.late != nil {
				tc.late(cw)
			}
			if !slices.Equal(client.writes, tc.end) {
				t.Errorf("end: client got %v, want %v", client.writes, tc.end)
			}
		})
	}
}
