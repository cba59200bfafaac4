package main

// Checking a scenario's server before it is timed: it answers, and answers right.

import (
	"fmt"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// check waits for s to answer, checks its answer, and returns how long the first answer took.
func check(s *scenario) (time.Duration, error) {
	m := new(dns.Msg)
	m.SetQuestion(s.qname, s.askType())
	c := &dns.Client{Timeout: time.Second}
	addr := fmt.Sprintf("127.0.0.1:%d", s.port)
	deadline := time.Now().Add(20 * time.Second)
	probe := new(dns.Msg)
	probe.SetQuestion("probe.invalid.", dns.TypeA)
	for {
		if _, _, err := c.Exchange(probe, addr); err == nil {
			break
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("%s does not answer on %s: %s", s.title, addr, s.proc.out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	start := time.Now()
	r, _, err := c.Exchange(m, addr)
	took := time.Since(start)
	if err != nil {
		return 0, fmt.Errorf("%s: %v", s.title, err)
	}
	records := r.Answer
	switch {
	case s.key == "w":
		records = r.Extra[:min(1, len(r.Extra))] // whoami answers in the additional section
	case s.want == "": // forward's own answer at a chain
		if !chainAnswer(r) {
			return 0, fmt.Errorf("%s answers wrong: %v", s.title, r)
		}
		return took, nil
	}
	if len(records) != 1 || records[0].Header().Rrtype != s.askType() || !strings.EqualFold(records[0].Header().Name, s.qname) {
		return 0, fmt.Errorf("%s answers wrong: %v", s.title, r)
	}
	switch rr := records[0].(type) {
	case *dns.A:
		if rr.A.String() != s.want {
			return 0, fmt.Errorf("%s answers wrong: %v", s.title, r)
		}
	case *dns.HTTPS:
		if rr.Target != "." || !strings.Contains(rr.String(), s.want) {
			return 0, fmt.Errorf("%s answers wrong: %v", s.title, r)
		}
	}
	return took, nil
}

// askType is the type s asks for.
func (s *scenario) askType() uint16 {
	if s.qtype == 0 {
		return dns.TypeA
	}
	return s.qtype
}
