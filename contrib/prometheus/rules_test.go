// Package prometheus_test checks contrib's Prometheus alert rules: promtool
// accepts them and passes their unit tests, and every expression uses only
// metrics Fairway's daemons export.
package prometheus_test

import (
	"os"
	"os/exec"
	"testing"

	"github.com/fairway-hpc/fairway/contrib/promcheck"
	"go.yaml.in/yaml/v3"
)

// promtool is Debian's prometheus package's rule checker.
const promtool = "/usr/bin/promtool"

func runPromtool(t *testing.T, args ...string) {
	t.Helper()
	if _, err := os.Stat(promtool); err != nil {
		t.Fatalf("%s is missing (install the prometheus package): %v", promtool, err)
	}
	out, err := exec.Command(promtool, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("promtool %v: %v\n%s", args, err, out)
	}
	t.Logf("promtool %v:\n%s", args, out)
}

func TestRulesCheck(t *testing.T) { runPromtool(t, "check", "rules", "fairway-rules.yml") }

func TestRulesUnitTests(t *testing.T) { runPromtool(t, "test", "rules", "fairway-rules.test.yml") }

// rulesFile is the part of a Prometheus rules file the checks read.
type rulesFile struct {
	Groups []struct {
		Name  string `yaml:"name"`
		Rules []struct {
			Alert       string            `yaml:"alert"`
			Record      string            `yaml:"record"`
			Expr        string            `yaml:"expr"`
			Annotations map[string]string `yaml:"annotations"`
		} `yaml:"rules"`
	} `yaml:"groups"`
}

// testFile is the part of a promtool test file the checks read.
type testFile struct {
	Tests []struct {
		AlertRuleTest []struct {
			Alertname string `yaml:"alertname"`
			ExpAlerts []any  `yaml:"exp_alerts"`
		} `yaml:"alert_rule_test"`
	} `yaml:"tests"`
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestRulesUseExportedMetrics: every rule's expression selects only
// metrics the controller and node daemon export, and every alert has a
// summary and a description.
func TestRulesUseExportedMetrics(t *testing.T) {
	var rf rulesFile
	readYAML(t, "fairway-rules.yml", &rf)
	known := promcheck.Exported()
	n := 0
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			n++
			if err := promcheck.Check(r.Expr, known); err != nil {
				t.Errorf("rule %s: %v", r.Alert+r.Record, err)
			}
			if r.Alert != "" && (r.Annotations["summary"] == "" || r.Annotations["description"] == "") {
				t.Errorf("alert %s lacks a summary or a description", r.Alert)
			}
		}
	}
	if n == 0 {
		t.Fatal("no rules read")
	}
}

// TestEveryAlertTestedBothWays: the unit tests have, for every alert, a
// case where it fires and one where it does not.
func TestEveryAlertTestedBothWays(t *testing.T) {
	var rf rulesFile
	readYAML(t, "fairway-rules.yml", &rf)
	var tf testFile
	readYAML(t, "fairway-rules.test.yml", &tf)
	fires, quiet := map[string]bool{}, map[string]bool{}
	for _, tc := range tf.Tests {
		for _, a := range tc.AlertRuleTest {
			if len(a.ExpAlerts) > 0 {
				fires[a.Alertname] = true
			} else {
				quiet[a.Alertname] = true
			}
		}
	}
	for _, g := range rf.Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			if !fires[r.Alert] || !quiet[r.Alert] {
				t.Errorf("alert %s: tested firing %v, not firing %v; want both", r.Alert, fires[r.Alert], quiet[r.Alert])
			}
		}
	}
}
