package main

// The run through a slow resolver: thousands of aliases to names outside the zone, their targets
// served on loopback behind a delay, to show cnamelint asks each name once and several at a time.

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
)

// The resolver run: cnamelint resolving thousands of names outside a zone through a server that
// takes -delay to answer each question.

// resolving times cnamelint on a zone of -outside aliases to half as many names outside it, one in
// ten of which does not exist, through a resolver on loopback that takes -delay for each answer.
func resolving(linter, dir string) (string, error) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	var asked atomic.Int64
	srv := &dns.Server{PacketConn: pc, Handler: dns.HandlerFunc(func(w dns.ResponseWriter, r *dns.Msg) {
		asked.Add(1)
		time.Sleep(*delay)
		m := new(dns.Msg)
		m.SetReply(r)
		q := r.Question[0]
		switch {
		case strings.HasPrefix(q.Name, "gone"):
			m.Rcode = dns.RcodeNameError
		case q.Qtype == dns.TypeA:
			m.Answer = append(m.Answer, &dns.A{Hdr: dns.RR_Header{Name: q.Name, Rrtype: dns.TypeA, Class: dns.ClassINET, Ttl: 60}, A: net.IPv4(192, 0, 2, 1)})
		}
		w.WriteMsg(m)
	})}
	go srv.ActivateAndServe()
	defer srv.Shutdown()

	zone := filepath.Join(dir, "db.outside.example.org")
	var b strings.Builder
	b.WriteString("$ORIGIN example.org.\n$TTL 3600\n@ SOA ns1.example.net. h 1 7200 3600 1209600 300\n@ NS ns1.example.net.\n")
	names, dangling := max(*outside/2, 1), 0
	for i := range *outside {
		target := fmt.Sprintf("t%d.example.net.", i%names)
		if i%names%10 == 0 {
			target, dangling = fmt.Sprintf("gone%d.example.net.", i%names), dangling+1
		}
		fmt.Fprintf(&b, "o%d IN CNAME %s\n", i, target)
	}
	if err := os.WriteFile(zone, []byte(b.String()), 0o600); err != nil {
		return "", err
	}
	s, err := measure(dir, linter, "-json", "-resolver", pc.LocalAddr().String(), zone)
	if err != nil {
		return "", err
	}
	var fs []struct{ Rule string }
	if err := json.Unmarshal(s.out, &fs); err != nil {
		return "", fmt.Errorf("cnamelint -resolver: %v: %s", err, s.out)
	}
	verdict := "ok"
	if len(fs) != dangling {
		verdict = fmt.Sprintf("WRONG: %d findings, want %d dangling", len(fs), dangling)
	}
	n := asked.Load()
	return fmt.Sprintf("Outside targets: %d aliases to %d names outside the zone (%d missing), through a resolver that takes %v an answer: "+
		"cnamelint -resolver took %.2f s for %d questions (each name and type asked once, 8 at a time; one at a time would take %.1f s); findings %s.",
		*outside, names, names/10, *delay, s.wall.Seconds(), n, float64(n)*delay.Seconds(), verdict), nil
}
