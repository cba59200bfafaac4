package test

import (
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// delayProxy forwards UDP datagrams on 127.0.0.1 to a DNS server, answering each after a settable
// delay: a slow target server.
type delayProxy struct {
	conn  net.PacketConn
	to    string
	delay atomic.Int64 // nanoseconds
	wg    sync.WaitGroup
}

func newDelayProxy(t *testing.T, to string) *delayProxy {
	t.Helper()
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &delayProxy{conn: conn, to: to}
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(func() {
		conn.Close()
		p.wg.Wait()
	})
	return p
}

func (p *delayProxy) setDelay(d time.Duration) { p.delay.Store(int64(d)) }

func (p *delayProxy) serve() {
	defer p.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := p.conn.ReadFrom(buf)
		if err != nil {
			return // closed
		}
		pkt := append([]byte(nil), buf[:n]...)
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			time.Sleep(time.Duration(p.delay.Load()))
			up, err := net.DialTimeout("udp", p.to, time.Second)
			if err != nil {
				return
			}
			defer up.Close()
			up.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := up.Write(pkt); err != nil {
				return
			}
			resp := make([]byte, 65535)
			m, err := up.Read(resp)
			if err != nil {
				return
			}
			p.conn.WriteTo(resp[:m], from)
		}()
	}
}
