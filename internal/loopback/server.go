package loopback

// A scripted DNS server for unit tests: one loopback port, UDP and TCP.

import (
	"testing"

	"github.com/miekg/dns"
)

// Serve answers every question with answer (its reply, or nil for none) over UDP and TCP on one
// port of 127.0.0.1 until the test ends, and returns the address. tcp says how the question came.
func Serve(tb testing.TB, answer func(r *dns.Msg, tcp bool) *dns.Msg) string {
	tb.Helper()
	pc, l, err := ListenBoth()
	if err != nil {
		tb.Fatal(err)
	}
	for _, s := range []*dns.Server{{PacketConn: pc}, {Listener: l}} {
		tcp := s.Listener != nil
		s.Handler = dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
			if m := answer(r, tcp); m != nil {
				w.WriteMsg(m)
			}
		})
		go s.ActivateAndServe()
		tb.Cleanup(func() { s.Shutdown() })
	}
	return pc.LocalAddr().String()
}
