package own

import (
	"context"
	"slices"
	"strconv"
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

// Ask puts the closed mark on the question, looks like a UDP client with a 1232-byte buffer, and
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
	m, size, err := Ask(context.Background(), h, "www.example.org", dns.TypeA)
	if err != nil || len(m.Answer) != 1 || m.Question[0].Name != "www.example.org." || size != BufSize {
		t.Fatalf("reply %v, size %d, %v; want the handler's answer for www.example.org. to a question of %d bytes", m, size, err, BufSize)
	}
	if seen.mark != Closed || seen.proto != "udp" || seen.size != BufSize {
		t.Errorf("the handler saw mark %v, a %s client, size %d; want the closed mark, udp, %d", seen.mark, seen.proto, seen.size, BufSize)
	}
	m, _, err = Ask(context.Background(), h, "www.example.org.", dns.TypeMX)
	if err != nil || m.Rcode != dns.RcodeRefused || len(m.Answer) != 0 {
		t.Errorf("reply %v, %v; want REFUSED, as the handler returned", m, err)
	}
}

// A truncated reply is asked again as a TCP client with 64 KiB; a whole one never is.
func TestAskAgainOverTCP(t *testing.T) {
	var seen []string
	h := plugin.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, r *dns.Msg) (int, error) {
		state := request.Request{W: w, Req: r}
		seen = append(seen, state.Proto()+" "+strconv.Itoa(state.Size()))
		m := new(dns.Msg)
		m.SetReply(r)
		m.Truncated = state.Proto() == "udp" && r.Question[0].Name == "big.example.org."
		return dns.RcodeSuccess, w.WriteMsg(m)
	})
	m, size, err := Ask(context.Background(), h, "big.example.org.", dns.TypeA)
	if err != nil || m.Truncated || size != dns.MaxMsgSize {
		t.Errorf("reply TC=%v, size %d, %v; want a whole reply to a question of 64 KiB", m.Truncated, size, err)
	}
	if want := []string{"udp 1232", "tcp 65535"}; !slices.Equal(seen, want) {
		t.Errorf("questions %v, want %v", seen, want)
	}
	seen = nil
	if _, _, err := Ask(context.Background(), h, "small.example.org.", dns.TypeA); err != nil || !slices.Equal(seen, []string{"udp 1232"}) {
		t.Errorf("questions %v (%v), want one, over UDP", seen, err)
	}
}
