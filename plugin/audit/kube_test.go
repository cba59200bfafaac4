package audit

import (
	"context"
	"testing"

	"github.com/coredns/coredns/plugin"
	"github.com/coredns/coredns/plugin/kubernetes"
	"github.com/coredns/coredns/plugin/kubernetes/object"

	api "k8s.io/api/core/v1"
)

// fakeConn is the kubernetes plugin's informer cache, as the audit reads it.
type fakeConn struct {
	svcs     []*object.Service
	modified int64
}

func (c *fakeConn) ServiceList() []*object.Service                           { return c.svcs }
func (c *fakeConn) EndpointsList() []*object.Endpoints                       { return nil }
func (c *fakeConn) ServiceImportList() []*object.ServiceImport               { return nil }
func (c *fakeConn) SvcIndex(string) []*object.Service                        { return nil }
func (c *fakeConn) SvcIndexReverse(string) []*object.Service                 { return nil }
func (c *fakeConn) SvcExtIndexReverse(string) []*object.Service              { return nil }
func (c *fakeConn) SvcImportIndex(string) []*object.ServiceImport            { return nil }
func (c *fakeConn) PodIndex(string) []*object.Pod                            { return nil }
func (c *fakeConn) EpIndex(string) []*object.Endpoints                       { return nil }
func (c *fakeConn) EpIndexReverse(string) []*object.Endpoints                { return nil }
func (c *fakeConn) McEpIndex(string) []*object.MultiClusterEndpoints         { return nil }
func (c *fakeConn) GetNodeByName(context.Context, string) (*api.Node, error) { return nil, nil }
func (c *fakeConn) GetNamespaceByName(string) (*object.Namespace, error)     { return nil, nil }
func (c *fakeConn) Run()                                                     {}
func (c *fakeConn) HasSynced() bool                                          { return true }
func (c *fakeConn) Stop() error                                              { return nil }
func (c *fakeConn) Modified(kubernetes.ModifiedMode) int64                   { return c.modified }

// Only changes the audit can see make it read the cluster's zone again: an ExternalName added,
// removed or retargeted, a service added or removed; not a port change, nor an endpoint change.
func TestKubeWatch(t *testing.T) {
	ext := &object.Service{Name: "web", Namespace: "prod", Type: api.ServiceTypeExternalName, ExternalName: "www.example.net"}
	ip := &object.Service{Name: "db", Namespace: "prod", ClusterIPs: []string{"10.96.0.5"}}
	conn := &fakeConn{svcs: []*object.Service{ext, ip}, modified: 100}
	k := &kubernetes.Kubernetes{Zones: []string{"cluster.local."}, APIConn: conn}
	w := newKubeWatch([]plugin.Handler{k})
	if !w.covers("prod.svc.cluster.local.") || w.covers("example.org.") || w.serial() != 100 {
		t.Fatal("the watch does not cover the cluster's zones")
	}
	if !w.changed() {
		t.Error("the first look is a change")
	}
	for _, step := range []struct {
		name   string
		change func()
		want   bool
	}{
		{"nothing", func() {}, false},
		{"a port changed (a new object, the same names)", func() {
			cp := *ip
			cp.Ports = []api.ServicePort{{Port: 5432}}
			conn.svcs[1] = &cp
		}, false},
		{"the ExternalName retargeted", func() {
			cp := *ext
			cp.ExternalName = "other.example.net"
			conn.svcs[0] = &cp
		}, true},
		{"a service added", func() {
			conn.svcs = append(conn.svcs, &object.Service{Name: "cache", Namespace: "prod"})
		}, true},
		{"a service removed", func() { conn.svcs = conn.svcs[:2] }, true},
		{"nothing again", func() {}, false},
	} {
		step.change()
		if got := w.changed(); got != step.want {
			t.Errorf("%s: changed %v, want %v", step.name, got, step.want)
		}
	}
}
