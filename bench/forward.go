package main

// The paths users deploy in front of forward: a block for the root with 'flatten . { all }' (or
// 'names') and 'forward' to Unbound as Debian ships it (one thread, 10 TCP slots), beside forward
// alone. Unbound counts the questions it gets over TCP (its num.query.tcp statistic, which its
// extended-statistics setting turns on): a question whose UDP reply fits must never reach it over
// TCP.

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
)

// unbound is Unbound with its settings as shipped, but for loopback and its statistics, resolving
// example.net at its authoritative server, NSD (at nsd): plain.example.net has an address, and
// alias.example.net is a CNAME to www.example.net, which has one.
type unbound struct {
	conf string
	port int
}

func (b *bench) unbound(nsd string) (*unbound, error) {
	u := &unbound{port: freePort()}
	dir := filepath.Join(b.dir, "unbound")
	u.conf = filepath.Join(dir, "unbound.conf")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	b.file("unbound/unbound.conf", fmt.Sprintf(`server:
    interface: 127.0.0.1
    port: %[1]d
    do-ip6: no
    username: ""
    chroot: ""
    directory: "%[2]s"
    pidfile: "%[2]s/unbound.pid"
    use-syslog: no
    logfile: ""
    access-control: 127.0.0.0/8 allow
    do-not-query-localhost: no
    extended-statistics: yes
remote-control:
    control-enable: yes
    control-interface: "%[2]s/control.sock"
    control-use-cert: no
stub-zone:
    name: "example.net."
    stub-addr: %[3]s
`, u.port, dir, strings.Replace(nsd, ":", "@", 1)))
	if _, err := b.start("unbound", "unbound", "-d", "-c", u.conf); err != nil {
		return nil, err
	}
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if _, err := u.tcpQueries(); err == nil {
			return u, nil
		} else if time.Now().After(deadline) {
			return nil, fmt.Errorf("unbound: %v", err)
		}
	}
}

var tcpQueries = regexp.MustCompile(`(?m)^num\.query\.tcp=(\d+)$`)

// tcpQueries returns the questions Unbound has got over TCP since it started.
func (u *unbound) tcpQueries() (int, error) {
	out, err := exec.Command("unbound-control", "-c", u.conf, "stats_noreset").Output() // #nosec G204 -- this benchmark's own configuration
	if err != nil {
		return 0, err
	}
	m := tcpQueries.FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no num.query.tcp in unbound-control stats: %s", out)
	}
	return strconv.Atoi(string(m[1]))
}

// forwardScenarios starts a custom CoreDNS per scenario, forwarding the root to u.
func (b *bench) forwardScenarios(coredns string, u *unbound) ([]*scenario, error) {
	var out []*scenario
	for _, c := range []struct {
		key, title, flatten, qname, want string
	}{
		{"fa", "forward alone to Unbound, plain A", "", "plain.example.net.", "192.0.2.1"},
		{"fn", "flatten names + forward, plain A", "flatten example.net {\n        names alias.example.net\n    }", "plain.example.net.", "192.0.2.1"},
		{"fb", "flatten . { all } + forward, plain A", "flatten . {\n        all\n    }", "plain.example.net.", "192.0.2.1"},
		{"fac", "forward alone to Unbound, CNAME chain (unflattened)", "", "alias.example.net.", ""},
		{"fnc", "flatten names + forward, flattened name (warm)", "flatten example.net {\n        names alias.example.net\n    }", "alias.example.net.", "192.0.2.10"},
		{"fbc", "flatten . { all } + forward, flattened name (warm)", "flatten . {\n        all\n    }", "alias.example.net.", "192.0.2.10"},
	} {
		s := &scenario{key: c.key, title: c.title, port: freePort(), qname: c.qname, want: c.want, upstream: u}
		b.file("Corefile."+c.key, fmt.Sprintf(".:%d {\n    bind 127.0.0.1\n    %s\n    forward . 127.0.0.1:%d\n}\n", s.port, c.flatten, u.port))
		var err error
		if s.proc, err = b.start("coredns "+c.key, coredns, "-conf", filepath.Join(b.dir, "Corefile."+c.key)); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

// chainAnswer checks forward's own answer at the chain (fac): the CNAME and its target's address.
func chainAnswer(r *dns.Msg) bool {
	return len(r.Answer) == 2 && r.Answer[0].Header().Rrtype == dns.TypeCNAME && r.Answer[1].(*dns.A).A.String() == "192.0.2.10"
}
