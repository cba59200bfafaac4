package test

import (
	"fmt"
	"log"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	coretest "github.com/coredns/coredns/test" // starts CoreDNS with every in-tree plugin in this process
	_ "github.com/dnsflatten/flatten"          // registers the flatten directive
	"github.com/dnsflatten/flatten/internal/directive"
	"github.com/dnsflatten/flatten/internal/syncbuf"

	"github.com/miekg/dns"
)

// CoreDNS started in the test's own process: the same plugins in the same order as cmd/coredns,
// without a process to start and stop, and with the race detector watching the plugin and the
// test together. Tests that read a server's log, count its metrics, or signal it start a process
// (start); tests that only ask questions start here (startHere).

func init() {
	d, err := directive.Place(dnsserver.Directives)
	if err != nil {
		panic(err)
	}
	dnsserver.Directives = d
}

// hereLog collects what servers in this process log (CoreDNS logs through the standard logger,
// which every server in the process shares): a failed test shows it.
var (
	hereLog     syncbuf.Buffer
	hereLogOnce sync.Once
)

// startHere starts corefile ({{PORT}} and {{DIR}} expanded) in the test's process and waits until
// it answers. It is stopped, with its plugins' shutdown hooks, when the test ends. When {{PORT}}
// is only the port of server blocks, they listen on port 0, as CoreDNS's own tests do: the system
// gives UDP and TCP a free port each (s.addr and s.tcp), so no other test can take them in between.
// A server that peers reach on one port for both (Unbound asks over UDP, then TCP on a truncated
// reply) starts with startHereOnOnePort, as does one whose flatten asks the server itself at its
// own address (port 0 is no address): zone transfers expanded, name servers probed.
func startHere(tb testing.TB, corefile string) *server {
	tb.Helper()
	if !portInHeadersOnly(corefile) || strings.Contains(corefile, "expand_transfer") || strings.Contains(corefile, "probe_ns") {
		return startHereOnOnePort(tb, corefile)
	}
	inst, err := coretest.CoreDNSServer(expand(tb, corefile, 0))
	if err != nil {
		tb.Fatal(err)
	}
	udp, tcp := coretest.CoreDNSServerPorts(inst, 0)
	_, p, _ := net.SplitHostPort(udp)
	port, _ := strconv.Atoi(p)
	return here(tb, inst, &server{addr: udp, tcp: tcp, port: port})
}

// startHereOnOnePort is startHere with UDP and TCP on one port, chosen free; a port taken since it
// was chosen is chosen again.
func startHereOnOnePort(tb testing.TB, corefile string) *server {
	tb.Helper()
	for attempt := 0; ; attempt++ {
		port := freePort(tb)
		inst, err := coretest.CoreDNSServer(expand(tb, corefile, port))
		if err != nil {
			if attempt < 3 && strings.Contains(err.Error(), "address already in use") {
				continue // taken since it was chosen
			}
			tb.Fatal(err)
		}
		return here(tb, inst, &server{addr: fmt.Sprintf("127.0.0.1:%d", port), port: port})
	}
}

// here finishes s, the server of inst, and waits until it answers.
func here(tb testing.TB, inst *caddy.Instance, s *server) *server {
	tb.Helper()
	hereLogOnce.Do(func() { log.SetOutput(&hereLog) })
	s.name, s.out, s.done = "CoreDNS in-process", &syncbuf.Buffer{}, make(chan struct{})
	s.halt = sync.OnceFunc(func() { halt(inst); close(s.done) })
	tb.Cleanup(func() {
		s.stop()
		if tb.Failed() {
			tb.Logf("the log of this process's servers:\n%s", hereLog.String())
		}
	})
	s.waitReady(tb)
	return s
}

// headerPort is a server block's key with the {{PORT}} placeholder as its port.
var headerPort = regexp.MustCompile(`^\S+:\{\{PORT\}\}$`)

// portInHeadersOnly reports whether every {{PORT}} in corefile is the port of a server block's key.
func portInHeadersOnly(corefile string) bool {
	for line := range strings.SplitSeq(corefile, "\n") {
		if !strings.Contains(line, "{{PORT}}") {
			continue
		}
		if strings.HasPrefix(line, " ") || strings.HasPrefix(line, "\t") || !strings.HasSuffix(strings.TrimSpace(line), "{") {
			return false
		}
		for key := range strings.FieldsSeq(strings.TrimSuffix(strings.TrimSpace(line), "{")) {
			if !headerPort.MatchString(key) {
				return false
			}
		}
	}
	return strings.Contains(corefile, "{{PORT}}")
}

// halt stops an instance as CoreDNS does on SIGTERM: the plugins' shutdown hooks, then the servers.
func halt(inst *caddy.Instance) {
	inst.ShutdownCallbacks()
	inst.Stop()
}

// A server that fails to listen (its port in use) never served, and its audit never ran: caddy
// runs no shutdown hook for it, so an audit started before it listened would read the zones and
// run on. The dynupdate plugin opens its database at its zone's first use, so that a failed start
// leaves none; the audit's read of the zone would be such a use. A start that listens then reads
// the seed as it is then.
func TestFailedStartReadsNoZone(t *testing.T) {
	dir := t.TempDir()
	seed, db := filepath.Join(dir, "example.org.zone"), filepath.Join(dir, "updates.db")
	zone := "$ORIGIN example.org.\n@ 60 IN SOA ns.example.org. hostmaster.example.org. 10 60 60 60 60\n@ 60 IN NS ns.example.org.\nns 60 IN A 192.0.2.53\n"
	if err := os.WriteFile(seed, []byte(zone), 0o600); err != nil {
		t.Fatal(err)
	}
	corefile := func(port string) string {
		return fmt.Sprintf(`example.org:%s {
    bind 127.0.0.1
    flatten
    tsig {
        secret update-key. c2VjcmV0IGtleSBmb3IgdGVzdHMgb2YgZHludXBkYXRl
        require_opcode UPDATE
    }
    dynupdate {
        file %q
        database %q
        allow update-key. * *
    }
}
`, port, seed, db)
	}
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	inst, err := coretest.CoreDNSServer(corefile(strconv.Itoa(taken.Addr().(*net.TCPAddr).Port)))
	if err == nil {
		halt(inst)
		t.Fatal("a server on a port in use started")
	}
	time.Sleep(500 * time.Millisecond) // what an audit started anyway would have read by now
	if _, err := os.Stat(db); !os.IsNotExist(err) {
		t.Fatalf("the failed start opened the zone's database: %v", err)
	}
	if err := os.WriteFile(seed, []byte(strings.Replace(zone, " 10 60", " 20 60", 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	s := startHere(t, corefile("{{PORT}}"))
	r := s.query(t, "udp", "example.org.", dns.TypeSOA)
	if len(r.Answer) != 1 {
		t.Fatalf("the start after the failed one answered %v, want the seed's SOA", r)
	}
	if soa, ok := r.Answer[0].(*dns.SOA); !ok || soa.Serial != 20 {
		t.Fatalf("the start after the failed one answered %v, want the seed's serial 20", r)
	}
}
