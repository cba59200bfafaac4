package flatten

// DNSSEC for the replies the plugin composes. The plugin sits above the dnssec plugin in CoreDNS's
// order (so that its replies, and their extended errors, go straight to the client), so the
// dnssec plugin of the server block signs them on the way out: the plugin hands each reply to it
// as if it were the next plugin's answer.

import (
	"context"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/dnssec"

	"github.com/miekg/dns"
)

// signer signs replies with the server block's dnssec plugin.
type signer struct {
	d dnssec.Dnssec
}

// newSigner returns the signer of a block whose plugins include h, or nil.
func newSigner(h plugin.Handler) *signer {
	d, ok := h.(dnssec.Dnssec)
	if !ok {
		return nil
	}
	return &signer{d: d}
}

// write writes m, the reply to r, through the dnssec plugin: it signs it when r asks for DNSSEC
// and the name is in its zones, and passes it on otherwise.
func (s *signer) write(ctx context.Context, w dns.ResponseWriter, r, m *dns.Msg) (int, error) {
	d := s.d // a copy: its Next answers with m
	d.Next = plugin.HandlerFunc(func(_ context.Context, w dns.ResponseWriter, _ *dns.Msg) (int, error) {
		return dns.RcodeSuccess, writeMsg(w, m)
	})
	return d.ServeDNS(ctx, w, r)
}
