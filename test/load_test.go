package test

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const loadCorefile = `example.org:{{PORT}} {
    bind 127.0.0.1
    prometheus %s
    pprof %s
    flatten {
        all
    }
    file {{DIR}}/db.example.org
}
example.net:{{PORT}} {
    bind 127.0.0.1
    file {{DIR}}/db.example.net
}
`

// mix is the load's questions and the reply each must get.
var mix = []struct {
	name string
	want func(*dns.Msg) bool
}{
	{"www.example.org.", func(m *dns.Msg) bool { // flattened
		return m.Rcode == dns.RcodeSuccess && len(m.Answer) == 2 && m.Answer[0].Header().Name == "www.example.org." && m.Answer[0].Header().Rrtype == dns.TypeA
	}},
	{"ns1.example.net.", func(m *dns.Msg) bool { // pass-through
		return m.Rcode == dns.RcodeSuccess && len(m.Answer) == 1 && m.Answer[0].(*dns.A).A.String() == "192.0.2.53"
	}},
	{"dangling.example.org.", func(m *dns.Msg) bool { // NODATA
		return m.Rcode == dns.RcodeSuccess && len(m.Answer) == 0 && len(m.Ns) == 1
	}},
	{"loop1.example.org.", func(m *dns.Msg) bool { // loop
		return m.Rcode == dns.RcodeServerFailure && len(m.Answer) == 0 && strings.HasPrefix(edeOf(m), "0: CNAME loop: ")
	}},
}

// ask sends one question of the mix, retrying once over UDP (a datagram may be lost under load) and
// then over TCP, and reports a wrong or missing reply.
func askMix(s *server, i int) error {
	q := mix[i%len(mix)]
	m := new(dns.Msg)
	m.SetQuestion(q.name, dns.TypeA)
	m.SetEdns0(1232, false)
	var (
		r   *dns.Msg
		err error
	)
	for _, network := range []string{"udp", "udp", "tcp"} {
		c := &dns.Client{Net: network, Timeout: 3 * time.Second}
		if r, _, err = c.Exchange(m, s.addr); err == nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("%s: %v", q.name, err)
	}
	if !q.want(r) {
		return fmt.Errorf("%s: wrong reply %s %q", q.name, answer(r), edeOf(r))
	}
	return nil
}

// goroutines reads the server's goroutine count from its pprof endpoint.
func goroutines(tb testing.TB, pprof string) int {
	tb.Helper()
	sc := bufio.NewScanner(strings.NewReader(get(tb, "http://"+pprof+"/debug/pprof/goroutine?debug=1")))
	sc.Scan()
	n, err := strconv.Atoi(strings.TrimPrefix(sc.Text(), "goroutine profile: total "))
	if err != nil {
		tb.Fatalf("pprof: %q", sc.Text())
	}
	return n
}

// settles waits until the server's goroutines are back to at most base (plus a few for the
// listeners' own churn).
func settles(tb testing.TB, pprof string, base int) {
	tb.Helper()
	eventually(tb, 15*time.Second, func() error {
		if n := goroutines(tb, pprof); n > base+5 {
			return fmt.Errorf("%d goroutines, %d before the load: a leak", n, base)
		}
		return nil
	})
}

// 10,000 concurrent questions mixing pass-through, flattened, dangling and looping names: every one
// gets its correct reply, and the server's goroutines come back to where they were.
func TestLoad(t *testing.T) {
	metrics, pprof := fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := start(t, fmt.Sprintf(loadCorefile, metrics, pprof))
	for i := range mix {
		if err := askMix(s, i); err != nil { // warm up, and check the mix
			t.Fatal(err)
		}
	}
	base := goroutines(t, pprof)

	const n = 10000
	var (
		wg     sync.WaitGroup
		failed atomic.Int64
		first  atomic.Value
	)
	for i := range n {
		wg.Go(func() {
			if err := askMix(s, i); err != nil {
				failed.Add(1)
				first.CompareAndSwap(nil, err)
			}
		})
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		t.Errorf("%d of %d questions failed, e.g. %v", f, n, first.Load())
	}
	settles(t, pprof, base)
}

// 20 reloads of the Corefile under load: no failed question, no leaked goroutine, the metrics keep
// counting, and the audit runs again each time.
func TestReloadsUnderLoad(t *testing.T) {
	metrics, pprof := fmt.Sprintf("127.0.0.1:%d", freePort(t)), fmt.Sprintf("127.0.0.1:%d", freePort(t))
	s := start(t, fmt.Sprintf(loadCorefile, metrics, pprof))
	s.waitLog(t, "audit of example.org.")
	base := goroutines(t, pprof)

	stop := make(chan struct{})
	var (
		wg            sync.WaitGroup
		asked, failed atomic.Int64
		first         atomic.Value
	)
	for w := range 8 {
		wg.Go(func() {
			for i := w; ; i += 8 {
				select {
				case <-stop:
					return
				default:
				}
				asked.Add(1)
				if err := askMix(s, i); err != nil {
					failed.Add(1)
					first.CompareAndSwap(nil, err)
				}
			}
		})
	}
	const reloads = 20
	for i := 1; i <= reloads; i++ {
		before := strings.Count(s.out.String(), "plugin/flatten: audit of example.org.")
		if err := s.cmd.Process.Signal(syscall.SIGUSR1); err != nil {
			t.Fatal(err)
		}
		eventually(t, 10*time.Second, func() error {
			if n := strings.Count(s.out.String(), "plugin/flatten: audit of example.org."); n <= before {
				return fmt.Errorf("reload %d: the audit did not run again", i)
			}
			return nil
		})
	}
	flattened := metric(t, metrics, "coredns_flatten_flattened_total")
	time.Sleep(200 * time.Millisecond)
	close(stop)
	wg.Wait()
	if f := failed.Load(); f > 0 {
		t.Errorf("%d of %d questions failed during %d reloads, e.g. %v", f, asked.Load(), reloads, first.Load())
	}
	if after := metric(t, metrics, "coredns_flatten_flattened_total"); after <= flattened || flattened == 0 {
		t.Errorf("coredns_flatten_flattened_total went from %v to %v: the metrics stopped counting", flattened, after)
	}
	settles(t, pprof, base)
}
