package test

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// kubeServices is the size of the cluster the benchmark builds: half ExternalName services (a
// third of them to other services of the cluster, the rest to names outside), half ClusterIP.
const kubeServices = 10_000

// changes counts the service changes made, so that each is a change.
var changes int

// BenchmarkKubernetesServiceChange measures what one service change costs cluster DNS with 10,000
// services in a real API server: the CPU time and the bytes allocated by the custom CoreDNS over
// the two seconds after a change (the audit looks every second), with flatten (all, audit 1s) and
// without it (what the kubernetes plugin itself spends on the change). Two changes: an ExternalName
// service retargeted, which the audit must see, and a ClusterIP service's port changed, which
// changes the plugin's serial but nothing the audit sees. Run it with
//
//	go test ./test -run '^$' -bench KubernetesServiceChange -benchtime 5x
func BenchmarkKubernetesServiceChange(b *testing.B) {
	cp := startControlPlane(b)
	dir := b.TempDir()
	writeFile(b, filepath.Join(dir, "db.example.net"), externalZone)
	ext := start(b, "example.net:{{PORT}} {\n    bind 127.0.0.1\n    file "+filepath.Join(dir, "db.example.net")+"\n}\n")
	createServices(b, cp, nil)
	kubeconfig := cp.kubeconfig(b, cp.config.BearerToken)
	for _, flatten := range []bool{true, false} {
		block := ""
		if flatten {
			block = "flatten cluster.local {\n        all\n        audit 1s\n    }"
		}
		for _, change := range []string{"externalname", "clusterip"} {
			b.Run(map[bool]string{true: "flatten", false: "without"}[flatten]+"/"+change, func(b *testing.B) {
				metrics := fmt.Sprintf("127.0.0.1:%d", freePort(b))
				s := start(b, fmt.Sprintf(`.:{{PORT}} {
    bind 127.0.0.1
    prometheus %s
    %s
    kubernetes cluster.local {
        kubeconfig %s test
    }
    forward . %s
}
`, metrics, block, kubeconfig, ext.addr))
				audits := func() int { return strings.Count(s.out.String(), "audit of cluster.local.") }
				// The first audit, of every service (the kubernetes plugin has synced).
				eventually(b, 2*time.Minute, func() error {
					if flatten && !regexp.MustCompile(`audit of cluster\.local\. \(serial \d+, \d{4,} records\)`).MatchString(s.out.String()) {
						return fmt.Errorf("no audit of the services yet")
					}
					return nil
				})
				time.Sleep(2 * time.Second)
				var cpu, alloc float64
				before := audits()
				b.ResetTimer()
				for range b.N {
					cpuBefore, allocBefore := cpuSeconds(b, s), metric(b, metrics, "go_memstats_alloc_bytes_total")
					changeService(b, cp, change)
					time.Sleep(2 * time.Second)
					cpu += cpuSeconds(b, s) - cpuBefore
					alloc += metric(b, metrics, "go_memstats_alloc_bytes_total") - allocBefore
				}
				b.StopTimer()
				b.ReportMetric(cpu/float64(b.N)*1e3, "cpu-ms/change")
				b.ReportMetric(alloc/float64(b.N)/(1<<20), "alloc-MiB/change")
				if flatten {
					b.ReportMetric(float64(audits()-before)/float64(b.N), "audits/change")
				}
				b.ReportMetric(float64(peakRSSOf(b, s))/(1<<20), "peak-RSS-MiB")
			})
		}
	}
}

// changeService changes one service: retargets ExternalName ext-0, or changes ClusterIP svc-1's
// port.
func changeService(b *testing.B, cp *controlPlane, kind string) {
	b.Helper()
	changes++ // a new value each time, across the benchmark's runs
	name := map[string]string{"externalname": "ext-0", "clusterip": "svc-1"}[kind]
	svc, err := cp.admin.CoreV1().Services("default").Get(apiCtx(b), name, metav1.GetOptions{})
	if err != nil {
		b.Fatal(err)
	}
	if kind == "externalname" {
		svc.Spec.ExternalName = fmt.Sprintf("changed-%d.example.net", changes)
	} else {
		svc.Spec.Ports[0].Port = int32(1000 + changes)
	}
	if _, err := cp.admin.CoreV1().Services("default").Update(apiCtx(b), svc, metav1.UpdateOptions{}); err != nil {
		b.Fatal(err)
	}
}

// createServices creates kubeServices services in the default namespace, 16 at a time. The
// ExternalName services that name no service of the cluster name www.example.net, or target(i).
func createServices(b *testing.B, cp *controlPlane, target func(int) string) {
	b.Helper()
	cfg := *cp.config
	cfg.QPS, cfg.Burst = 1000, 1000 // client-go's defaults (5 a second) would take half an hour
	client, err := kubernetes.NewForConfig(&cfg)
	if err != nil {
		b.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 1)
	work := make(chan int)
	for range 16 {
		wg.Go(func() {
			for i := range work {
				svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: "default"}}
				switch {
				case i%2 == 1:
					svc.Name = fmt.Sprintf("svc-%d", i)
					svc.Spec = corev1.ServiceSpec{Ports: []corev1.ServicePort{{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP}}}
				case i%6 == 0:
					svc.Name = fmt.Sprintf("ext-%d", i)
					svc.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: fmt.Sprintf("svc-%d.default.svc.cluster.local", i+1)}
				default:
					svc.Name = fmt.Sprintf("ext-%d", i)
					svc.Spec = corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "www.example.net"}
					if target != nil {
						svc.Spec.ExternalName = target(i)
					}
				}
				if _, err := client.CoreV1().Services("default").Create(apiCtx(b), svc, metav1.CreateOptions{}); err != nil {
					select {
					case errs <- err:
					default:
					}
				}
			}
		})
	}
	for i := range kubeServices {
		work <- i
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}

// cpuSeconds is the CPU time (user and system) the server's process has used so far.
func cpuSeconds(tb testing.TB, s *server) float64 {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		tb.Fatal(err)
	}
	// The fields after the command's name (in parentheses): utime and stime are the 12th and 13th.
	f := strings.Fields(string(b[strings.LastIndexByte(string(b), ')')+2:]))
	utime, _ := strconv.ParseFloat(f[11], 64)
	stime, _ := strconv.ParseFloat(f[12], 64)
	return (utime + stime) / 100 // clock ticks: 100 a second on Linux
}

// peakRSSOf reads the server's high-water resident set size in bytes.
func peakRSSOf(tb testing.TB, s *server) int64 {
	tb.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", s.cmd.Process.Pid))
	if err != nil {
		tb.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return kb * 1024
		}
	}
	return 0
}

// BenchmarkKubernetesMemory measures the memory the kit's limit is written from: the custom
// CoreDNS on the kit's Corefile (deploy/kubernetes/configmap.yaml) in a cluster of 10,000 services,
// once the audit has read them all and every ExternalName service has been asked for, each naming
// a target of its own (about 4,200 targets in the cache), against the same Corefile without
// flatten. It reports the peak resident set size
// (VmHWM). Run it with a CoreDNS built without the race detector:
//
//	go build -o /tmp/coredns ./cmd/coredns
//	FLATTEN_COREDNS=/tmp/coredns go test ./test -run '^$' -bench KubernetesMemory -benchtime 1x
func BenchmarkKubernetesMemory(b *testing.B) {
	cp := startControlPlane(b)
	// Every name under example.net has an address: each ExternalName service names its own.
	ext := start(b, "example.net:{{PORT}} {\n    bind 127.0.0.1\n    template IN A {\n        answer \"{{ .Name }} 60 IN A 192.0.2.10\"\n    }\n}\n")
	createServices(b, cp, func(i int) string { return fmt.Sprintf("t-%d.example.net", i) })
	kubeconfig := cp.kubeconfig(b, cp.config.BearerToken)
	corefile := loadManifests(b).configMap.Data["Corefile"]
	for _, flatten := range []bool{true, false} {
		b.Run(map[bool]string{true: "flatten", false: "without"}[flatten], func(b *testing.B) {
			for range b.N {
				line := "flatten cluster.local"
				if !flatten {
					line = "" // the same Corefile with the plugin's block taken out
				}
				s := startClusterDNS(b, corefile, kubeconfig, ext.addr, line)
				if flatten {
					eventually(b, 2*time.Minute, func() error {
						if !regexp.MustCompile(`audit of cluster\.local\. \(serial \d+, \d{4,} records\)`).MatchString(s.out.String()) {
							return fmt.Errorf("no audit of the services yet")
						}
						return nil
					})
				}
				// Every ExternalName service asked for: the target cache holds every chain.
				for i := 0; i < kubeServices; i += 2 {
					s.query(b, "udp", fmt.Sprintf("ext-%d.default.svc.cluster.local.", i), dns.TypeA)
				}
				b.ReportMetric(float64(peakRSSOf(b, s.server))/(1<<20), "peak-RSS-MiB")
				b.ReportMetric(metric(b, s.metrics, "process_resident_memory_bytes")/(1<<20), "RSS-MiB")
				b.ReportMetric(metric(b, s.metrics, "go_memstats_heap_inuse_bytes")/(1<<20), "heap-MiB")
				s.stop()
			}
		})
	}
}
