package main

// Zones read by zone transfer (-axfr), for zones that live in a database and have no file.

import (
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
)

// transferName is how findings name a transferred zone: SERVER/ZONE, the zone without its
// trailing dot (the root as ".").
func transferName(server, zone string) string {
	if zone != "." {
		zone = strings.TrimSuffix(zone, ".")
	}
	return server + "/" + zone
}

// Timeouts of a transfer: to connect, and for each message of it (a server sends the next one as
// soon as the last is written; a zone of a million records is a few hundred messages).
const (
	transferDial = 5 * time.Second
	transferRead = 10 * time.Second
)

// transfer reads zone from server by AXFR (RFC 5936), signed with key when one is given
// (RFC 8945), and returns it as a zone read from a file named name: each record's line is its
// place in the transfer, the first SOA's 1.
func transfer(server, zone, name string, key *tsigKey) (rules.Zone, error) {
	q := new(dns.Msg)
	q.SetAxfr(zone)
	t := &dns.Transfer{DialTimeout: transferDial, ReadTimeout: transferRead, WriteTimeout: transferDial}
	if key != nil {
		q.SetTsig(key.name, key.algorithm, 300, time.Now().Unix())
		t.TsigSecret = map[string]string{key.name: key.secret}
	}
	envs, err := t.In(q, server)
	if err != nil {
		return rules.Zone{}, fmt.Errorf("%s: transfer failed: %w", name, err)
	}
	z := rules.Zone{Origin: zone}
	for env := range envs {
		if env.Error != nil {
			for range envs { // the channel closes after an error; drain it all the same
			}
			return rules.Zone{}, fmt.Errorf("%s: %s", name, transferError(env.Error, key))
		}
		for _, rr := range env.RR {
			z.Records = append(z.Records, rr)
			z.Positions = append(z.Positions, rules.Position{File: name, Line: len(z.Records)})
		}
	}
	// The transfer ends with the SOA it began with (RFC 5936 2.2).
	if n := len(z.Records); n > 1 && z.Records[n-1].Header().Rrtype == dns.TypeSOA {
		z.Records, z.Positions = z.Records[:n-1], z.Positions[:n-1]
	}
	if len(z.Records) == 0 {
		return rules.Zone{}, fmt.Errorf("%s: the transfer holds no records", name)
	}
	return z, nil
}

var xfrRcode = regexp.MustCompile(`bad xfr rcode: (\d+)`)

// transferError says what went wrong with a transfer and what to do about it.
func transferError(err error, key *tsigKey) string {
	rcode := ""
	if m := xfrRcode.FindStringSubmatch(err.Error()); m != nil {
		code, _ := strconv.Atoi(m[1])
		rcode = dns.RcodeToString[code]
	}
	switch {
	case key != nil && errors.Is(err, dns.ErrTime):
		return fmt.Sprintf("transfer refused: the server's TSIG time differs from this host's (%v): check the clocks", err)
	case key != nil && (rcode != "" || errors.Is(err, dns.ErrAuth) || errors.Is(err, dns.ErrNoSig) || errors.Is(err, dns.ErrSig)):
		// A refusal, a reply the key does not sign, or one that says the key is bad (RFC 8945 5.3).
		why := rcode
		if why == "" {
			why = strings.TrimPrefix(err.Error(), "dns: ")
		}
		return fmt.Sprintf("transfer refused (%s): the server does not accept the key %s for this zone: check its name, algorithm and secret, and that the zone allows transfers with it", why, key.name)
	case rcode == "REFUSED" || rcode == "NOTAUTH":
		return fmt.Sprintf("transfer refused (%s): the server does not serve the zone, or not to this host: allow this host to transfer it (NSD: provide-xfr; PowerDNS: allow-axfr-ips; BIND: allow-transfer), or give its TSIG key with -tsig", rcode)
	case rcode != "":
		return "transfer failed: the server answered " + rcode
	}
	return fmt.Sprintf("transfer failed: %v", err)
}
