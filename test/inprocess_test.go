package test

import (
	"fmt"
	"log"
	"strings"
	"sync"
	"testing"

	"github.com/coredns/caddy"
	"github.com/coredns/coredns/core/dnsserver"
	coretest "github.com/coredns/coredns/test" // starts CoreDNS with every in-tree plugin in this process

	_ "github.com/dnsflatten/flatten" // registers the flatten directive
	"github.com/dnsflatten/flatten/internal/directive"
	"github.com/dnsflatten/flatten/internal/syncbuf"
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
// it answers. It is stopped, with its plugins' shutdown hooks, when the test ends.
func startHere(t testing.TB, corefile string) *server {
	t.Helper()
	hereLogOnce.Do(func() { log.SetOutput(&hereLog) })
	for attempt := 0; ; attempt++ {
		port := freePort(t)
		inst, err := coretest.CoreDNSServer(expand(t, corefile, port))
		if err != nil {
			if attempt < 3 && strings.Contains(err.Error(), "address already in use") {
				continue // taken since it was chosen
			}
			t.Fatal(err)
		}
		s := &server{addr: fmt.Sprintf("127.0.0.1:%d", port), port: port, name: "CoreDNS in-process",
			out: &syncbuf.Buffer{}, done: make(chan struct{})}
		s.halt = sync.OnceFunc(func() { halt(inst); close(s.done) })
		t.Cleanup(func() {
			s.stop()
			if t.Failed() {
				t.Logf("the log of this process's servers:\n%s", hereLog.String())
			}
		})
		s.waitReady(t)
		return s
	}
}

// halt stops an instance as CoreDNS does on SIGTERM: the plugins' shutdown hooks, then the servers.
func halt(inst *caddy.Instance) {
	inst.ShutdownCallbacks()
	inst.Stop()
}
