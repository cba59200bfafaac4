package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"text/template"
	"time"

	"github.com/coredns/coredns/plugin/test"

	"github.com/miekg/dns"
	appsv1 "k8s.io/api/apps/v1"
	authv1 "k8s.io/api/authentication/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/util/jsonpath"
)

// kitFieldManager is the field manager README.md's kubectl commands apply the kit as.
const kitFieldManager = "flatten-kit"

// Modules whose files the tests read: the Prometheus operator's CRDs, so that the API server
// validates the ServiceMonitor and the PrometheusRule, and Kubernetes itself, for kubeadm's
// CoreDNS addon (the objects the kit replaces) and its CoreDNS version.
const (
	prometheusOperator = "github.com/prometheus-operator/prometheus-operator@v0.85.0"
	kubernetesModule   = "k8s.io/kubernetes@v" + apiserverVersion
)

// moduleDir downloads a module through the Go module proxy (once: the module cache keeps it) and
// returns its folder. It runs outside this module, so that no go.mod changes.
func moduleDir(tb testing.TB, module string) string {
	tb.Helper()
	cmd := exec.Command("go", "mod", "download", "-json", module)
	cmd.Dir = tb.TempDir()
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); (err != nil || jerr != nil || info.Dir == "") && info.Error == "" {
		info.Error = fmt.Sprint(err, jerr)
	}
	if info.Dir == "" {
		missing(tb, fmt.Sprintf("%s is not in the module cache and the Go module proxy did not give it: %s", module, info.Error))
	}
	return info.Dir
}

// kitCluster talks to the test's API server about arbitrary objects: server-side apply through a
// dynamic client, kinds mapped to resources by discovery, warnings collected.
type kitCluster struct {
	cp       *controlPlane
	typed    *kubernetes.Clientset // admin, with warnings collected
	dyn      dynamic.Interface
	mapper   *restmapper.DeferredDiscoveryRESTMapper
	warnings *warnings
}

// warnings collects the API server's warnings (deprecations, Pod Security's "would violate").
type warnings struct {
	mu   sync.Mutex
	msgs []string
}

func (w *warnings) HandleWarningHeader(_ int, _ string, text string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.msgs = append(w.msgs, text)
}

// take returns the warnings so far and forgets them.
func (w *warnings) take() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	msgs := w.msgs
	w.msgs = nil
	return msgs
}

func newKitCluster(tb testing.TB, cp *controlPlane) *kitCluster {
	tb.Helper()
	cfg := rest.CopyConfig(cp.config)
	k := &kitCluster{cp: cp, warnings: &warnings{}}
	cfg.WarningHandler = k.warnings
	var err error
	if k.dyn, err = dynamic.NewForConfig(cfg); err != nil {
		tb.Fatal(err)
	}
	if k.typed, err = kubernetes.NewForConfig(cfg); err != nil {
		tb.Fatal(err)
	}
	disc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		tb.Fatal(err)
	}
	k.mapper = restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(disc))
	return k
}

// resource is the dynamic client for obj's kind, in its namespace where the kind has namespaces.
func (k *kitCluster) resource(tb testing.TB, obj *unstructured.Unstructured) dynamic.ResourceInterface {
	tb.Helper()
	gvk := obj.GroupVersionKind()
	m, err := k.mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
	if err != nil {
		tb.Fatalf("%s: %v", gvk, err)
	}
	if m.Scope.Name() == meta.RESTScopeNameNamespace {
		return k.dyn.Resource(m.Resource).Namespace(obj.GetNamespace())
	}
	return k.dyn.Resource(m.Resource)
}

// apply applies obj server-side as the kit's field manager with strict field validation (an
// unknown or duplicate field is an error), as a dry run unless real. force takes over the fields
// other managers own (kubectl's --force-conflicts). It returns the API server's warnings.
func (k *kitCluster) apply(tb testing.TB, obj *unstructured.Unstructured, real, force bool) ([]string, error) {
	tb.Helper()
	data, err := json.Marshal(obj.Object)
	if err != nil {
		tb.Fatal(err)
	}
	opts := metav1.PatchOptions{FieldManager: kitFieldManager, Force: &force, FieldValidation: "Strict"}
	if !real {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	k.warnings.take()
	_, err = k.resource(tb, obj).Patch(apiCtx(tb), obj.GetName(), types.ApplyPatchType, data, opts)
	return k.warnings.take(), err
}

// applyAll applies every object, failing the test on an error or a warning; skip leaves some out.
func (k *kitCluster) applyAll(tb testing.TB, objs []*unstructured.Unstructured, real, force bool, skip func(*unstructured.Unstructured) bool) {
	tb.Helper()
	for _, o := range objs {
		if skip != nil && skip(o) {
			continue
		}
		w, err := k.apply(tb, o, real, force)
		if err != nil {
			tb.Errorf("%s %s/%s: %v", o.GetKind(), o.GetNamespace(), o.GetName(), err)
		}
		if len(w) > 0 {
			tb.Errorf("%s %s/%s: warnings %q", o.GetKind(), o.GetNamespace(), o.GetName(), w)
		}
	}
}

// installCRDs creates the Prometheus operator's ServiceMonitor and PrometheusRule definitions
// and waits until the API server serves them.
func (k *kitCluster) installCRDs(tb testing.TB, operatorDir string) {
	tb.Helper()
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	var names []string
	for _, kind := range []string{"servicemonitors", "prometheusrules"} {
		b, err := os.ReadFile(filepath.Join(operatorDir, "example", "prometheus-operator-crd", "monitoring.coreos.com_"+kind+".yaml"))
		if err != nil {
			tb.Fatal(err)
		}
		for _, o := range decodeObjects(tb, b) {
			if _, err := k.dyn.Resource(crds).Create(apiCtx(tb), o, metav1.CreateOptions{}); err != nil {
				tb.Fatal(err)
			}
			names = append(names, o.GetName())
		}
	}
	eventually(tb, 30*time.Second, func() error {
		for _, name := range names {
			crd, err := k.dyn.Resource(crds).Get(apiCtx(tb), name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			conditions, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			established := false
			for _, c := range conditions {
				c := c.(map[string]any)
				established = established || (c["type"] == "Established" && c["status"] == "True")
			}
			if !established {
				return fmt.Errorf("CRD %s is not established", name)
			}
		}
		return nil
	})
	k.mapper.Reset()
}

// kubeadmAddon is the CoreDNS addon that kubeadm v1.37.1 installs (the objects the kit replaces in
// place), rendered from the templates in its source (cmd/kubeadm/app/phases/addons/dns/manifests.go)
// with the given replica count and Service address, and with the CoreDNS version it deploys
// (CoreDNSVersion in cmd/kubeadm/app/constants/constants.go).
type kubeadmAddon struct {
	version        string
	serviceAccount *corev1.ServiceAccount
	clusterRole    *rbacv1.ClusterRole
	binding        *rbacv1.ClusterRoleBinding
	configMap      *corev1.ConfigMap
	deployment     *appsv1.Deployment
	service        *corev1.Service
}

func loadKubeadmAddon(tb testing.TB, kubernetesDir string, replicas int32, dnsIP string) *kubeadmAddon {
	tb.Helper()
	app := filepath.Join(kubernetesDir, "cmd", "kubeadm", "app")
	constants, err := os.ReadFile(filepath.Join(app, "constants", "constants.go"))
	if err != nil {
		tb.Fatal(err)
	}
	v := regexp.MustCompile(`(?m)^\s*CoreDNSVersion = "(v[0-9.]+)"`).FindSubmatch(constants)
	if v == nil {
		tb.Fatal("kubeadm's constants have no CoreDNSVersion")
	}
	a := &kubeadmAddon{version: string(v[1])}

	f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(app, "phases", "addons", "dns", "manifests.go"), nil, 0)
	if err != nil {
		tb.Fatal(err)
	}
	manifests := map[string]string{}
	ast.Inspect(f, func(n ast.Node) bool {
		if vs, ok := n.(*ast.ValueSpec); ok && len(vs.Names) == 1 && len(vs.Values) == 1 {
			if lit, ok := vs.Values[0].(*ast.BasicLit); ok && lit.Kind == token.STRING {
				manifests[vs.Names[0].Name], _ = strconv.Unquote(lit.Value)
			}
		}
		return true
	})
	data := map[string]any{
		"DeploymentName": "coredns", "Image": "registry.k8s.io/coredns/coredns:" + a.version,
		"ControlPlaneTaintKey": "node-role.kubernetes.io/control-plane", "Replicas": replicas,
		"DNSDomain": "cluster.local", "DNSIP": dnsIP,
	}
	decoder := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	decode := func(name string, into runtime.Object) {
		text, ok := manifests[name]
		if !ok {
			tb.Fatalf("kubeadm's manifests.go has no %s", name)
		}
		var b bytes.Buffer
		if err := template.Must(template.New(name).Option("missingkey=error").Parse(text)).Execute(&b, data); err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
		if _, _, err := decoder.Decode(b.Bytes(), nil, into); err != nil {
			tb.Fatalf("%s: %v", name, err)
		}
	}
	a.serviceAccount, a.clusterRole, a.binding = &corev1.ServiceAccount{}, &rbacv1.ClusterRole{}, &rbacv1.ClusterRoleBinding{}
	a.configMap, a.deployment, a.service = &corev1.ConfigMap{}, &appsv1.Deployment{}, &corev1.Service{}
	decode("CoreDNSServiceAccount", a.serviceAccount)
	decode("CoreDNSClusterRole", a.clusterRole)
	decode("CoreDNSClusterRoleBinding", a.binding)
	decode("CoreDNSConfigMap", a.configMap)
	decode("CoreDNSDeployment", a.deployment)
	decode("CoreDNSService", a.service)
	return a
}

// install creates the addon's objects as kubeadm does (typed creates, field manager "kubeadm").
func (a *kubeadmAddon) install(tb testing.TB, k *kitCluster) {
	tb.Helper()
	c, ctx, opts := k.typed, apiCtx(tb), metav1.CreateOptions{FieldManager: "kubeadm"}
	for _, err := range []error{
		second(c.CoreV1().ServiceAccounts("kube-system").Create(ctx, a.serviceAccount, opts)),
		second(c.RbacV1().ClusterRoles().Create(ctx, a.clusterRole, opts)),
		second(c.RbacV1().ClusterRoleBindings().Create(ctx, a.binding, opts)),
		second(c.CoreV1().ConfigMaps("kube-system").Create(ctx, a.configMap, opts)),
		second(c.AppsV1().Deployments("kube-system").Create(ctx, a.deployment, opts)),
		second(c.CoreV1().Services("kube-system").Create(ctx, a.service, opts)),
	} {
		if err != nil {
			tb.Fatal(err)
		}
	}
}

func second[T any](_ T, err error) error { return err }

// deployment reads the live cluster DNS Deployment.
func deployment(tb testing.TB, cp *controlPlane) *appsv1.Deployment {
	tb.Helper()
	d, err := cp.admin.AppsV1().Deployments("kube-system").Get(apiCtx(tb), "coredns", metav1.GetOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

// The kit against a real kube-apiserver (with its default admission, Pod Security included):
// every variant is accepted by a server-side dry-run apply on a new cluster; the pod passes the
// "restricted" Pod Security level; the base replaces kubeadm's CoreDNS in place, keeping its
// replica count and its kube-dns Service, and the README's rollback brings kubeadm's pod template
// back; the Corefile of the ConfigMap runs the custom CoreDNS, which answers a flattened
// ExternalName service.
func TestKitAPIServer(t *testing.T) {
	t.Parallel()
	rendered := map[string][]*unstructured.Unstructured{}
	for _, v := range kitVariants {
		rendered[v.name] = kustomize(t, v.overlay(t))
	}
	operatorDir := moduleDir(t, prometheusOperator)
	kubernetesDir := moduleDir(t, kubernetesModule)
	cp := startControlPlane(t)
	k := newKitCluster(t, cp)
	k.installCRDs(t, operatorDir)

	// kube-system warns about whatever the "restricted" level would reject: the dry runs of the
	// Deployment below see that warning if its pod template falls short.
	if _, err := cp.admin.CoreV1().Namespaces().Patch(apiCtx(t), "kube-system", types.MergePatchType,
		[]byte(`{"metadata":{"labels":{"pod-security.kubernetes.io/warn":"restricted","pod-security.kubernetes.io/warn-version":"latest"}}}`),
		metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}

	t.Run("new cluster", func(t *testing.T) {
		for _, v := range kitVariants {
			t.Run(v.name, func(t *testing.T) {
				k.applyAll(t, rendered[v.name], false, false, nil)
			})
		}
	})

	t.Run("restricted Pod Security", func(t *testing.T) {
		ctx := apiCtx(t)
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kit-restricted", Labels: map[string]string{
			"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
		}}}
		if _, err := cp.admin.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: ns.Name}}
		if _, err := cp.admin.CoreV1().ServiceAccounts(ns.Name).Create(ctx, sa, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		var d appsv1.Deployment
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(find(t, rendered["all"], "Deployment", "coredns").Object, &d); err != nil {
			t.Fatal(err)
		}
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: ns.Name, Labels: d.Spec.Template.Labels},
			Spec:       *d.Spec.Template.Spec.DeepCopy(),
		}
		dryRun := metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}}
		if _, err := cp.admin.CoreV1().Pods(ns.Name).Create(ctx, pod, dryRun); err != nil {
			t.Errorf("the restricted level refuses the kit's pod: %v", err)
		}
		// The check has teeth: without the pod's seccomp profile the same pod is refused.
		bare := pod.DeepCopy()
		bare.Spec.SecurityContext.SeccompProfile = nil
		if _, err := cp.admin.CoreV1().Pods(ns.Name).Create(ctx, bare, dryRun); err == nil || !strings.Contains(err.Error(), "seccompProfile") {
			t.Errorf("without a seccomp profile the pod was not refused for it: %v", err)
		}
	})

	t.Run("replaces kubeadm's CoreDNS", func(t *testing.T) {
		// A kubeadm cluster whose CoreDNS was scaled to 5 and whose DNS Service has an address
		// of its own.
		const clusterDNS = "10.96.100.10"
		stock := loadKubeadmAddon(t, kubernetesDir, 5, clusterDNS)
		k.warnings.take()
		stock.install(t, k)
		// kubeadm's own pod falls short of the restricted level (no seccomp profile, no
		// runAsNonRoot): the warning the kit's objects must not get.
		if w := strings.Join(k.warnings.take(), "\n"); !strings.Contains(w, `would violate PodSecurity "restricted:latest"`) {
			t.Errorf("kube-system did not warn about kubeadm's pod: %q", w)
		}
		// README.md's backup of the pod template: kubectl's -o jsonpath='{.spec.template}'.
		live, err := k.dyn.Resource(appsv1.SchemeGroupVersion.WithResource("deployments")).Namespace("kube-system").Get(apiCtx(t), "coredns", metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		jp := jsonpath.New("template")
		if err := jp.Parse("{.spec.template}"); err != nil {
			t.Fatal(err)
		}
		var backup bytes.Buffer
		if err := jp.Execute(&backup, live.Object); err != nil {
			t.Fatal(err)
		}
		stockTemplate := deployment(t, cp).Spec.Template

		base := rendered["base"]
		// kubeadm owns the fields the kit changes: an apply without --force-conflicts is refused.
		if _, err := k.apply(t, find(t, base, "Deployment", "coredns"), true, false); !apierrors.IsConflict(err) {
			t.Errorf("applying over kubeadm's Deployment without force: %v, want a conflict", err)
		}
		k.applyAll(t, base, true, true, nil)

		d := deployment(t, cp)
		c := d.Spec.Template.Spec.Containers[0]
		if *d.Spec.Replicas != 5 {
			t.Errorf("the apply changed the replica count from 5 to %d", *d.Spec.Replicas)
		}
		if want := kitImage + ":" + loadManifests(t).kustomization.Images[0].NewTag + "@" + kitDigest; c.Image != want {
			t.Errorf("image %s, want %s", c.Image, want)
		}
		if ru := d.Spec.Strategy.RollingUpdate; ru == nil || ru.MaxUnavailable.IntValue() != 0 || ru.MaxSurge.IntValue() != 1 {
			t.Errorf("rolling update %+v, want maxUnavailable 0, maxSurge 1", ru)
		}
		if v := d.Spec.Template.Spec.Volumes[0].ConfigMap; v == nil || v.Name != "coredns-flatten" {
			t.Errorf("the pods read %+v, want ConfigMap coredns-flatten", v)
		}
		cm, err := cp.admin.CoreV1().ConfigMaps("kube-system").Get(apiCtx(t), "coredns", metav1.GetOptions{})
		if err != nil || cm.Data["Corefile"] != stock.configMap.Data["Corefile"] {
			t.Errorf("kubeadm's coredns ConfigMap changed (%v)", err)
		}
		svc, err := cp.admin.CoreV1().Services("kube-system").Get(apiCtx(t), "kube-dns", metav1.GetOptions{})
		if err != nil || svc.Spec.ClusterIP != clusterDNS {
			t.Errorf("the cluster's kube-dns Service changed (%v)", err)
		}

		// An autoscaler scales it; applying the kit again needs no force and keeps the count.
		scale := &autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "coredns", Namespace: "kube-system"}, Spec: autoscalingv1.ScaleSpec{Replicas: 7}}
		if _, err := cp.admin.AppsV1().Deployments("kube-system").UpdateScale(apiCtx(t), "coredns", scale, metav1.UpdateOptions{FieldManager: "horizontal-pod-autoscaler"}); err != nil {
			t.Fatal(err)
		}
		k.applyAll(t, base, true, false, nil)
		if n := *deployment(t, cp).Spec.Replicas; n != 7 {
			t.Errorf("applying the kit again changed the autoscaler's 7 replicas to %d", n)
		}

		// The fresh-cluster Service component cannot move the cluster's DNS address: that is why
		// the base leaves the Service alone.
		if _, err := k.apply(t, find(t, rendered["kube-dns-service"], "Service", "kube-dns"), false, true); !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "clusterIP") {
			t.Errorf("applying the kube-dns Service with another address: %v, want an invalid clusterIP", err)
		}
		// Everything else of every variant applies over the running cluster.
		for _, v := range kitVariants {
			t.Run(v.name, func(t *testing.T) {
				k.applyAll(t, rendered[v.name], false, true, func(o *unstructured.Unstructured) bool {
					return o.GetKind() == "Service" && o.GetName() == "kube-dns"
				})
			})
		}

		// README.md's rollback to stock: the backed-up pod template put back with a JSON patch.
		patch := fmt.Sprintf(`[{"op":"replace","path":"/spec/template","value":%s}]`, backup.String())
		if _, err := k.typed.AppsV1().Deployments("kube-system").Patch(apiCtx(t), "coredns", types.JSONPatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		if got := deployment(t, cp).Spec.Template; !equality.Semantic.DeepEqual(got, stockTemplate) {
			t.Errorf("after the rollback the pod template is not kubeadm's:\n%+v\nwant\n%+v", got, stockTemplate)
		}
		// And back to the kit, as after a Kubernetes upgrade.
		k.applyAll(t, base, true, true, nil)
		if v := deployment(t, cp).Spec.Template.Spec.Volumes[0].ConfigMap; v == nil || v.Name != "coredns-flatten" {
			t.Errorf("re-applying the kit left the pods on ConfigMap %+v", v)
		}
	})

	t.Run("cluster DNS", func(t *testing.T) {
		objs := rendered["all"]
		// The kit's ServiceAccount and RBAC rules, for real: CoreDNS runs with a token of that
		// account, so the rules must cover everything the kubernetes plugin watches.
		k.applyAll(t, objs, true, true, func(o *unstructured.Unstructured) bool {
			switch o.GetKind() {
			case "ServiceAccount", "ClusterRole", "ClusterRoleBinding":
				return false
			}
			return true
		})
		expiry := int64(3600)
		tr, err := cp.admin.CoreV1().ServiceAccounts("kube-system").CreateToken(apiCtx(t), "coredns",
			&authv1.TokenRequest{Spec: authv1.TokenRequestSpec{ExpirationSeconds: &expiry}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		kubeconfig := cp.kubeconfig(t, tr.Status.Token)

		dir := t.TempDir()
		writeFile(t, filepath.Join(dir, "db.example.net"), externalZone)
		// The world the README's verification asks about: kubernetes.io (a stand-in with
		// documentation addresses) and .invalid, which never exists (RFC 6761).
		writeFile(t, filepath.Join(dir, "db.kubernetes.io"), "$ORIGIN kubernetes.io.\n@ 3600 IN SOA ns1 h 1 7200 3600 1209600 300\n@ 3600 IN NS ns1\n@ 300 IN A 192.0.2.80\n@ 300 IN A 192.0.2.81\n")
		ext := start(t, "example.net:{{PORT}} kubernetes.io:{{PORT}} {\n    bind 127.0.0.1\n    file "+filepath.Join(dir, "db.example.net")+" example.net\n    file "+filepath.Join(dir, "db.kubernetes.io")+" kubernetes.io\n}\n"+
			"invalid:{{PORT}} {\n    bind 127.0.0.1\n    template ANY ANY {\n        rcode NXDOMAIN\n    }\n}\n")
		cp.externalName(t, "default", "kit-web", "alias.example.net")

		corefile, _, _ := unstructured.NestedString(find(t, objs, "ConfigMap", "coredns-flatten").Object, "data", "Corefile")
		s := startClusterDNS(t, corefile, kubeconfig, ext.addr, "flatten cluster.local")
		// kit-web -> alias.example.net -> edge.example.net -> www.example.net: the addresses, owned
		// by the service's name, with the chain's lowest TTL.
		const name = "kit-web.default.svc.cluster.local."
		s.waitAnswer(t, name, dns.TypeA, test.Case{Qname: name, Qtype: dns.TypeA,
			Answer: []dns.RR{test.A(name + " 20 IN A 192.0.2.10")}}, "")
		if body := get(t, "http://"+s.health+"/health"); body != "OK" {
			t.Errorf("/health answered %q", body)
		}
		// What the alert rules and the dashboard read.
		for _, m := range coreDNSMetrics {
			if metric(t, s.metrics, m) == 0 {
				t.Errorf("the custom CoreDNS does not export %s", m)
			}
		}
		if metric(t, s.metrics, "coredns_plugin_enabled", `name="`+pluginName(t)+`"`) == 0 {
			t.Error("coredns_plugin_enabled does not list flatten")
		}
		if metric(t, s.metrics, "coredns_flatten_flattened_total") == 0 {
			t.Error("coredns_flatten_flattened_total did not count the flattened answer")
		}

		// README.md's verification from a pod, in a namespace of its own: each dig it shows,
		// asked of this server, prints what the README shows (TTLs may have counted down).
		if _, err := cp.admin.CoreV1().Namespaces().Create(apiCtx(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "flatten-check"}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		cp.externalName(t, "flatten-check", "web", "kubernetes.io")
		cp.externalName(t, "flatten-check", "gone", "gone.invalid")
		s.waitAnswer(t, "web.flatten-check.svc.cluster.local.", dns.TypeA, test.Case{Qname: "web.flatten-check.svc.cluster.local.", Qtype: dns.TypeA,
			Answer: []dns.RR{test.A("web.flatten-check.svc.cluster.local. 5 IN A 192.0.2.80"), test.A("web.flatten-check.svc.cluster.local. 5 IN A 192.0.2.81")}}, "")
		readmeDigs(t, s.port)
	})

	t.Run("second instance beside the cluster's own", func(t *testing.T) {
		// What the cluster's own DNS is made of, as it stands: an apply that touched any of it
		// would move its resourceVersion.
		ctx := apiCtx(t)
		own := []struct {
			res       schema.GroupVersionResource
			namespace string
			name      string
		}{
			{rbacv1.SchemeGroupVersion.WithResource("clusterroles"), "", "system:coredns"},
			{rbacv1.SchemeGroupVersion.WithResource("clusterrolebindings"), "", "system:coredns"},
			{corev1.SchemeGroupVersion.WithResource("serviceaccounts"), "kube-system", "coredns"},
			{appsv1.SchemeGroupVersion.WithResource("deployments"), "kube-system", "coredns"},
			{corev1.SchemeGroupVersion.WithResource("services"), "kube-system", "kube-dns"},
		}
		version := func(i int) string {
			o, err := k.dyn.Resource(own[i].res).Namespace(own[i].namespace).Get(ctx, own[i].name, metav1.GetOptions{})
			if err != nil {
				t.Fatal(err)
			}
			return o.GetResourceVersion()
		}
		before := make([]string, len(own))
		for i := range own {
			before[i] = version(i)
		}
		// README.md's overlay, applied for real, even forced.
		k.applyAll(t, kustomize(t, secondInstanceOverlay(t)), true, true, nil)
		for i, o := range own {
			if after := version(i); after != before[i] {
				t.Errorf("applying the second instance changed %s %s/%s", o.res.Resource, o.namespace, o.name)
			}
		}
		crb, err := cp.admin.RbacV1().ClusterRoleBindings().Get(ctx, "system:coredns", metav1.GetOptions{})
		if err != nil || len(crb.Subjects) != 1 || crb.Subjects[0].Namespace != "kube-system" || crb.Subjects[0].Name != "coredns" {
			t.Errorf("the cluster's own binding: %v %+v", err, crb)
		}
		if _, err := cp.admin.AppsV1().Deployments("flatten-dns").Get(ctx, "flatten-coredns", metav1.GetOptions{}); err != nil {
			t.Errorf("the second instance's Deployment: %v", err)
		}
	})
}

// readmeDigs runs the dig commands of README.md's verification against the server on port and
// compares what they print with what the README shows, but for the message ID. A TTL may be lower
// than the README's (a cached answer counts down), never above it.
func readmeDigs(t *testing.T, port int) {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(b), "## 6. Verify")
	section, _, _ = strings.Cut(section, "\n## ")
	_, transcript, ok := strings.Cut(section, "~~~ txt\n")
	transcript, _, ok2 := strings.Cut(transcript, "~~~")
	if !ok || !ok2 {
		t.Fatal("README.md's Verify has no transcript")
	}
	// Every dig the commands run is shown.
	commands := regexp.MustCompile(`-- (dig [^\n]+)`).FindAllStringSubmatch(section, -1)
	shown := regexp.MustCompile(`(?m)^\$ (dig .+)$`).FindAllStringSubmatch(transcript, -1)
	if len(commands) != len(shown) || len(shown) == 0 {
		t.Fatalf("the commands run %d digs, the transcript shows %d", len(commands), len(shown))
	}
	dig := lookPath(t, "dig")
	parts := regexp.MustCompile(`(?m)^\$ `).Split(transcript, -1)[1:]
	ttl := regexp.MustCompile(`^(\S+) (\d+) IN `)
	for i, part := range parts {
		cmdline, want, _ := strings.Cut(part, "\n")
		if cmdline != commands[i][1] {
			t.Errorf("the transcript shows %q where the commands run %q", cmdline, commands[i][1])
		}
		args := append([]string{"@127.0.0.1", "-p", strconv.Itoa(port)}, strings.Fields(cmdline)[1:]...)
		out, err := exec.Command(dig, args...).Output()
		if err != nil {
			t.Fatalf("%s: %v", cmdline, err)
		}
		// Lines compared as sets: a server may give an RRset's records in any order.
		got, wantLines := strings.Split(fields(string(out)), "\n"), strings.Split(fields(want), "\n")
		slices.Sort(got)
		slices.Sort(wantLines)
		same := len(got) == len(wantLines)
		for j := 0; same && j < len(got); j++ {
			g, w := ttl.FindStringSubmatch(got[j]), ttl.FindStringSubmatch(wantLines[j])
			if g != nil && w != nil {
				gt, _ := strconv.Atoi(g[2])
				wt, _ := strconv.Atoi(w[2])
				same = g[1] == w[1] && gt > 0 && gt <= wt && got[j][len(g[0]):] == wantLines[j][len(w[0]):]
				continue
			}
			same = got[j] == wantLines[j]
		}
		if !same {
			t.Errorf("%s printed\n%s\nthe README shows\n%s", cmdline, out, want)
		}
	}
}

// What deploy/kubernetes/README.md says of kubeadm's upgrade preflight, checked in the code of
// kubeadm v1.37.1: it strips a leading "v" from the tag of the cluster DNS image and needs that
// version in the Corefile-migration table of the github.com/coredns/corefile-migration it is built
// with (validateVersion in migration/migrate.go). The kit's tag is not there, nor is the CoreDNS
// release it carries, while kubeadm's own CoreDNS version is: the preflight refuses the kit, and
// passes once the stock image is back.
func TestKitKubeadmPreflight(t *testing.T) {
	kubernetesDir := moduleDir(t, kubernetesModule)
	gomod, err := os.ReadFile(filepath.Join(kubernetesDir, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	v := regexp.MustCompile(`(?m)^\s*github\.com/coredns/corefile-migration (v\S+)`).FindSubmatch(gomod)
	if v == nil {
		t.Fatal("kubernetes' go.mod does not require github.com/coredns/corefile-migration")
	}
	versions, err := os.ReadFile(filepath.Join(moduleDir(t, "github.com/coredns/corefile-migration@"+string(v[1])), "migration", "versions.go"))
	if err != nil {
		t.Fatal(err)
	}
	known := map[string]bool{}
	for _, m := range regexp.MustCompile(`(?m)^\t"([0-9.]+)": \{`).FindAllSubmatch(versions, -1) {
		known[string(m[1])] = true
	}
	stock := loadKubeadmAddon(t, kubernetesDir, 2, "10.96.0.10").version
	tag := loadManifests(t).kustomization.Images[0].NewTag
	coredns := strings.TrimPrefix(goModVersion(t, "github.com/coredns/coredns"), "v")
	t.Logf("corefile-migration %s knows %d CoreDNS versions; kubeadm deploys %s", v[1], len(known), stock)
	if !known[strings.TrimLeft(stock, "v")] {
		t.Errorf("kubeadm's own CoreDNS %s is not in its migration table", stock)
	}
	for _, version := range []string{tag, coredns} {
		if known[strings.TrimLeft(version, "v")] {
			t.Errorf("kubeadm's migration table knows %s: deploy/kubernetes/README.md (Upgrade Kubernetes) says it refuses it", version)
		}
	}
}

// What deploy/kubernetes/README.md says of the version kubeadm reads from the digest-pinned image:
// kubeadm v1.37.1's own pattern (TagFromImage in cmd/kubeadm/app/util/image), read from its
// source, run on the image the README's overlay renders, gives the tag.
func TestKitKubeadmReadsTheTag(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(moduleDir(t, kubernetesModule), "cmd", "kubeadm", "app", "util", "image", "image.go"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("tagMatcher = regexp.MustCompile\\(`([^`]+)`\\)").FindSubmatch(src)
	if m == nil {
		t.Fatal("kubeadm's image.go has no tagMatcher")
	}
	tagMatcher := regexp.MustCompile(string(m[1]))
	d := find(t, kustomize(t, kitVariants[0].overlay(t)), "Deployment", "coredns")
	containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
	image, _, _ := unstructured.NestedString(containers[0].(map[string]any), "image")
	tag := loadManifests(t).kustomization.Images[0].NewTag
	if got := tagMatcher.FindStringSubmatch(image); !strings.Contains(image, "@sha256:") || got == nil || got[1] != tag {
		t.Errorf("kubeadm reads %q from %s, want the tag %s", got, image, tag)
	}
	if got := tagMatcher.FindStringSubmatch(kitImage + "@" + kitDigest); got == nil || got[1] != "" {
		t.Errorf("kubeadm reads %q from an image pinned by digest alone, want nothing", got)
	}
}
