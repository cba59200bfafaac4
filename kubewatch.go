package flatten

// In cluster DNS the kubernetes plugin's serial changes with every service and endpoint change in
// the cluster, and reading its zone means building every service's records. With thousands of
// services and endpoints that churn, re-reading and re-checking them all on each change would cost
// the audit work in proportion to the cluster, not to the change. So before it reads, the audit
// asks the plugin's informer cache (an in-memory list of services) whether anything it can see
// changed: an ExternalName service added, removed or retargeted, or a service added or removed
// (it may be an ExternalName's target). Endpoint changes and other changes to services leave the
// findings as they are, and cost one pass over the cached list.

import (
	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/kubernetes"
	"github.com/coredns/coredns/plugin/kubernetes/object"
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

// covers reports whether zone origin is the kubernetes plugin's, and its informer cache is up.
func (w *kubeWatch) covers(origin string) bool {
	return w != nil && w.k.APIConn != nil && w.k.APIConn.HasSynced() && plugin.Zones(w.k.Zones).Matches(origin) != ""
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
