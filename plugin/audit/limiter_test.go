package audit

import (
	"errors"
	"testing"
	"time"

	"github.com/dnsflatten/flatten/plugin/chain"
)

// One problem logs once per interval, even when its text differs in details such as a local port.
func TestLimiter(t *testing.T) {
	now := time.Date(2026, 11, 26, 0, 0, 0, 0, time.UTC)
	l := newLimiter(time.Minute)
	l.now = func() time.Time { return now }
	timeout := func(port string) error {
		return &chain.LookupError{Name: "www.example.net.", Err: errors.New("read udp 127.0.0.1:" + port + "->127.0.0.1:53: i/o timeout")}
	}
	if !l.allow("Example.org.", timeout("40001")) {
		t.Fatal("first line suppressed")
	}
	if l.allow("example.org.", timeout("40002")) {
		t.Error("the same problem with another local port logged again within the interval")
	}
	if !l.allow("example.org.", &chain.Error{Kind: chain.Loop, Names: []string{"a.", "b.", "a."}}) {
		t.Error("another problem at the same name suppressed")
	}
	now = now.Add(time.Minute)
	if !l.allow("example.org.", timeout("40003")) {
		t.Error("not logged again after the interval")
	}
}
