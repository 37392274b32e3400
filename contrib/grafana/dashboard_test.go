// Package grafana_test checks contrib's Grafana dashboard: every panel's
// and variable's expression is valid PromQL (promtool parses it) and uses
// only metrics Fairway's daemons export.
package grafana_test

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/fairway-hpc/fairway/contrib/promcheck"
)

// panel is the part of a Grafana panel the check reads.
type panel struct {
	Title   string `json:"title"`
	Type    string `json:"type"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
	Panels []panel `json:"panels"` // a collapsed row's
}

type dashboard struct {
	Panels     []panel `json:"panels"`
	Templating struct {
		List []struct {
			Name  string          `json:"name"`
			Type  string          `json:"type"`
			Query json.RawMessage `json:"query"`
		} `json:"list"`
	} `json:"templating"`
}

// grafanaVars are Grafana's variables and what stands in for them when the
// expression is checked.
var grafanaVars = strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$__range", "1h",
	"${partition}", ".*", "$partition", ".*", "${datasource}", "", "$datasource", "")

// labelValues matches a variable query label_values(METRIC, LABEL).
var labelValues = regexp.MustCompile(`^label_values\((.+),\s*\w+\)$`)

// expressions returns every PromQL expression of the dashboard, by where it is.
func expressions(t *testing.T) map[string]string {
	t.Helper()
	data, err := os.ReadFile("fairway-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	var d dashboard
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("fairway-dashboard.json: %v", err)
	}
	out := map[string]string{}
	var walk func(ps []panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			for i, tg := range p.Targets {
				out[fmt.Sprintf("panel %q target %d", p.Title, i)] = tg.Expr
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			var s string
			if err := json.Unmarshal(v.Query, &s); err != nil {
				t.Fatalf("variable %s: query neither an object nor a string", v.Name)
			}
			q.Query = s
		}
		m := labelValues.FindStringSubmatch(q.Query)
		if m == nil {
			t.Fatalf("variable %s: query %q is not label_values(METRIC, LABEL)", v.Name, q.Query)
		}
		out["variable "+v.Name] = m[1]
	}
	return out
}

// TestDashboardUsesExportedMetrics checks every expression against the
// metric names the controller's and node daemon's registries describe.
func TestDashboardUsesExportedMetrics(t *testing.T) {
	exprs := expressions(t)
	if len(exprs) < 10 {
		t.Fatalf("only %d expressions read from the dashboard", len(exprs))
	}
	known := promcheck.Exported()
	for where, e := range exprs {
		if err := promcheck.Check(grafanaVars.Replace(e), known); err != nil {
			t.Errorf("%s: %v", where, err)
		}
	}
}

// TestDashboardExpressionsParse has promtool parse every expression, as
// recording rules of a scratch rules file.
func TestDashboardExpressionsParse(t *testing.T) {
	const promtool = "/usr/bin/promtool"
	if _, err := os.Stat(promtool); err != nil {
		t.Fatalf("%s is missing (install the prometheus package): %v", promtool, err)
	}
	var b strings.Builder
	b.WriteString("groups:\n  - name: dashboard\n    rules:\n")
	i := 0
	for _, e := range expressions(t) {
		quoted, _ := json.Marshal(grafanaVars.Replace(e)) // JSON strings are YAML strings
		fmt.Fprintf(&b, "      - record: dashboard:expr:%d\n        expr: %s\n", i, quoted)
		i++
	}
	path := filepath.Join(t.TempDir(), "dashboard-rules.yml")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(promtool, "check", "rules", path).CombinedOutput(); err != nil {
		t.Fatalf("promtool check rules: %v\n%s\n%s", err, out, b.String())
	}
}
