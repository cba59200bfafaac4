package test

import (
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/coredns/caddy"
	_ "github.com/dnsflatten/flatten" // registers the plugin whose name the rules select on
	"github.com/dnsflatten/flatten/plugin/rules"

	"github.com/miekg/dns"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// monitoringDir is the kit's optional monitoring component.
const monitoringDir = deployDir + "/components/monitoring"

// coreDNSMetrics are the metrics of CoreDNS itself that the rules and the dashboard use; the
// cluster DNS test (TestKitAPIServer) checks that the custom CoreDNS exports them.
var coreDNSMetrics = []string{"coredns_build_info", "coredns_plugin_enabled"}

// prometheusMetrics are Prometheus' own series, which the rules and the dashboard read too.
var prometheusMetrics = []string{"up"}

// flattenMetrics are the names of the plugin's metrics, read from the Name fields of the options
// in every metrics.go of the plugin (namespace coredns, subsystem flatten): the root's, and those
// of the packages under plugin/ that count.
func flattenMetrics(tb testing.TB) []string {
	tb.Helper()
	files, err := filepath.Glob("../plugin/*/metrics.go")
	if err != nil {
		tb.Fatal(err)
	}
	var names []string
	for _, path := range append([]string{"../metrics.go"}, files...) {
		f, err := parser.ParseFile(token.NewFileSet(), path, nil, 0)
		if err != nil {
			tb.Fatal(err)
		}
		names = slices.Concat(names, metricNames(f))
	}
	if len(names) < 10 {
		tb.Fatalf("found only %v in metrics.go", names)
	}
	return names
}

// metricNames returns the metric names of the options in f.
func metricNames(f *ast.File) []string {
	var names []string
	ast.Inspect(f, func(n ast.Node) bool {
		kv, ok := n.(*ast.KeyValueExpr)
		if !ok {
			return true
		}
		if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Name" {
			if lit, ok := kv.Value.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				name, _ := strconv.Unquote(lit.Value)
				names = append(names, "coredns_flatten_"+name)
			}
		}
		return true
	})
	return names
}

var metricName = regexp.MustCompile(`\bcoredns_[a-z_]+\b`)

// checkMetrics reports the metrics an expression names that nothing exports (a histogram's
// _bucket, _sum and _count series count as the histogram's).
func checkMetrics(tb testing.TB, where, expr string, known []string) {
	tb.Helper()
	for _, m := range metricName.FindAllString(expr, -1) {
		base := m
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if b, ok := strings.CutSuffix(m, suffix); ok && slices.Contains(known, b) {
				base = b
			}
		}
		if !slices.Contains(known, base) {
			tb.Errorf("%s: %s is not a metric of flatten (metrics.go) nor one of %v", where, m, coreDNSMetrics)
		}
	}
}

// promtool runs promtool in dir.
func promtool(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	cmd := exec.Command(lookPath(tb, "promtool"), args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		tb.Fatalf("promtool %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// ruleFile is a Prometheus rule file.
type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Alert       string            `json:"alert"`
			Expr        string            `json:"expr"`
			For         string            `json:"for,omitempty"`
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
		} `json:"rules"`
	} `json:"groups"`
}

// The alert rules pass promtool's check and their unit tests, which make every alert fire at least
// once; the PrometheusRule carries them unchanged; they name only metrics and label values the
// plugin exports.
func TestKitAlertRules(t *testing.T) {
	out := promtool(t, monitoringDir, "check", "rules", "flatten.rules.yaml")
	t.Log(strings.TrimSpace(out))
	out = promtool(t, monitoringDir, "test", "rules", "flatten.rules.test.yaml")
	t.Log(strings.TrimSpace(out))

	b, err := os.ReadFile(filepath.Join(monitoringDir, "flatten.rules.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var file ruleFile
	if err := yaml.UnmarshalStrict(b, &file); err != nil {
		t.Fatal(err)
	}
	var plain, fromCR any
	if err := yaml.Unmarshal(b, &plain); err != nil {
		t.Fatal(err)
	}
	cr := yamlDocuments(t, filepath.Join(monitoringDir, "prometheusrule.yaml"))
	var pr struct {
		Kind string         `json:"kind"`
		Spec map[string]any `json:"spec"`
	}
	if len(cr) != 1 || yaml.Unmarshal(cr[0], &pr) != nil || pr.Kind != "PrometheusRule" {
		t.Fatal("prometheusrule.yaml does not hold one PrometheusRule")
	}
	fromCR = pr.Spec
	if !reflect.DeepEqual(plain, fromCR) {
		t.Error("prometheusrule.yaml's spec differs from flatten.rules.yaml: copy the groups over")
	}

	// Every alert is tested, and fires in some test.
	tb, err := os.ReadFile(filepath.Join(monitoringDir, "flatten.rules.test.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	var tests struct {
		Tests []struct {
			AlertRuleTest []struct {
				Alertname string `json:"alertname"`
				ExpAlerts []any  `json:"exp_alerts"`
			} `json:"alert_rule_test"`
		} `json:"tests"`
	}
	if err := yaml.Unmarshal(tb, &tests); err != nil {
		t.Fatal(err)
	}
	fires := map[string]bool{}
	for _, tc := range tests.Tests {
		for _, a := range tc.AlertRuleTest {
			fires[a.Alertname] = fires[a.Alertname] || len(a.ExpAlerts) > 0
		}
	}
	known := slices.Concat(flattenMetrics(t), coreDNSMetrics, prometheusMetrics)
	// Label values the rules select on, as the plugin writes them.
	values := map[string]string{
		`name="flatten"`:        `name="` + pluginName(t) + `"`,
		`rule="dangling-cname"`: `rule="` + rules.RuleDangling + `"`,
		`severity="critical"`:   `severity="` + rules.Critical.String() + `"`,
		`severity="error"`:      `severity="` + rules.Error.String() + `"`,
		`cause!="nxdomain"`:     `cause!="` + strings.ToLower(dns.RcodeToString[dns.RcodeNameError]) + `"`,
	}
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			if !fires[r.Alert] {
				t.Errorf("alert %s fires in no test of flatten.rules.test.yaml", r.Alert)
			}
			if s := r.Labels["severity"]; s != "warning" && s != "critical" {
				t.Errorf("alert %s has severity %q", r.Alert, s)
			}
			if r.Annotations["summary"] == "" || r.Annotations["description"] == "" {
				t.Errorf("alert %s lacks a summary or a description", r.Alert)
			}
			checkMetrics(t, r.Alert, r.Expr, known)
			for _, sel := range regexp.MustCompile(`\b(name|rule|severity|cause)(=|!=)"[^"]*"`).FindAllString(r.Expr, -1) {
				if want, ok := values[sel]; !ok || want != sel {
					t.Errorf("alert %s selects %s; the plugin writes %q", r.Alert, sel, want)
				}
			}
		}
	}
	// The takeover alert's test names the rule as the plugin does.
	if !strings.Contains(string(tb), "rule="+rules.RuleTakeover+",") && !strings.Contains(string(tb), "rule: "+rules.RuleTakeover+"}") {
		t.Errorf("flatten.rules.test.yaml does not test findings of rule %s", rules.RuleTakeover)
	}
}

// pluginName is the name flatten registers (the coredns_plugin_enabled label), as CoreDNS lists it
// (caddy's registry, "dns.NAME").
func pluginName(tb testing.TB) string {
	tb.Helper()
	for _, p := range caddy.ListPlugins()["others"] {
		if name, ok := strings.CutPrefix(p, "dns."); ok && strings.Contains(name, "flatten") {
			return name
		}
	}
	tb.Fatal("no flatten plugin registered")
	return ""
}

// dashboard is the part of a Grafana dashboard the test reads.
type dashboard struct {
	UID        string `json:"uid"`
	Title      string `json:"title"`
	Templating struct {
		List []struct {
			Name string `json:"name"`
			Type string `json:"type"`
		} `json:"list"`
	} `json:"templating"`
	Panels []dashboardPanel `json:"panels"`
}

type dashboardPanel struct {
	ID         int    `json:"id"`
	Type       string `json:"type"`
	Title      string `json:"title"`
	Datasource *struct {
		UID string `json:"uid"`
	} `json:"datasource"`
	GridPos struct{ X, Y, W, H int } `json:"gridPos"`
	Targets []struct {
		Expr       string `json:"expr"`
		Datasource *struct {
			UID string `json:"uid"`
		} `json:"datasource"`
	} `json:"targets"`
}

// The Grafana dashboard is valid JSON with a fixed uid, one data source variable every query uses,
// panels that fit the grid without overlapping, and queries that promtool parses and that name
// only metrics the custom CoreDNS exports. The component ships it in a ConfigMap for Grafana's
// sidecar.
func TestKitDashboard(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(monitoringDir, "dashboard.json"))
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatal(err)
	}
	if d.UID != "coredns-flatten" || d.Title == "" {
		t.Errorf("uid %q, title %q", d.UID, d.Title)
	}
	vars := map[string]string{}
	for _, v := range d.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" {
		t.Errorf("no data source variable among %v", vars)
	}

	known := slices.Concat(flattenMetrics(t), coreDNSMetrics, prometheusMetrics)
	// Grafana's variables, as a query would see them, so that promtool can parse the queries: each
	// becomes a recording rule.
	vals := strings.NewReplacer("$__rate_interval", "5m", "$__range", "6h", "$job", "coredns-flatten", "$instance", ".*")
	var recordings strings.Builder
	recordings.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	ids := map[int]bool{}
	cells := map[[2]int]int{}
	for _, p := range d.Panels {
		if ids[p.ID] {
			t.Errorf("panel id %d twice", p.ID)
		}
		ids[p.ID] = true
		g := p.GridPos
		if g.W <= 0 || g.H <= 0 || g.X < 0 || g.X+g.W > 24 {
			t.Errorf("panel %q: gridPos %+v does not fit the 24 columns", p.Title, g)
		}
		for x := g.X; x < g.X+g.W; x++ {
			for y := g.Y; y < g.Y+g.H; y++ {
				if other, taken := cells[[2]int{x, y}]; taken {
					t.Errorf("panel %q overlaps panel %d at %d,%d", p.Title, other, x, y)
				}
				cells[[2]int{x, y}] = p.ID
			}
		}
		if p.Type == "row" {
			continue
		}
		if p.Datasource == nil || p.Datasource.UID != "${datasource}" {
			t.Errorf("panel %q does not use the data source variable", p.Title)
		}
		if len(p.Targets) == 0 {
			t.Errorf("panel %q has no query", p.Title)
		}
		for i, q := range p.Targets {
			if q.Datasource == nil || q.Datasource.UID != "${datasource}" {
				t.Errorf("panel %q query %d does not use the data source variable", p.Title, i)
			}
			checkMetrics(t, p.Title, q.Expr, known)
			if m := regexp.MustCompile(`\$\{?(\w+)`).FindAllStringSubmatch(vals.Replace(q.Expr), -1); m != nil {
				t.Errorf("panel %q: query uses unknown variables %v", p.Title, m)
			}
			expr, _ := json.Marshal(vals.Replace(q.Expr))
			fmt.Fprintf(&recordings, "      - record: dashboard:panel%d_%d\n        expr: %s\n", p.ID, i, expr)
		}
	}
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "dashboard.rules.yaml"), recordings.String())
	promtool(t, dir, "check", "rules", "dashboard.rules.yaml")

	// The component's ConfigMap carries the dashboard under a fixed name, labelled for Grafana's
	// dashboard sidecar.
	cm := find(t, kustomize(t, kitVariant{components: []string{"monitoring"}}.overlay(t)), "ConfigMap", "coredns-flatten-dashboard")
	if cm.GetLabels()["grafana_dashboard"] != "1" {
		t.Errorf("the dashboard ConfigMap is labelled %v, want grafana_dashboard=1", cm.GetLabels())
	}
	data, _, _ := unstructured.NestedString(cm.Object, "data", "coredns-flatten.json")
	if data != string(b) {
		t.Error("the dashboard ConfigMap does not carry dashboard.json")
	}
}
