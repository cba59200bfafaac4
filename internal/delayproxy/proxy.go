// Package delayproxy forwards UDP DNS datagrams on loopback to a server, answering each after a
// settable delay: a slow target server for tests and benchmarks.
package delayproxy

import (
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy forwards datagrams to one server.
type Proxy struct {
	conn  net.PacketConn
	to    string
	delay atomic.Int64 // nanoseconds
	count atomic.Int64 // datagrams forwarded
	wg    sync.WaitGroup
}

// Count is the number of questions forwarded so far.
func (p *Proxy) Count() int64 { return p.count.Load() }

// New listens on 127.0.0.1 (a free port) and forwards to the server at to.
func New(to string) (*Proxy, error) {
	conn, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{conn: conn, to: to}
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the proxy's address.
func (p *Proxy) Addr() *net.UDPAddr { return p.conn.LocalAddr().(*net.UDPAddr) }

// SetDelay sets how long each answer is held back.
func (p *Proxy) SetDelay(d time.Duration) { p.delay.Store(int64(d)) }

// Close stops the proxy and waits for the datagrams in flight.
func (p *Proxy) Close() {
	p.conn.Close()
	p.wg.Wait()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	buf := make([]byte, 65535)
	for {
		n, from, err := p.conn.ReadFrom(buf)
		if err != nil {
			return // closed
		}
		pkt := append([]byte(nil), buf[:n]...)
		p.count.Add(1)
		p.wg.Go(func() {
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
		})
	}
}
