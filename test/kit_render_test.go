package test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
)

// A variant of the kit: the base with some of its optional components, as an operator's overlay
// names them.
type kitVariant struct {
	name       string
	components []string // folders under deploy/kubernetes/components
	kinds      []string // what it renders, sorted
}

// baseKinds are the objects of the base: everything that replaces the standard cluster DNS, and
// nothing else (the cluster's own kube-dns Service stays as it is).
var baseKinds = []string{"ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "PodDisruptionBudget", "ServiceAccount"}

// kitVariants are the base, each component alone on it, and all of them together.
var kitVariants = func() []kitVariant {
	with := func(extra ...string) []string {
		return slices.Sorted(slices.Values(append(slices.Clone(baseKinds), extra...)))
	}
	service := []string{"Service"}
	hpa := []string{"HorizontalPodAutoscaler"}
	monitoring := []string{"ConfigMap", "PrometheusRule", "Service", "ServiceMonitor"}
	return []kitVariant{
		{name: "base", kinds: with()},
		{name: "kube-dns-service", components: []string{"kube-dns-service"}, kinds: with(service...)},
		{name: "hpa", components: []string{"hpa"}, kinds: with(hpa...)},
		{name: "monitoring", components: []string{"monitoring"}, kinds: with(monitoring...)},
		{name: "all", components: []string{"kube-dns-service", "hpa", "monitoring"}, kinds: with(slices.Concat(service, hpa, monitoring)...)},
	}
}()

// kitImage is what the overlays point the image at, as README.md tells operators to: their
// registry, the tag, and the digest the push reported.
const kitImage = "registry.example.com/coredns-flatten"

// kitDigest stands for the digest a push reports.
const kitDigest = "sha256:4f1a2c8e9b7d6a5f4e3d2c1b0a9f8e7d6c5b4a39281706f5e4d3c2b1a0f9e8d7"

// kitClusterDNS is the cluster DNS address the overlays give the kube-dns-service component, as
// README.md tells operators to.
const kitClusterDNS = "10.96.0.10"

// clusterDNSGenerator is README.md's local ConfigMap that gives the component the address.
const clusterDNSGenerator = "configMapGenerator:\n  - name: cluster-dns\n    literals: [clusterIP=" + kitClusterDNS + "]\n" +
	"    options:\n      disableNameSuffixHash: true\n      annotations:\n        config.kubernetes.io/local-config: \"true\"\n"

// overlay writes an operator's overlay of the kit (README.md, "Your overlay") in a temporary folder:
// the base, the variant's components and the image pinned by tag and digest. Kustomize takes only
// relative paths to bases and components.
func (v kitVariant) overlay(tb testing.TB) string {
	tb.Helper()
	dir := tb.TempDir()
	abs, err := filepath.Abs(deployDir)
	if err != nil {
		tb.Fatal(err)
	}
	base, err := filepath.Rel(dir, abs)
	if err != nil {
		tb.Fatal(err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - %s\n", base)
	if len(v.components) > 0 {
		b.WriteString("components:\n")
		for _, c := range v.components {
			fmt.Fprintf(&b, "  - %s/components/%s\n", base, c)
		}
	}
	fmt.Fprintf(&b, "images:\n  - name: ghcr.io/dnsflatten/coredns-flatten\n    newName: %s\n    newTag: %s\n    digest: %s\n",
		kitImage, loadManifests(tb).kustomization.Images[0].NewTag, kitDigest)
	if slices.Contains(v.components, "kube-dns-service") {
		b.WriteString(clusterDNSGenerator)
	}
	writeFile(tb, filepath.Join(dir, "kustomization.yaml"), b.String())
	return dir
}

// kustomize renders a kustomization folder with `kubectl kustomize`, or with a standalone
// `kustomize build` where kubectl is absent (.ci/run installs one of them).
func kustomize(tb testing.TB, dir string) []*unstructured.Unstructured {
	tb.Helper()
	cmd := kustomizeCommand(tb, dir)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		tb.Fatalf("%s: %v\n%s", cmd, err, stderr.String())
	}
	return decodeObjects(tb, out)
}

// kustomizeCommand returns the command that renders the kustomization in dir: kubectl kustomize,
// or kustomize build where kubectl is absent.
func kustomizeCommand(tb testing.TB, dir string) *exec.Cmd {
	tb.Helper()
	if kubectl, err := exec.LookPath("kubectl"); err == nil {
		return exec.Command(kubectl, "kustomize", dir)
	}
	k, err := exec.LookPath("kustomize")
	if err != nil {
		missing(tb, "neither kubectl nor kustomize is installed (.ci/run installs kustomize with go install)")
	}
	return exec.Command(k, "build", dir)
}

// decodeObjects splits rendered YAML into objects.
func decodeObjects(tb testing.TB, b []byte) []*unstructured.Unstructured {
	tb.Helper()
	var objs []*unstructured.Unstructured
	d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(b), 4096)
	for {
		var m map[string]any
		if err := d.Decode(&m); errors.Is(err, io.EOF) {
			return objs
		} else if err != nil {
			tb.Fatal(err)
		}
		if len(m) > 0 {
			objs = append(objs, &unstructured.Unstructured{Object: m})
		}
	}
}

// find returns the one rendered object of a kind and name.
func find(tb testing.TB, objs []*unstructured.Unstructured, kind, name string) *unstructured.Unstructured {
	tb.Helper()
	for _, o := range objs {
		if o.GetKind() == kind && o.GetName() == name {
			return o
		}
	}
	tb.Fatalf("no %s %s among the rendered objects", kind, name)
	return nil
}

// Every variant renders, to the objects it should, all in kube-system, with the image pinned by
// the overlay's tag and digest.
func TestKitRender(t *testing.T) {
	for _, v := range kitVariants {
		t.Run(v.name, func(t *testing.T) {
			objs := kustomize(t, v.overlay(t))
			kinds := make([]string, 0, len(objs))
			for _, o := range objs {
				kinds = append(kinds, o.GetKind())
				if o.GetKind() != "ClusterRole" && o.GetKind() != "ClusterRoleBinding" && o.GetNamespace() != "kube-system" {
					t.Errorf("%s %s is in namespace %q, want kube-system", o.GetKind(), o.GetName(), o.GetNamespace())
				}
			}
			if slices.Sort(kinds); !slices.Equal(kinds, v.kinds) {
				t.Errorf("rendered %v, want %v", kinds, v.kinds)
			}
			d := find(t, objs, "Deployment", "coredns")
			containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
			image, _, _ := unstructured.NestedString(containers[0].(map[string]any), "image")
			if want := kitImage + ":" + loadManifests(t).kustomization.Images[0].NewTag + "@" + kitDigest; image != want {
				t.Errorf("image %s, want %s", image, want)
			}
			if _, found, _ := unstructured.NestedFieldNoCopy(d.Object, "spec", "replicas"); found {
				t.Error("the rendered Deployment sets replicas: an apply would override the running count")
			}
		})
	}
}

// The kit's own folder is a kustomization, and every component folder is a Component that the
// variants above cover.
func TestKitComponents(t *testing.T) {
	dirs, err := os.ReadDir(filepath.Join(deployDir, "components"))
	if err != nil {
		t.Fatal(err)
	}
	covered := map[string]bool{}
	for _, v := range kitVariants {
		for _, c := range v.components {
			covered[c] = true
		}
	}
	for _, d := range dirs {
		b, err := os.ReadFile(filepath.Join(deployDir, "components", d.Name(), "kustomization.yaml"))
		if err != nil {
			t.Error(err)
			continue
		}
		if !strings.Contains(string(b), "\nkind: Component\n") {
			t.Errorf("components/%s is not a kustomize Component", d.Name())
		}
		if !covered[d.Name()] {
			t.Errorf("components/%s is in no variant the tests render", d.Name())
		}
	}
}

// The overlay of deploy/kubernetes/README.md renders as written, from the folder its commands run
// in (the checkout as flatten/, the overlay as cluster-dns/), with its components commented out and
// with all of them in.
func TestKitReadmeOverlay(t *testing.T) {
	overlay := readmeOverlay(t, "cluster-dns")
	uncommented := regexp.MustCompile(`(?m)^  # (- \S+).*$`).ReplaceAllString(overlay, "  $1")
	// The fresh cluster's address, as the README says to fill it in.
	uncommented = regexp.MustCompile(`(?m)^# ?`).ReplaceAllString(strings.ReplaceAll(uncommented, "CLUSTER_DNS", kitClusterDNS), "")
	for name, text := range map[string]string{"as written": overlay, "every component": uncommented} {
		t.Run(name, func(t *testing.T) {
			objs := kustomize(t, besideCheckout(t, "cluster-dns", text))
			kinds := make([]string, 0, len(objs))
			for _, o := range objs {
				kinds = append(kinds, o.GetKind())
			}
			want := kitVariants[0].kinds
			if name == "every component" {
				want = kitVariants[len(kitVariants)-1].kinds
			}
			if slices.Sort(kinds); !slices.Equal(kinds, want) {
				t.Errorf("rendered %v, want %v", kinds, want)
			}
			d := find(t, objs, "Deployment", "coredns")
			containers, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "containers")
			image, _, _ := unstructured.NestedString(containers[0].(map[string]any), "image")
			if !regexp.MustCompile(`^registry\.example\.com/coredns-flatten:` + regexp.QuoteMeta(loadManifests(t).kustomization.Images[0].NewTag) + `@sha256:[0-9a-f]{64}$`).MatchString(image) {
				t.Errorf("the README's overlay gives the image %s", image)
			}
			if name == "every component" {
				if ip, _, _ := unstructured.NestedString(find(t, objs, "Service", "kube-dns").Object, "spec", "clusterIP"); ip != kitClusterDNS {
					t.Errorf("the kube-dns Service's address is %q, want the overlay's %s", ip, kitClusterDNS)
				}
			}
		})
	}
}

// The kube-dns Service has no default address: an overlay that adds the component and gives none
// fails to render, naming what is missing, instead of putting in an address that may not be the
// cluster's.
func TestKitClusterDNSAddressRequired(t *testing.T) {
	dir := kitVariant{components: []string{"kube-dns-service"}}.overlay(t)
	k := filepath.Join(dir, "kustomization.yaml")
	b, err := os.ReadFile(k)
	if err != nil {
		t.Fatal(err)
	}
	without, _, ok := strings.Cut(string(b), clusterDNSGenerator)
	if !ok {
		t.Fatal("the overlay has no cluster-dns generator to take out")
	}
	writeFile(t, k, without)
	cmd := kustomizeCommand(t, dir)
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "nothing selected by ConfigMap.[noVer].[noGrp]/cluster-dns.[noNs]:data.clusterIP") {
		t.Errorf("rendered without an address (%v):\n%s", err, out)
	}
}

// readmeOverlay returns the overlay README.md writes into folder (cat > FOLDER/kustomization.yaml
// <<'EOF' ... EOF).
func readmeOverlay(t *testing.T, folder string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(deployDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	start := "cat > " + folder + "/kustomization.yaml <<'EOF'\n"
	_, after, ok := strings.Cut(string(b), start)
	overlay, _, ok2 := strings.Cut(after, "\nEOF\n")
	if !ok || !ok2 {
		t.Fatalf("README.md has no %q ... EOF", start)
	}
	return overlay
}

// besideCheckout writes an overlay into folder beside the checkout (flatten/), as the README's
// commands run, and returns the folder.
func besideCheckout(t *testing.T, folder, overlay string) string {
	t.Helper()
	repo, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(repo, filepath.Join(dir, "flatten")); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(dir, folder), 0o750); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, folder, "kustomization.yaml"), overlay+"\n")
	return filepath.Join(dir, folder)
}

// secondInstanceOverlay is README.md's overlay of the second instance (A second instance), beside
// the checkout.
func secondInstanceOverlay(t *testing.T) string {
	t.Helper()
	return besideCheckout(t, "flatten-dns", readmeOverlay(t, "flatten-dns"))
}

// The second instance (deploy/second-instance, through README.md's overlay) stands beside the
// provider's CoreDNS without touching it: nothing is named as the provider's objects are, nothing
// is in kube-system, no label or selector is the cluster DNS pods', its RBAC binds its own
// ServiceAccount, and every reference inside it points at its own objects.
func TestKitSecondInstance(t *testing.T) {
	objs := kustomize(t, secondInstanceOverlay(t))
	kinds := make([]string, 0, len(objs))
	for _, o := range objs {
		kinds = append(kinds, o.GetKind())
		switch o.GetName() {
		case "coredns", "system:coredns", "kube-dns", "coredns-flatten":
			t.Errorf("%s %s has a name the cluster's own DNS objects have", o.GetKind(), o.GetName())
		}
		switch o.GetKind() {
		case "ClusterRole", "ClusterRoleBinding", "Namespace":
		default:
			if o.GetNamespace() != "flatten-dns" {
				t.Errorf("%s %s is in namespace %q, want flatten-dns", o.GetKind(), o.GetName(), o.GetNamespace())
			}
		}
		for k, v := range o.GetLabels() {
			if v == "kube-dns" || k == "kubernetes.io/bootstrapping" || k == "addonmanager.kubernetes.io/mode" {
				t.Errorf("%s %s is labelled %s=%s", o.GetKind(), o.GetName(), k, v)
			}
		}
		if len(o.GetAnnotations()) > 0 {
			t.Errorf("%s %s keeps annotations %v", o.GetKind(), o.GetName(), o.GetAnnotations())
		}
	}
	want := []string{"ClusterRole", "ClusterRoleBinding", "ConfigMap", "Deployment", "Namespace", "PodDisruptionBudget", "Service", "ServiceAccount"}
	if slices.Sort(kinds); !slices.Equal(kinds, want) {
		t.Errorf("rendered %v, want %v", kinds, want)
	}

	d := find(t, objs, "Deployment", "flatten-coredns")
	sa, _, _ := unstructured.NestedString(d.Object, "spec", "template", "spec", "serviceAccountName")
	volumes, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "volumes")
	cm, _, _ := unstructured.NestedString(volumes[0].(map[string]any), "configMap", "name")
	find(t, objs, "ServiceAccount", sa)
	find(t, objs, "ConfigMap", cm)
	if _, found, _ := unstructured.NestedString(d.Object, "spec", "template", "spec", "priorityClassName"); found {
		t.Error("the second instance's pods ask for a cluster-critical priority")
	}
	podLabels, _, _ := unstructured.NestedStringMap(d.Object, "spec", "template", "metadata", "labels")
	for _, path := range [][]string{{"spec", "selector", "matchLabels"}} {
		sel, _, _ := unstructured.NestedStringMap(d.Object, path...)
		if sel["k8s-app"] != "flatten-dns" {
			t.Errorf("the Deployment selects %v", sel)
		}
	}
	constraints, _, _ := unstructured.NestedSlice(d.Object, "spec", "template", "spec", "topologySpreadConstraints")
	for _, c := range constraints {
		sel, _, _ := unstructured.NestedStringMap(c.(map[string]any), "labelSelector", "matchLabels")
		if sel["k8s-app"] != "flatten-dns" {
			t.Errorf("a spread constraint counts %v", sel)
		}
	}
	svc := find(t, objs, "Service", "flatten-dns")
	sel, _, _ := unstructured.NestedStringMap(svc.Object, "spec", "selector")
	for k, v := range sel {
		if podLabels[k] != v {
			t.Errorf("the Service selects %s=%s; the pods are labelled %v", k, v, podLabels)
		}
	}
	pdb := find(t, objs, "PodDisruptionBudget", "flatten-coredns")
	if sel, _, _ := unstructured.NestedStringMap(pdb.Object, "spec", "selector", "matchLabels"); sel["k8s-app"] != "flatten-dns" {
		t.Errorf("the PodDisruptionBudget selects %v", sel)
	}
	crb := find(t, objs, "ClusterRoleBinding", "flatten-system:coredns")
	role, _, _ := unstructured.NestedString(crb.Object, "roleRef", "name")
	subjects, _, _ := unstructured.NestedSlice(crb.Object, "subjects")
	find(t, objs, "ClusterRole", role)
	if len(subjects) != 1 || subjects[0].(map[string]any)["name"] != sa || subjects[0].(map[string]any)["namespace"] != "flatten-dns" {
		t.Errorf("the binding's subjects %v, want the ServiceAccount %s in flatten-dns", subjects, sa)
	}
	ns := find(t, objs, "Namespace", "flatten-dns")
	if ns.GetLabels()["pod-security.kubernetes.io/enforce"] != "restricted" {
		t.Errorf("the namespace is labelled %v", ns.GetLabels())
	}
}
