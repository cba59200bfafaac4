package own

import (
	"context"
	"testing"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/request"

	"github.com/miekg/dns"
)

// A lookup sent through the whole server passes the first flatten it meets once; a closed mark
// lets nothing pass; a client's question carries no mark.
func TestMark(t *testing.T) {
	if MarkOf(context.Background()) != nil {
		t.Fatal("a client's question carries a mark")
	}
	m := Pending("Target.Example.NET.")
	ctx := With(context.Background(), m)
	if MarkOf(ctx) != m {
		t.Fatal("the mark is not found in its context")
	}
	for i, tc := range []struct {
		name string
		want bool
	}{
		{"other.example.net.", false},
		{"target.example.net.", true},
		{"target.example.net.", false}, // the second time: a backend's chase of the same name
	} {
		if got := m.Passes(tc.name); got != tc.want {
			t.Errorf("question %d for %s: passes %v, want %v", i, tc.name, got, tc.want)
		}
	}
	if Closed.Passes("anything.") {
		t.Error("the closed mark lets a question pass")
	}
}

// Ask puts the closed mark on the question, looks like a TCP client with a 64 KiB buffer, and
// returns what the handler wrote, or a reply with the rcode it returned when it wrote nothing.
func TestAsk(t *testing.T) {
	var seen struct {
		mark  *Mark
		proto string
		size  int
	}
	h := plugin.HandlerFunc(func(ctx context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		state := request.Request{W: w, Req: r}
		seen.mark, seen.proto, seen.size = MarkOf(ctx), state.Proto(), state.Size()
		if r.Question[0].Qtype == dns.TypeMX {
			return dns.RcodeRefused, nil
		}
		m := new(dns.Msg)
		m.SetReply(r)
		m.Answer = []dns.RR{&dns.A{Hdr: dns.RR_Header{Name: r.Question[0].Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}}}
		return dns.RcodeSuccess, w.WriteMsg(m)
	})
	m, err := Ask(context.Background(), h, "www.example.org", dns.TypeA)
	if err != nil || len(m.Answer) != 1 || m.Question[0].Name != "www.example.org." {
		t.Fatalf("reply %v, %v; want the handler's answer for www.example.org.", m, err)
	}
	if seen.mark != Closed || seen.proto != "tcp" || seen.size != dns.MaxMsgSize {
		t.Errorf("the handler saw mark %v, a %s client, size %d; want the closed mark, tcp, %d", seen.mark, seen.proto, seen.size, dns.MaxMsgSize)
	}
	m, err = Ask(context.Background(), h, "www.example.org.", dns.TypeMX)
	if err != nil || m.Rcode != dns.RcodeRefused || len(m.Answer) != 0 {
		t.Errorf("reply %v, %v; want REFUSED, as the handler returned", m, err)
	}
}
