package test

import (
	"fmt"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
	authv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// externalZone is served by a real DNS server on loopback: the targets of the ExternalName services.
const externalZone = `$ORIGIN example.net.
@        3600 IN SOA   ns1.example.net. hostmaster.example.net. 1 7200 3600 1209600 300
@        3600 IN NS    ns1.example.net.
www        60 IN A     192.0.2.10
www        60 IN AAAA  2001:db8::10
shops      60 IN A     192.0.2.40
alias      60 IN CNAME edge.example.net.
edge       20 IN CNAME www.example.net.
`

// clusterDNS is the custom CoreDNS running the Corefile of deploy/kubernetes against the test's
// control plane.
type clusterDNS struct {
	*server
	health, ready, metrics string // host:port
}

// startClusterDNS starts the custom CoreDNS on the ConfigMap's Corefile, changed only where a
// cluster and this machine differ: loopback ports instead of 53, 8080, 8181 and 9153, a
// kubeconfig instead of the in-cluster service account, the test's DNS server instead of
// /etc/resolv.conf, and the given flatten line ("" takes the plugin's block out). It waits until
// the ready plugin reports ready.
func startClusterDNS(tb testing.TB, corefile, kubeconfig, forward, flatten string) *clusterDNS {
	tb.Helper()
	hp, rp, mp := freePort(tb), freePort(tb), freePort(tb)
	c := &clusterDNS{
		health:  fmt.Sprintf("127.0.0.1:%d", hp),
		ready:   fmt.Sprintf("127.0.0.1:%d", rp),
		metrics: fmt.Sprintf("127.0.0.1:%d", mp),
	}
	for _, r := range []struct{ re, with string }{
		{`(?m)^\.:53 \{$`, ".:{{PORT}} {\n    bind 127.0.0.1"},
		{`(?m)^(\s*)health \{$`, "${1}health " + c.health + " {"},
		{`(?m)^(\s*)ready$`, "${1}ready " + c.ready},
		{`(?m)^(\s*)prometheus :9153$`, "${1}prometheus " + c.metrics},
		{`(?m)^(\s*)forward \. /etc/resolv\.conf`, "${1}forward . " + forward},
		{`(?m)^(\s*)(kubernetes cluster\.local [^{\n]*\{)$`, "${1}${2}\n${1}   kubeconfig " + kubeconfig + " test"},
		{`(?m)^(\s*)flatten cluster\.local \{$`, "${1}" + flatten + " {"},
	} {
		if flatten == "" && strings.Contains(r.re, "flatten") {
			block := regexp.MustCompile(`(?m)^\s*flatten cluster\.local \{\n(?:.*\n)*?\s*\}\n`)
			if len(block.FindAllString(corefile, -1)) != 1 {
				tb.Fatalf("the ConfigMap's Corefile has no one flatten block:\n%s", corefile)
			}
			corefile = block.ReplaceAllString(corefile, "")
			continue
		}
		re := regexp.MustCompile(r.re)
		if n := len(re.FindAllStringIndex(corefile, -1)); n != 1 {
			tb.Fatalf("the ConfigMap's Corefile has %d lines matching %s, want 1:\n%s", n, r.re, corefile)
		}
		corefile = re.ReplaceAllString(corefile, r.with)
	}
	c.server = start(tb, corefile)
	waitHTTP(tb, http.DefaultClient, "http://"+c.ready+"/ready", "")
	return c
}

// externalName creates an ExternalName service.
func (cp *controlPlane) externalName(tb testing.TB, namespace, name, target string) {
	tb.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: namespace},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: target},
	}
	if _, err := cp.admin.CoreV1().Services(namespace).Create(apiCtx(tb), svc, metav1.CreateOptions{}); err != nil {
		tb.Fatal(err)
	}
}

// waitAnswer polls the server with one question until the reply is want (TTLs at most want's and
// above 0: cached answers count down) and returns the last reply.
func (c *clusterDNS) waitAnswer(tb testing.TB, name string, qtype uint16, want test.Case, wantEDE string) *dns.Msg {
	tb.Helper()
	var last *dns.Msg
	eventually(tb, 30*time.Second, func() error {
		last = c.query(tb, "udp", name, qtype)
		return matches(last, want, wantEDE)
	})
	return last
}

// matches compares a reply with want: rcode, extended error, and the answer's records, whose TTLs
// may have counted down from want's but not to 0.
func matches(m *dns.Msg, want test.Case, wantEDE string) error {
	if m.Rcode != want.Rcode {
		return fmt.Errorf("%s: rcode %s, want %s\n%s", want.Qname, dns.RcodeToString[m.Rcode], dns.RcodeToString[want.Rcode], m)
	}
	if got := edeOf(m); got != wantEDE {
		return fmt.Errorf("%s: extended error %q, want %q", want.Qname, got, wantEDE)
	}
	if len(m.Answer) != len(want.Answer) {
		return fmt.Errorf("%s: %d answers, want %d\n%s", want.Qname, len(m.Answer), len(want.Answer), m)
	}
	for i, rr := range m.Answer {
		w := want.Answer[i]
		if rr.Header().Ttl == 0 || rr.Header().Ttl > w.Header().Ttl {
			return fmt.Errorf("%s: TTL %d, want 1 to %d\n%s", want.Qname, rr.Header().Ttl, w.Header().Ttl, m)
		}
		a, b := dns.Copy(rr), dns.Copy(w)
		a.Header().Ttl, b.Header().Ttl = 0, 0
		if !strings.EqualFold(a.String(), b.String()) {
			return fmt.Errorf("%s: answer %s, want %s", want.Qname, rr, w)
		}
	}
	return nil
}

// CoreDNS with flatten as cluster DNS, on the Corefile, service account and RBAC rules of
// deploy/kubernetes, against a real API server with RBAC on, resolving external targets through the
// Corefile's forward block at a real DNS server.
func TestKubernetes(t *testing.T) {
	t.Parallel()
	m := loadManifests(t)
	cp := startControlPlane(t)

	// The external targets' server.
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "db.example.net"), externalZone+bigRecords("big", 300))
	ext := start(t, "example.net:{{PORT}} {\n    bind 127.0.0.1\n    file "+filepath.Join(dir, "db.example.net")+"\n}\n")

	// The manifests' ServiceAccount, ClusterRole and binding; CoreDNS runs with a token of that
	// account, so the RBAC rules must cover everything the kubernetes plugin watches or it never
	// becomes ready.
	ctx := apiCtx(t)
	if _, err := cp.admin.CoreV1().ServiceAccounts(m.serviceAccount.Namespace).Create(ctx, m.serviceAccount, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.admin.RbacV1().ClusterRoles().Create(ctx, m.clusterRole, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := cp.admin.RbacV1().ClusterRoleBindings().Create(ctx, m.binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	expiry := int64(3600)
	tr, err := cp.admin.CoreV1().ServiceAccounts(m.serviceAccount.Namespace).CreateToken(ctx, m.serviceAccount.Name,
		&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := cp.kubeconfig(t, tr.Status.Token)

	// Services: some exist before CoreDNS starts, the rest are created while it watches.
	for _, ns := range []string{"prod", "dev"} {
		if _, err := cp.admin.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	cp.externalName(t, "default", "web", "www.example.net")
	backend := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "backend", Namespace: "default"},
		Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.50",
			Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}},
	}
	if _, err := cp.admin.CoreV1().Services("default").Create(ctx, backend, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}

	corefile := m.corefile(t)
	s := startClusterDNS(t, corefile, kubeconfig, ext.addr, "flatten cluster.local")
	if body := get(t, "http://"+s.health+"/health"); body != "OK" {
		t.Errorf("/health answered %q", body)
	}

	const zone = ".default.svc.cluster.local."
	t.Run("external target", func(t *testing.T) {
		s.waitAnswer(t, "web"+zone, dns.TypeA, test.Case{Qname: "web" + zone, Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("web" + zone + " 30 IN A 192.0.2.10")}}, "")
		s.waitAnswer(t, "Web"+zone, dns.TypeAAAA, test.Case{Qname: "Web" + zone, Qtype: dns.TypeAAAA,
			Answer: []dns.RR{test.AAAA("Web" + zone + " 30 IN AAAA 2001:db8::10")}}, "")
		// Over TCP too.
		if err := matches(s.query(t, "tcp", "web"+zone, dns.TypeA), test.Case{Qname: "web" + zone, Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("web" + zone + " 30 IN A 192.0.2.10")}}, ""); err != nil {
			t.Error(err)
		}
		if n := metric(t, s.metrics, "coredns_flatten_flattened_total"); n < 3 {
			t.Errorf("coredns_flatten_flattened_total is %v after three flattened answers", n)
		}
	})

	t.Run("target is a service in the cluster", func(t *testing.T) {
		cp.externalName(t, "default", "api", "backend"+zone)
		s.waitAnswer(t, "api"+zone, dns.TypeA, test.Case{Qname: "api" + zone, Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("api" + zone + " 30 IN A 10.96.0.50")}}, "")
	})

	// chain1 -> chain2 (a service) -> alias.example.net -> edge.example.net -> www.example.net:
	// four hops, the lowest TTL edge's 20.
	t.Run("chain of several hops", func(t *testing.T) {
		cp.externalName(t, "default", "chain2", "alias.example.net")
		cp.externalName(t, "default", "chain1", "chain2"+zone)
		s.waitAnswer(t, "chain1"+zone, dns.TypeA, test.Case{Qname: "chain1" + zone, Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("chain1" + zone + " 20 IN A 192.0.2.10")}}, "")
	})

	// 60 addresses behind an ExternalName, through the Corefile's forward: complete over TCP and
	// when they fit the client's buffer, TC=1 otherwise, whichever question comes first.
	t.Run("big target", func(t *testing.T) {
		cp.externalName(t, "default", "big", "big.example.net")
		eventually(t, 30*time.Second, func() error {
			if m := s.query(t, "tcp", "big"+zone, dns.TypeCNAME); len(m.Answer) == 0 {
				return fmt.Errorf("the service is not served yet")
			}
			return nil
		})
		for _, qtype := range []uint16{dns.TypeA, dns.TypeAAAA} {
			for _, q := range bigSetQueries {
				checkBigSet(t, q, "big"+zone, qtype, q.ask(t, s.addr, "big"+zone, qtype))
			}
		}
	})

	t.Run("dangling target", func(t *testing.T) {
		before := metric(t, s.metrics, "coredns_flatten_dangling_total")
		cp.externalName(t, "default", "orphan", "nothere.example.net")
		// NODATA: the alias exists, its target does not.
		m := s.waitAnswer(t, "orphan"+zone, dns.TypeA, test.Case{Qname: "orphan" + zone, Qtype: dns.TypeA},
			"0: dangling alias: target nothere.example.net. does not exist (NXDOMAIN): orphan"+zone+" -> nothere.example.net.")
		if len(m.Ns) != 1 || m.Ns[0].Header().Rrtype != dns.TypeSOA || m.Ns[0].Header().Name != "cluster.local." {
			t.Errorf("the NODATA reply's authority is not the cluster zone's SOA:\n%s", m)
		}
		s.waitLog(t, "[WARNING] plugin/flatten: warning dangling-cname orphan"+zone+": dangling CNAME: nothere.example.net. does not exist (NXDOMAIN): orphan"+zone+" -> nothere.example.net.")
		// A target inside the cluster that does not exist: the kubernetes plugin answers NODATA
		// without the CNAME; flatten finds the CNAME and reports it the same way.
		cp.externalName(t, "default", "stray", "nosuch"+zone)
		s.waitAnswer(t, "stray"+zone, dns.TypeA, test.Case{Qname: "stray" + zone, Qtype: dns.TypeA},
			"0: dangling alias: target nosuch"+zone+" does not exist (NXDOMAIN): stray"+zone+" -> nosuch"+zone)
		s.waitLog(t, "[WARNING] plugin/flatten: warning dangling-cname stray"+zone+": dangling CNAME: nosuch"+zone+" does not exist (NXDOMAIN): stray"+zone+" -> nosuch"+zone)
		if after := metric(t, s.metrics, "coredns_flatten_dangling_total"); after < before+2 {
			t.Errorf("coredns_flatten_dangling_total went from %v to %v", before, after)
		}
		if n := metric(t, s.metrics, "coredns_flatten_findings_total", `rule="dangling-cname"`); n < 2 {
			t.Errorf("coredns_flatten_findings_total{rule=\"dangling-cname\"} is %v", n)
		}
	})

	t.Run("loop between two services", func(t *testing.T) {
		cp.externalName(t, "default", "loop-a", "loop-b"+zone)
		cp.externalName(t, "default", "loop-b", "loop-a"+zone)
		// The kubernetes plugin hides this loop behind NODATA; flatten finds it (lookup.go,
		// mayHide). The extended error reaches the client through the shipped Corefile: flatten sits
		// before cache, which drops EDNS options from the replies passing through it (CoreDNS 1.15).
		s.waitAnswer(t, "loop-a"+zone, dns.TypeA, test.Case{Qname: "loop-a" + zone, Qtype: dns.TypeA, Rcode: dns.RcodeServerFailure},
			"0: CNAME loop: loop-a"+zone+" -> loop-b"+zone+" -> loop-a"+zone)
		s.waitLog(t, "[WARNING] plugin/flatten: error cname-loop loop-a"+zone+": CNAME loop: loop-a"+zone+" -> loop-b"+zone+" -> loop-a"+zone)
	})

	// The audit reads of the cluster zone only what can break a chain (the ExternalName services'
	// CNAMEs) and asks the kubernetes plugin, in memory, about the services their chains end at:
	// never the resolver, which does not know the cluster. Here the resolver is an authoritative
	// server for the root that holds example.net's names, so any cluster name asked of it would
	// come back NXDOMAIN and be reported dangling.
	t.Run("audit with a resolver that does not know the cluster", func(t *testing.T) {
		records := externalZone[strings.Index(externalZone, "www "):] + bigRecords("big", 300)
		writeFile(t, filepath.Join(dir, "db.root"), "$ORIGIN .\n@ 3600 IN SOA ns.invalid. hostmaster.invalid. 1 7200 3600 1209600 300\n@ 3600 IN NS ns.invalid.\n$ORIGIN example.net.\n"+records)
		root := start(t, ".:{{PORT}} {\n    bind 127.0.0.1\n    file "+filepath.Join(dir, "db.root")+" .\n}\n")
		withResolver := regexp.MustCompile(`(?m)^(\s*)flatten cluster\.local \{$`).ReplaceAllString(corefile,
			"${1}flatten cluster.local {\n${1}   resolver "+root.addr+"\n${1}   audit 1s")
		r := startClusterDNS(t, withResolver, kubeconfig, ext.addr, "flatten cluster.local")
		// The live answer through the resolver: flattened as before.
		r.waitAnswer(t, "chain1"+zone, dns.TypeA, test.Case{Qname: "chain1" + zone, Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("chain1" + zone + " 20 IN A 192.0.2.10")}}, "")
		var audit string
		eventually(t, 30*time.Second, func() error {
			out := r.out.String()
			at := strings.Index(out, "audit: warning dangling-cname stray"+zone+": dangling CNAME: nosuch"+zone+" does not exist (NXDOMAIN)")
			if at < 0 {
				return fmt.Errorf("no audit finding for the service that points at no service yet:\n%s", out)
			}
			// That audit's findings: from its summary line to the next audit's, if any.
			begin := strings.LastIndex(out[:at], "audit of cluster.local.")
			end := len(out)
			if next := strings.Index(out[at:], "audit of "); next >= 0 {
				end = at + next
			}
			audit = out[begin:end]
			return nil
		})
		// No false finding for a service whose chain ends at another service (api -> backend, a
		// ClusterIP service; chain1 -> chain2) or outside (web).
		for _, owner := range []string{"api", "chain1", "chain2", "web"} {
			if strings.Contains(audit, "dangling-cname "+owner+zone) {
				t.Errorf("the audit reports %s%s dangling:\n%s", owner, zone, audit)
			}
		}
		if !strings.Contains(audit, "audit: warning dangling-cname orphan"+zone+": dangling CNAME: nothere.example.net. does not exist (NXDOMAIN)") {
			t.Errorf("the audit does not report the service whose target is missing outside the cluster:\n%s", audit)
		}
	})

	// A service's ExternalName changes and another is deleted: within the TTL of the answers given
	// before, the answers follow.
	t.Run("changed and deleted services", func(t *testing.T) {
		t.Parallel() // waits out a 30 s TTL: beside the namespace list's wait for the audit
		cp.externalName(t, "default", "moving", "www.example.net")
		cp.externalName(t, "default", "gone", "www.example.net")
		s.waitAnswer(t, "moving"+zone, dns.TypeA, test.Case{Qname: "moving" + zone, Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("moving" + zone + " 30 IN A 192.0.2.10")}}, "")
		s.waitAnswer(t, "gone"+zone, dns.TypeA, test.Case{Qname: "gone" + zone, Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("gone" + zone + " 30 IN A 192.0.2.10")}}, "")

		svc, err := cp.admin.CoreV1().Services("default").Get(apiCtx(t), "moving", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		svc.Spec.ExternalName = "shops.example.net"
		changed := time.Now()
		if _, err := cp.admin.CoreV1().Services("default").Update(apiCtx(t), svc, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := cp.admin.CoreV1().Services("default").Delete(apiCtx(t), "gone", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}

		// Until then every answer is the old one or the new one, never anything else. The API
		// server's watch takes up to a few seconds to reach CoreDNS: until it has, a lookup still
		// gets the old data, with a whole TTL (30 s, the kubernetes plugin's). So the old data may
		// be served up to the watch delay and a TTL after the change, never longer.
		const watchDelay = 5 * time.Second
		follow := func(name string, oldCase, newCase test.Case) {
			deadline := changed.Add(time.Duration(oldCase.Answer[0].Header().Ttl)*time.Second + watchDelay)
			for {
				m := s.query(t, "udp", name, dns.TypeA)
				if matches(m, newCase, "") == nil {
					t.Logf("%s followed the change after %v", name, time.Since(changed).Round(100*time.Millisecond))
					return
				}
				if err := matches(m, oldCase, ""); err != nil {
					t.Fatalf("while the change propagates: %v", err)
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s still answers the old data after its TTL: %s", name, answer(m))
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		follow("moving"+zone,
			test.Case{Qname: "moving" + zone, Qtype: dns.TypeA, Answer: []dns.RR{test.A("moving" + zone + " 30 IN A 192.0.2.10")}},
			test.Case{Qname: "moving" + zone, Qtype: dns.TypeA, Answer: []dns.RR{test.A("moving" + zone + " 30 IN A 192.0.2.40")}})
		follow("gone"+zone,
			test.Case{Qname: "gone" + zone, Qtype: dns.TypeA, Answer: []dns.RR{test.A("gone" + zone + " 30 IN A 192.0.2.10")}},
			test.Case{Qname: "gone" + zone, Qtype: dns.TypeA, Rcode: dns.RcodeNameError})
	})

	// Flattening chosen namespaces: the flatten line names their zones.
	t.Run("namespace list", func(t *testing.T) {
		t.Parallel()
		cp.externalName(t, "prod", "web", "www.example.net")
		cp.externalName(t, "dev", "web", "www.example.net")
		cp.externalName(t, "prod", "loop-x", "loop-y.prod.svc.cluster.local")
		cp.externalName(t, "prod", "loop-y", "loop-x.prod.svc.cluster.local")
		ns := startClusterDNS(t, corefile, kubeconfig, ext.addr, "flatten prod.svc.cluster.local")
		ns.waitAnswer(t, "web.prod.svc.cluster.local.", dns.TypeA, test.Case{Qname: "web.prod.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("web.prod.svc.cluster.local. 30 IN A 192.0.2.10")}}, "")
		// dev is not flattened: the kubernetes plugin's own answer, the CNAME and its target's
		// addresses.
		ns.waitAnswer(t, "web.dev.svc.cluster.local.", dns.TypeA, test.Case{Qname: "web.dev.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{
				test.CNAME("web.dev.svc.cluster.local. 30 IN CNAME www.example.net."),
				test.A("www.example.net. 60 IN A 192.0.2.10"),
			}}, "")
		// The audit reads the namespace's part of cluster.local from the kubernetes plugin (once it
		// has synced: at the first serial check after that).
		eventually(t, 40*time.Second, func() error {
			out := ns.out.String()
			for _, want := range []string{
				"[INFO] plugin/flatten: audit of prod.svc.cluster.local. (serial ",
				"[WARNING] plugin/flatten: audit: error cname-loop loop-x.prod.svc.cluster.local.: CNAME loop: loop-x.prod.svc.cluster.local. -> loop-y.prod.svc.cluster.local. -> loop-x.prod.svc.cluster.local.",
			} {
				if !strings.Contains(out, want) {
					return fmt.Errorf("no log line %q in:\n%s", want, out)
				}
			}
			return nil
		})
		if strings.Contains(ns.out.String(), "dev.svc.cluster.local") {
			t.Errorf("the audit of prod reported names of another namespace:\n%s", ns.out)
		}
	})
}
