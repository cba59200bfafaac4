package test

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"
)

// deployDir holds the manifests that replace a cluster's DNS with the custom build.
const deployDir = "../deploy/kubernetes"

// serviceComponent is the optional component with the cluster DNS Service, for a cluster that has
// none yet.
const serviceComponent = deployDir + "/components/kube-dns-service"

// manifests are the objects of deploy/kubernetes (the base) and the Service of its
// kube-dns-service component, decoded strictly (an unknown or duplicate field is an error, as it
// is for kubectl apply --validate=strict).
type manifests struct {
	kustomization struct {
		APIVersion string   `json:"apiVersion"`
		Kind       string   `json:"kind"`
		Namespace  string   `json:"namespace"`
		Resources  []string `json:"resources"`
		Images     []struct {
			Name    string `json:"name"`
			NewName string `json:"newName,omitempty"`
			NewTag  string `json:"newTag,omitempty"`
			Digest  string `json:"digest,omitempty"`
		} `json:"images"`
	}
	serviceAccount *corev1.ServiceAccount
	clusterRole    *rbacv1.ClusterRole
	binding        *rbacv1.ClusterRoleBinding
	configMap      *corev1.ConfigMap
	deployment     *appsv1.Deployment
	pdb            *policyv1.PodDisruptionBudget
	service        *corev1.Service // the component's: its address comes from the overlay
}

func loadManifests(tb testing.TB) *manifests {
	tb.Helper()
	m := &manifests{}
	k, err := os.ReadFile(filepath.Join(deployDir, "kustomization.yaml"))
	if err != nil {
		tb.Fatal(err)
	}
	if err := yaml.UnmarshalStrict(k, &m.kustomization); err != nil {
		tb.Fatalf("kustomization.yaml: %v", err)
	}
	files, _ := filepath.Glob(filepath.Join(deployDir, "*.yaml"))
	var listed []string
	for _, f := range files {
		if filepath.Base(f) != "kustomization.yaml" {
			listed = append(listed, filepath.Base(f))
		}
	}
	if !slices.Equal(slices.Sorted(slices.Values(m.kustomization.Resources)), listed) {
		tb.Errorf("kustomization.yaml lists %v; the folder holds %v", m.kustomization.Resources, listed)
	}

	decoder := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	for _, name := range m.kustomization.Resources {
		for i, doc := range yamlDocuments(tb, filepath.Join(deployDir, name)) {
			obj, _, err := decoder.Decode(doc, nil, nil)
			if err != nil {
				tb.Fatalf("%s, document %d: %v", name, i+1, err)
			}
			m.add(tb, name, obj)
		}
	}
	if m.service != nil {
		tb.Errorf("the base has a Service: it must leave the cluster's own kube-dns Service alone")
	}
	docs := yamlDocuments(tb, filepath.Join(serviceComponent, "service.yaml"))
	if len(docs) != 1 {
		tb.Fatalf("service.yaml: %d documents, want 1", len(docs))
	}
	obj, _, err := decoder.Decode(docs[0], nil, nil)
	if err != nil {
		tb.Fatalf("service.yaml: %v", err)
	}
	s, ok := obj.(*corev1.Service)
	if !ok {
		tb.Fatalf("service.yaml holds a %T, want a Service", obj)
	}
	if s.Spec.ClusterIP != "" {
		tb.Errorf("the kube-dns Service has the address %s by default: it must come from the overlay", s.Spec.ClusterIP)
	}
	m.service = s
	for what, missing := range map[string]bool{
		"ServiceAccount": m.serviceAccount == nil, "ClusterRole": m.clusterRole == nil,
		"ClusterRoleBinding": m.binding == nil, "ConfigMap": m.configMap == nil,
		"Deployment": m.deployment == nil, "PodDisruptionBudget": m.pdb == nil,
	} {
		if missing {
			tb.Errorf("deploy/kubernetes has no %s", what)
		}
	}
	if tb.Failed() {
		tb.FailNow()
	}
	return m
}

func (m *manifests) add(tb testing.TB, file string, obj runtime.Object) {
	tb.Helper()
	switch o := obj.(type) {
	case *corev1.ServiceAccount:
		m.serviceAccount = o
	case *rbacv1.ClusterRole:
		m.clusterRole = o
	case *rbacv1.ClusterRoleBinding:
		m.binding = o
	case *corev1.ConfigMap:
		m.configMap = o
	case *appsv1.Deployment:
		m.deployment = o
	case *policyv1.PodDisruptionBudget:
		m.pdb = o
	case *corev1.Service:
		m.service = o
	default:
		tb.Errorf("%s: unexpected %T", file, obj)
	}
}

// yamlDocuments splits a multi-document YAML file.
func yamlDocuments(tb testing.TB, path string) [][]byte {
	tb.Helper()
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r := utilyaml.NewYAMLReader(bufio.NewReader(f))
	var docs [][]byte
	for {
		doc, err := r.Read()
		if errors.Is(err, io.EOF) {
			return docs
		}
		if err != nil {
			tb.Fatalf("%s: %v", path, err)
		}
		if len(bytes.TrimSpace(doc)) > 0 {
			docs = append(docs, doc)
		}
	}
}

// corefile is the Corefile the ConfigMap carries.
func (m *manifests) corefile(tb testing.TB) string {
	tb.Helper()
	c, ok := m.configMap.Data["Corefile"]
	if !ok {
		tb.Fatal("the ConfigMap has no Corefile key")
	}
	return c
}

// corefilePort returns the port a plugin's line in the Corefile listens on ("health", ":8080"
// by default when the line names none).
func corefilePort(tb testing.TB, corefile, plugin string, def int) int {
	tb.Helper()
	re := regexp.MustCompile(`(?m)^\s*` + plugin + `\b([^{\n]*)`)
	found := re.FindStringSubmatch(corefile)
	if found == nil {
		tb.Fatalf("the Corefile has no %s line", plugin)
	}
	addr := strings.TrimSpace(found[1])
	if addr == "" {
		return def
	}
	port, err := strconv.Atoi(addr[strings.LastIndexByte(addr, ':')+1:])
	if err != nil {
		tb.Fatalf("%s %s: no port", plugin, addr)
	}
	return port
}

// The manifests parse, refer to each other consistently, and match the Corefile and the image.
func TestManifests(t *testing.T) {
	m := loadManifests(t)
	d := m.deployment
	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("the Deployment has %d containers, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	corefile := m.corefile(t)

	// The standard cluster DNS's names, so that the objects replace it in place.
	for what, got := range map[string]string{
		"Deployment": d.Name, "Service": m.service.Name, "ServiceAccount": m.serviceAccount.Name,
		"ClusterRole": m.clusterRole.Name, "ClusterRoleBinding": m.binding.Name, "PodDisruptionBudget": m.pdb.Name,
	} {
		want := map[string]string{"Deployment": "coredns", "Service": "kube-dns", "ServiceAccount": "coredns",
			"ClusterRole": "system:coredns", "ClusterRoleBinding": "system:coredns", "PodDisruptionBudget": "coredns"}[what]
		if got != want {
			t.Errorf("%s is named %q; the standard cluster DNS's is %q", what, got, want)
		}
	}
	for _, ns := range []string{d.Namespace, m.service.Namespace, m.serviceAccount.Namespace, m.configMap.Namespace, m.pdb.Namespace, m.kustomization.Namespace} {
		if ns != "kube-system" {
			t.Errorf("namespace %q, want kube-system", ns)
		}
	}

	// References between the objects.
	if pod.ServiceAccountName != m.serviceAccount.Name {
		t.Errorf("the pods run as %q; the ServiceAccount is %q", pod.ServiceAccountName, m.serviceAccount.Name)
	}
	if r := m.binding.RoleRef; r.Kind != "ClusterRole" || r.Name != m.clusterRole.Name {
		t.Errorf("the binding refers to %s %s", r.Kind, r.Name)
	}
	if s := m.binding.Subjects; len(s) != 1 || s[0].Kind != "ServiceAccount" || s[0].Name != m.serviceAccount.Name || s[0].Namespace != m.serviceAccount.Namespace {
		t.Errorf("the binding's subjects %+v are not the ServiceAccount", s)
	}
	configMapped := false
	for _, v := range pod.Volumes {
		if v.ConfigMap != nil && v.ConfigMap.Name == m.configMap.Name {
			configMapped = true
		}
	}
	if !configMapped {
		t.Errorf("no volume of the Deployment mounts ConfigMap %s", m.configMap.Name)
	}
	if !slices.Equal(c.Args, []string{"-conf", "/etc/coredns/Corefile"}) || len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/etc/coredns" {
		t.Errorf("the container reads %v with mounts %+v; want -conf /etc/coredns/Corefile from the ConfigMap", c.Args, c.VolumeMounts)
	}
	for k, v := range m.service.Spec.Selector {
		if d.Spec.Template.Labels[k] != v || d.Spec.Selector.MatchLabels[k] != v {
			t.Errorf("the Service selects %s=%s; the pods are labelled %v", k, v, d.Spec.Template.Labels)
		}
	}

	// Ports: DNS on 53, metrics on the prometheus plugin's port, probes on health's and ready's.
	containerPorts := map[string]int32{}
	for _, p := range c.Ports {
		containerPorts[p.Name] = p.ContainerPort
	}
	if !strings.HasPrefix(strings.TrimSpace(corefile), ".:53 {") {
		t.Errorf("the Corefile does not serve . on port 53:\n%s", corefile)
	}
	metricsPort := corefilePort(t, corefile, "prometheus", 9153)
	want := map[string]int32{"dns": 53, "dns-tcp": 53, "metrics": int32(metricsPort)}
	for name, port := range want {
		if containerPorts[name] != port {
			t.Errorf("container port %s is %d, want %d", name, containerPorts[name], port)
		}
	}
	for _, p := range m.service.Spec.Ports {
		if int32(p.TargetPort.IntValue()) != want[p.Name] {
			t.Errorf("the Service's port %s targets %s, want %d", p.Name, p.TargetPort.String(), want[p.Name])
		}
	}
	if p := c.LivenessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/health" || p.HTTPGet.Port.IntValue() != corefilePort(t, corefile, "health", 8080) {
		t.Errorf("the liveness probe %+v is not the health plugin's /health", p)
	}
	if p := c.ReadinessProbe; p == nil || p.HTTPGet == nil || p.HTTPGet.Path != "/ready" || p.HTTPGet.Port.IntValue() != corefilePort(t, corefile, "ready", 8181) {
		t.Errorf("the readiness probe %+v is not the ready plugin's /ready", p)
	}

	// Non-root, as the image's numeric USER, binding port 53 with one capability.
	sc := c.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || sc.Capabilities == nil ||
		!slices.Equal(sc.Capabilities.Add, []corev1.Capability{"NET_BIND_SERVICE"}) || !slices.Equal(sc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
		t.Fatalf("the container's security context %+v is not non-root, read-only, with only NET_BIND_SERVICE", sc)
	}
	dockerfile, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	if user := fmt.Sprintf("\nUSER %d:%d\n", *sc.RunAsUser, *sc.RunAsUser); !strings.Contains(string(dockerfile), user) {
		t.Errorf("the Dockerfile has no %q: the image and the Deployment disagree on the user", strings.TrimSpace(user))
	}

	// The kustomization's image override names the Deployment's image.
	repo, tag, _ := strings.Cut(c.Image, ":")
	if len(m.kustomization.Images) != 1 || m.kustomization.Images[0].Name != repo || m.kustomization.Images[0].NewTag != tag {
		t.Errorf("kustomization images %+v do not name the Deployment's image %s", m.kustomization.Images, c.Image)
	}

	// The Corefile flattens the cluster zone.
	if !regexp.MustCompile(`(?m)^\s*flatten cluster\.local \{\n\s*all\n\s*\}`).MatchString(corefile) {
		t.Errorf("the Corefile does not flatten cluster.local:\n%s", corefile)
	}
}

// The image's tag names the CoreDNS release the build carries, go.mod's, as COREDNS-flatten.N, and
// kubeadm reads that tag as the cluster's CoreDNS version, also when a digest pins the image.
func TestManifestsImageTag(t *testing.T) {
	m := loadManifests(t)
	tag := m.kustomization.Images[0].NewTag
	coredns := goModVersion(t, "github.com/coredns/coredns")
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(strings.TrimPrefix(coredns, "v")) + `-flatten\.[0-9]+$`).MatchString(tag) {
		t.Errorf("image tag %q does not name the CoreDNS of go.mod (%s) as %s-flatten.N", tag, coredns, strings.TrimPrefix(coredns, "v"))
	}
	// kubeadm's tagMatcher (cmd/kubeadm/app/util/image/image.go, Kubernetes v1.37.1), which its
	// upgrade uses on the Deployment's image (DeployedDNSAddon in phases/addons/dns/dns.go).
	tagMatcher := regexp.MustCompile(`^(?U:.*)(?::([[:word:]][[:word:].-]*))?(?:@sha256:[a-fA-F\d]{64})?$`)
	for _, image := range []string{
		m.deployment.Spec.Template.Spec.Containers[0].Image,
		"registry.example.com:5000/dns/coredns-flatten:" + tag + "@" + kitDigest,
	} {
		if got := tagMatcher.FindStringSubmatch(image); len(got) < 2 || got[1] != tag {
			t.Errorf("kubeadm reads the tag of %s as %q, want %q", image, got, tag)
		}
	}
}

// goModVersion is the version go.mod requires of a module.
func goModVersion(tb testing.TB, module string) string {
	tb.Helper()
	b, err := os.ReadFile("../go.mod")
	if err != nil {
		tb.Fatal(err)
	}
	found := regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(module) + ` (v\S+)`).FindSubmatch(b)
	if found == nil {
		tb.Fatalf("go.mod does not require %s", module)
	}
	return string(found[1])
}

// Rolling out, scaling and draining never leave the cluster without DNS: a new pod is ready before
// an old one goes, the replica count is not the kit's to set, evictions take one pod at a time,
// the pods spread over nodes (strictly) and zones (where possible), and the pod meets the
// "restricted" Pod Security level (checked against the real admission in TestKitAPIServer).
func TestManifestsRollout(t *testing.T) {
	m := loadManifests(t)
	d := m.deployment
	if d.Spec.Replicas != nil {
		t.Errorf("the Deployment sets replicas: %d; an apply would shrink a scaled-up Deployment and fight an autoscaler", *d.Spec.Replicas)
	}
	if s := d.Spec.Strategy; s.Type != appsv1.RollingUpdateDeploymentStrategyType || s.RollingUpdate == nil ||
		s.RollingUpdate.MaxUnavailable == nil || s.RollingUpdate.MaxUnavailable.IntValue() != 0 ||
		s.RollingUpdate.MaxSurge == nil || s.RollingUpdate.MaxSurge.IntValue() != 1 {
		t.Errorf("strategy %+v; want a rolling update with maxUnavailable 0 and maxSurge 1", s.RollingUpdate)
	}
	labels := d.Spec.Template.Labels

	pdb := m.pdb.Spec
	if pdb.MaxUnavailable == nil || pdb.MaxUnavailable.IntValue() != 1 || pdb.MinAvailable != nil {
		t.Errorf("the PodDisruptionBudget allows %v unavailable (minAvailable %v), want maxUnavailable 1", pdb.MaxUnavailable, pdb.MinAvailable)
	}
	if pdb.UnhealthyPodEvictionPolicy == nil || *pdb.UnhealthyPodEvictionPolicy != policyv1.AlwaysAllow {
		t.Error("the PodDisruptionBudget lets pods that are not ready block drains (unhealthyPodEvictionPolicy)")
	}
	if pdb.Selector == nil || !maps.Equal(pdb.Selector.MatchLabels, d.Spec.Selector.MatchLabels) {
		t.Errorf("the PodDisruptionBudget selects %v; the Deployment %v", pdb.Selector, d.Spec.Selector.MatchLabels)
	}

	pod := d.Spec.Template.Spec
	spread := map[string]corev1.UnsatisfiableConstraintAction{}
	for _, c := range pod.TopologySpreadConstraints {
		spread[c.TopologyKey] = c.WhenUnsatisfiable
		if c.MaxSkew != 1 || c.LabelSelector == nil || !maps.Equal(c.LabelSelector.MatchLabels, labels) ||
			!slices.Equal(c.MatchLabelKeys, []string{appsv1.DefaultDeploymentUniqueLabelKey}) ||
			c.NodeTaintsPolicy == nil || *c.NodeTaintsPolicy != corev1.NodeInclusionPolicyHonor {
			t.Errorf("spread over %s: %+v; want maxSkew 1 over the pods of one revision, nodes whose taints the pods tolerate", c.TopologyKey, c)
		}
	}
	// Strictly over nodes (every node has a hostname label); over zones only where possible (nodes
	// without a zone label would otherwise take no pods at all).
	if !maps.Equal(spread, map[string]corev1.UnsatisfiableConstraintAction{
		corev1.LabelHostname: corev1.DoNotSchedule, corev1.LabelTopologyZone: corev1.ScheduleAnyway,
	}) {
		t.Errorf("topology spread %v; want hostname DoNotSchedule and zone ScheduleAnyway", spread)
	}
	if sc := pod.SecurityContext; sc == nil || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Errorf("the pod's security context %+v has no seccompProfile RuntimeDefault", sc)
	}
}

// The Corefile's flatten line stands where flatten runs, directly before cache, with a comment
// saying that the build fixes the order; a custom cluster domain is edited in exactly the three
// places the README names.
func TestManifestsCorefile(t *testing.T) {
	corefile := loadManifests(t).corefile(t)
	var plugins []string
	for line := range strings.SplitSeq(corefile, "\n") {
		// Plugins are indented by four spaces, their options by more.
		if f := strings.Fields(line); len(f) > 0 && strings.HasPrefix(line, "    ") && !strings.HasPrefix(line, "     ") && f[0] != "#" && f[0] != "}" {
			plugins = append(plugins, f[0])
		}
	}
	at := slices.Index(plugins, "flatten")
	if at < 0 || at+1 >= len(plugins) || plugins[at+1] != "cache" {
		t.Errorf("the Corefile's plugins are %v; flatten must be written directly before cache, where it runs", plugins)
	}
	if !strings.Contains(corefile, "compiled into the build (cmd/coredns)") {
		t.Error("the Corefile does not say that the build fixes the plugin order")
	}
	var domainLines []string
	for line := range strings.SplitSeq(corefile, "\n") {
		if strings.Contains(line, "cluster.local") && !strings.HasPrefix(strings.TrimSpace(line), "#") {
			domainLines = append(domainLines, strings.Fields(line)[0])
		}
	}
	if want := []string{"kubernetes", "flatten", "disable", "disable"}; !slices.Equal(domainLines, want) {
		t.Errorf("cluster.local appears on the lines of %v, want %v (README.md: a custom cluster domain)", domainLines, want)
	}
}

// The ClusterRole grants what the kubernetes plugin lists and watches (its informers in
// plugin/kubernetes/controller.go): services, pods, namespaces and EndpointSlices. The end-to-end
// test runs CoreDNS with exactly these permissions against a real API server.
func TestManifestsRBAC(t *testing.T) {
	m := loadManifests(t)
	for _, need := range []struct{ group, resource string }{
		{"", "services"}, {"", "pods"}, {"", "namespaces"}, {"discovery.k8s.io", "endpointslices"},
	} {
		for _, verb := range []string{"list", "watch"} {
			if !allows(m.clusterRole.Rules, need.group, need.resource, verb) {
				t.Errorf("ClusterRole %s does not allow %s on %s.%s", m.clusterRole.Name, verb, need.resource, need.group)
			}
		}
	}
	// Nothing beyond reading: the cluster DNS never writes.
	for _, r := range m.clusterRole.Rules {
		for _, v := range r.Verbs {
			if v != "list" && v != "watch" && v != "get" {
				t.Errorf("ClusterRole %s allows %s on %v", m.clusterRole.Name, v, r.Resources)
			}
		}
	}
}

func allows(rules []rbacv1.PolicyRule, group, resource, verb string) bool {
	for _, r := range rules {
		if (slices.Contains(r.APIGroups, group) || slices.Contains(r.APIGroups, "*")) &&
			(slices.Contains(r.Resources, resource) || slices.Contains(r.Resources, "*")) &&
			(slices.Contains(r.Verbs, verb) || slices.Contains(r.Verbs, "*")) {
			return true
		}
	}
	return false
}
