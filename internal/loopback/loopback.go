// Package loopback holds what the end-to-end tests and the benchmark commands share to run real
// servers on 127.0.0.1: a free port, NSD's configuration, and a process's peak memory.
package loopback

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"regexp"
	"strconv"
	"strings"
)

// FreePort returns a port free for both UDP and TCP on 127.0.0.1 now. Another process may take it
// before the caller binds it: a caller that can, retries with another.
//
// The port is below the range the system gives to sockets' local ports (ip_local_port_range):
// a port from that range is taken, between this call and the server's start, by any process's
// next outgoing query or connection (a forward's, a resolver's, a load generator's), which made
// a benchmark's server fail to start now and then.
func FreePort() (int, error) {
	lo := ephemeralLow()
	for range 200 {
		port := 10000 + rand.IntN(lo-10000) // #nosec G404 -- a port, not a secret
		if free(port) {
			return port, nil
		}
	}
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if free(port) {
			return port, nil
		}
	}
	return 0, fmt.Errorf("no free port on 127.0.0.1")
}

// free reports whether port of 127.0.0.1 is free for both TCP and UDP now.
func free(port int) bool {
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return false
	}
	defer l.Close()
	u, err := net.ListenPacket("udp", addr)
	if err != nil {
		return false
	}
	u.Close()
	return true
}

// ephemeralLow returns the lowest port the system gives to sockets' local ports, 32768 (Linux's
// default) when it cannot be read or leaves too little room below it.
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 32768
	}
	lo, err := strconv.Atoi(f[0])
	if err != nil || lo < 20000 {
		return 32768
	}
	return lo
}

// ListenBoth listens on one port of 127.0.0.1 for UDP and TCP. The port the system gives for UDP
// may be taken for TCP (by another server, or as a connection's local port): then it tries another.
func ListenBoth() (net.PacketConn, net.Listener, error) {
	var err error
	for range 50 {
		var pc net.PacketConn
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		var l net.Listener
		if l, err = net.Listen("tcp", pc.LocalAddr().String()); err == nil {
			return pc, l, nil
		}
		pc.Close()
	}
	return nil, nil, fmt.Errorf("no port of 127.0.0.1 free for both UDP and TCP: %w", err)
}

// NSDZone is one zone of an NSD configuration: a primary served from File (relative to the
// configuration's folder), or, with Primary set (host@port), a secondary transferring from it.
// ProvideXFR lists who may transfer it, as NSD's provide-xfr writes them ("127.0.0.1 NOKEY",
// "127.0.0.1 KEYNAME"); Keys, the TSIG keys those name.
type NSDZone struct {
	Name, File, Primary string
	ProvideXFR          []string
	Keys                []NSDKey
}

// NSDKey is a TSIG key of NSD's configuration (RFC 8945): its name, algorithm (hmac-sha256) and
// base64 secret.
type NSDKey struct {
	Name, Algorithm, Secret string
}

// NSDConfig returns NSD's configuration for a server on 127.0.0.1 port, with every file it writes
// in dir. NSD's response rate limiting is off (it caps a client at about 200 answers a second,
// which would ruin any load test).
func NSDConfig(dir string, port int, zones []NSDZone) string {
	var b strings.Builder
	fmt.Fprintf(&b, `server:
    ip-address: 127.0.0.1@%d
    username: ""
    chroot: ""
    database: ""
    zonesdir: "%[2]s"
    pidfile: "%[2]s/nsd.pid"
    xfrdfile: "%[2]s/xfrd.state"
    zonelistfile: "%[2]s/zone.list"
    xfrdir: "%[2]s"
    logfile: "%[2]s/nsd.log"
    verbosity: 1
    rrl-ratelimit: 0
    server-count: 1
remote-control:
    control-enable: no
`, port, dir)
	keys := map[NSDKey]bool{}
	for _, z := range zones {
		for _, k := range z.Keys {
			if !keys[k] {
				keys[k] = true
				fmt.Fprintf(&b, "key:\n    name: %q\n    algorithm: %s\n    secret: %q\n", k.Name, k.Algorithm, k.Secret)
			}
		}
	}
	for _, z := range zones {
		fmt.Fprintf(&b, "zone:\n    name: %q\n    zonefile: %q\n", z.Name, z.File)
		for _, acl := range z.ProvideXFR {
			fmt.Fprintf(&b, "    provide-xfr: %s\n", acl)
		}
		if z.Primary != "" {
			fmt.Fprintf(&b, "    request-xfr: AXFR %s NOKEY\n    allow-notify: 127.0.0.1 NOKEY\n", z.Primary)
		}
	}
	return b.String()
}

var vmHWM = regexp.MustCompile(`VmHWM:\s+(\d+) kB`)

// PeakRSS returns a running process's high-water resident set size (VmHWM) in bytes, or 0.
func PeakRSS(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	m := vmHWM.FindSubmatch(b)
	if m == nil {
		return 0
	}
	kb, _ := strconv.ParseInt(string(m[1]), 10, 64)
	return kb * 1024
}
