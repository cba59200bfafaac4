package audit

// In cluster DNS the kubernetes plugin's serial changes with every service and endpoint change in
// the cluster, and reading its zone means building every service's records. With thousands of
// services and endpoints that churn, re-reading and re-checking them all on each change would cost
// the audit work in proportion to the cluster, not to the change. So before it reads, the audit
// asks the plugin's informer cache (an in-memory list of services) whether anything it can see
// changed: an ExternalName service added, removed or retargeted, or a service added or removed
// (it may be an ExternalName's target). Endpoint changes and other changes to services leave the
// findings as they are, and cost one pass over the cached list.
//
// What the audit reads of the plugin's zone is not the whole zone either. In a cluster zone the
// only records that can break a chain are the CNAMEs of ExternalName services, and the only names
// a chain ends at are services (or, rarely, their endpoints): SRV records, PTR records and the
// endpoints' names add nothing the rules need. So the audit reads the SOA, each ExternalName's CNAME
// and each cluster-IP service's addresses, as the plugin answers them, and only for the objects
// that are new since the last read (the informer replaces an object when its service changes);
// the rules get a partial zone, and a chain that ends at a name it lacks (an endpoint, a headless
// service) is asked of the plugin in memory (oracle.go). A change costs work in proportion to the
// services that changed, and one pass over the informer's list.

import (
	"context"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/kubernetes"
	"github.com/coredns/coredns/plugin/kubernetes/object"
	"github.com/coredns/coredns/request"
	"github.com/dnsflatten/flatten/plugin/chain"
	"github.com/dnsflatten/flatten/plugin/own"

	"github.com/miekg/dns"
	api "k8s.io/api/core/v1"
)

// kubeWatch tells the audit whether the kubernetes plugin's services changed in a way it can see.
// Only the audit's goroutine uses it.
type kubeWatch struct {
	k *kubernetes.Kubernetes
	// seen are the service objects of the last call: the informer replaces an object when its
	// service changes, so a service whose object is still here did not change.
	seen map[*object.Service]struct{}
	// ext is the ExternalName ("" for other types) of each service ("name.namespace") the audit
	// last read.
	ext map[string]string
	// records are what read asked of each service object, per zone read: an object still listed
	// did not change, so its records are not asked again.
	records map[string]map[*object.Service][]dns.RR
}

// newKubeWatch returns a watch on the kubernetes plugin among hs, or nil.
func newKubeWatch(hs []plugin.Handler) *kubeWatch {
	for _, h := range hs {
		if k, ok := h.(*kubernetes.Kubernetes); ok {
			return &kubeWatch{k: k}
		}
	}
	return nil
}

// owns reports whether zone origin is the kubernetes plugin's, or a part of it.
func (w *kubeWatch) owns(origin string) bool {
	return w != nil && plugin.Zones(w.k.Zones).Matches(origin) != ""
}

// covers reports whether zone origin is the kubernetes plugin's, and its informer cache is up.
func (w *kubeWatch) covers(origin string) bool {
	return w.owns(origin) && w.k.APIConn != nil && w.k.APIConn.HasSynced()
}

// read reads zone origin in part (see above): the SOA, when origin is the plugin's own zone; the
// CNAME of every ExternalName service in origin and the addresses of every service with a cluster
// IP (not the headless ones, whose answers follow their endpoints), each as the plugin answers it
// (its TTL, its target, and only in the namespaces it exposes). A service object read before is
// not asked again. With serial, unchanged zones come back without records.
func (w *kubeWatch) read(ctx context.Context, origin string, serial uint32) (zoneRead, error) {
	now := w.serial()
	if serial != 0 && now == serial {
		return zoneRead{serial: serial}, nil
	}
	zone := plugin.Zones(w.k.Zones).Matches(origin)
	z := zoneRead{serial: now, records: []dns.RR{}, partial: true}
	if chain.Equal(zone, origin) {
		soa, err := plugin.SOA(ctx, w.k, zone, request.Request{}, plugin.Options{})
		if err != nil {
			return zoneRead{}, err
		}
		z.records = append(z.records, soa...)
	}
	if w.records == nil {
		w.records = map[string]map[*object.Service][]dns.RR{}
	}
	last, cur := w.records[origin], map[*object.Service][]dns.RR{}
	for _, s := range w.k.APIConn.ServiceList() {
		if s.Type != api.ServiceTypeExternalName && (len(s.ClusterIPs) == 0 || s.Headless()) {
			continue // its answers follow its endpoints, not its object: asked when a chain ends there
		}
		rrs, ok := last[s]
		if !ok {
			name := dns.Fqdn(s.Name + "." + s.Namespace + ".svc." + zone)
			if !dns.IsSubDomain(origin, name) {
				continue
			}
			qtype := dns.TypeA
			if s.Type == api.ServiceTypeExternalName {
				qtype = dns.TypeCNAME
			}
			m, err := w.lookup(ctx, name, qtype)
			if err != nil {
				continue
			}
			for _, rr := range m.Answer {
				if rr.Header().Rrtype == qtype && chain.Equal(rr.Header().Name, name) {
					rrs = append(rrs, rr)
				}
			}
		}
		cur[s] = rrs
		z.records = append(z.records, rrs...)
	}
	w.records[origin] = cur
	return z, nil
}

// lookup asks the kubernetes plugin, in memory, what it answers for name and qtype: how the audit
// learns whether a name of the cluster that its partial zone lacks exists (see oracle.go).
func (w *kubeWatch) lookup(ctx context.Context, name string, qtype uint16) (*dns.Msg, error) {
	m, _, err := own.Ask(ctx, w.k, name, qtype)
	return m, err
}

// serial returns the serial the plugin's zones have now: the time of its last change.
func (w *kubeWatch) serial() uint32 {
	return uint32(w.k.APIConn.Modified(kubernetes.ModifiedInternal)) // #nosec G115 -- Unix time, as the plugin's SOA
}

// changed reports whether the services differ from the last call in a way the audit can see: an
// ExternalName added, removed or retargeted, or a service added or removed. It looks at each
// service's object once, and at the name only of those whose object is new.
func (w *kubeWatch) changed() bool {
	svcs := w.k.APIConn.ServiceList()
	first := w.ext == nil
	if first {
		w.ext = make(map[string]string, len(svcs))
	}
	seen := make(map[*object.Service]struct{}, len(svcs))
	diff := first
	for _, s := range svcs {
		seen[s] = struct{}{}
		if _, ok := w.seen[s]; ok {
			continue
		}
		k := object.ServiceKey(s.Name, s.Namespace)
		if ext, ok := w.ext[k]; !ok || ext != s.ExternalName {
			diff = true // added, or retargeted
		}
		w.ext[k] = s.ExternalName
	}
	if len(w.ext) > len(svcs) {
		// A service went: forget it, and every name no longer listed.
		diff = true
		clear(w.ext)
		for _, s := range svcs {
			w.ext[object.ServiceKey(s.Name, s.Namespace)] = s.ExternalName
		}
	}
	w.seen = seen
	return diff
}

// kubeState is what one pass knows of the kubernetes plugin's services: asked at most once.
type kubeState struct {
	w              *kubeWatch
	asked, changed bool
}

// same reports whether zone origin, last read at serial, is the kubernetes plugin's and changed
// since in no way the audit can see.
func (k *kubeState) same(origin string, serial uint32) bool {
	if !k.w.covers(origin) || k.w.serial() == serial {
		return false // not the plugin's, or unchanged anyway (the read then costs only the SOA)
	}
	if !k.asked {
		k.changed, k.asked = k.w.changed(), true
	}
	return !k.changed
}

// read notes that zone origin was read: the services it holds are the ones to compare with next.
func (k *kubeState) read(origin string) {
	if !k.asked && k.w.covers(origin) {
		k.w.changed()
		k.asked = true
	}
}
