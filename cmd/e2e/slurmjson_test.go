//go:build e2e

package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api/slurmdata"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v3"
)

// dataOut runs a command that prints Slurm's JSON (or YAML), checks it
// against the component schema of Slurm's data_parser v0.0.41 and
// decodes it into v.
func (c *cluster) dataOut(schemas openapi3.Schemas, schema string, v any, name string, args ...string) string {
	c.t.Helper()
	out := c.must(name, args...)
	raw := []byte(out)
	var doc any
	if strings.HasPrefix(out, "---\n") {
		if err := yaml.Unmarshal(raw, &doc); err != nil {
			c.t.Fatalf("%s %v: not YAML: %v", name, args, err)
		}
		b, err := json.Marshal(doc)
		if err != nil {
			c.t.Fatal(err)
		}
		raw = b
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		c.t.Fatalf("%s %v: not JSON: %v\n%s", name, args, err, out)
	}
	if err := schemas[schema].Value.VisitJSON(doc, openapi3.MultiErrors()); err != nil {
		c.t.Errorf("%s %v: does not validate against %s: %v", name, args, schema, err)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		c.t.Fatalf("%s %v: %v", name, args, err)
	}
	return out
}

// TestSlurmJSON runs squeue, sinfo, sacct and scontrol show with --json and
// --yaml against a real cluster and reads what a script reads: the
// issue's `squeue --json | jq '.jobs[0].job_id'` included.
func TestSlurmJSON(t *testing.T) {
	c := newCluster(t, clusterOpts{})
	doc, err := openapi3.NewLoader().LoadFromData(slurmdata.OpenAPIComponents())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	schemas := doc.Components.Schemas

	failed := c.sbatch("-J", "fails", "--mem=64M", "--wrap", "exit 3")
	c.waitState(failed, "FAILED", 60*time.Second)
	running := c.sbatch("-J", "sleeper", "--mem=64M", "-t", "10", "--export=ALL,FW_SECRET_TOKEN=hunter2", "--wrap", "sleep 300")
	c.waitState(running, "RUNNING", 60*time.Second)
	held := c.sbatch("-J", "held", "--mem=64M", "-H", "-t", "UNLIMITED", "--wrap", "true")

	type job struct {
		JobID     int      `json:"job_id"`
		Name      string   `json:"name"`
		JobState  []string `json:"job_state"`
		Nodes     string   `json:"nodes"`
		Reason    string   `json:"state_reason"`
		Partition string   `json:"partition"`
		TimeLimit struct {
			Set      bool  `json:"set"`
			Infinite bool  `json:"infinite"`
			Number   int64 `json:"number"`
		} `json:"time_limit"`
		ExitCode struct {
			Status     []string `json:"status"`
			ReturnCode struct {
				Number int `json:"number"`
			} `json:"return_code"`
		} `json:"exit_code"`
	}
	var q struct {
		Jobs []job `json:"jobs"`
		Meta struct {
			Plugin struct {
				DataParser string `json:"data_parser"`
			} `json:"plugin"`
		} `json:"meta"`
	}
	out := c.dataOut(schemas, slurmdata.JobInfoRespSchema, &q, "squeue", "--json")
	if strings.Contains(out, "hunter2") {
		t.Error("squeue --json prints a job's environment")
	}
	if q.Meta.Plugin.DataParser != "data_parser/v0.0.41" {
		t.Errorf("meta.plugin.data_parser = %q", q.Meta.Plugin.DataParser)
	}
	type row struct {
		ID            string
		State, Reason string
		Nodes         string
		Infinite      bool
		LimitMinutes  int64
	}
	var got []row
	for _, j := range q.Jobs {
		got = append(got, row{ID: itoa(j.JobID), State: j.JobState[0], Reason: j.Reason, Nodes: j.Nodes,
			Infinite: j.TimeLimit.Infinite, LimitMinutes: j.TimeLimit.Number})
	}
	want := []row{
		{ID: held, State: "PENDING", Reason: "JobHeldUser", Infinite: true},
		{ID: running, State: "RUNNING", Reason: "None", Nodes: "node1", LimitMinutes: 10},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("squeue --json (-want +got):\n%s", diff)
	}

	// The complaint, with jq itself.
	jq := exec.Command("jq", "-r", ".jobs[0].job_id")
	jq.Stdin = strings.NewReader(c.must("squeue", "--json", "-j", running))
	if b, err := jq.Output(); err != nil || strings.TrimSpace(string(b)) != running {
		t.Errorf("squeue --json -j %s | jq .jobs[0].job_id = %q, %v", running, b, err)
	}

	var one struct{ Jobs []job }
	c.dataOut(schemas, slurmdata.JobInfoRespSchema, &one, "scontrol", "show", "job", failed, "--json")
	if len(one.Jobs) != 1 || itoa(one.Jobs[0].JobID) != failed || one.Jobs[0].JobState[0] != "FAILED" ||
		one.Jobs[0].ExitCode.Status[0] != "ERROR" || one.Jobs[0].ExitCode.ReturnCode.Number != 3 {
		t.Errorf("scontrol show job %s --json = %+v", failed, one.Jobs)
	}
	var y struct{ Jobs []job }
	c.dataOut(schemas, slurmdata.JobInfoRespSchema, &y, "squeue", "--yaml", "-j", running)
	if len(y.Jobs) != 1 || itoa(y.Jobs[0].JobID) != running {
		t.Errorf("squeue --yaml -j %s = %+v", running, y.Jobs)
	}

	var acct struct {
		Jobs []struct {
			JobID int `json:"job_id"`
			State struct {
				Current []string `json:"current"`
			} `json:"state"`
			ExitCode struct {
				ReturnCode struct {
					Number int `json:"number"`
				} `json:"return_code"`
			} `json:"exit_code"`
			Time struct {
				Elapsed int   `json:"elapsed"`
				Start   int64 `json:"start"`
			} `json:"time"`
			Steps []struct {
				Step struct {
					ID string `json:"id"`
				} `json:"step"`
			} `json:"steps"`
		} `json:"jobs"`
	}
	out = c.dataOut(schemas, slurmdata.SlurmdbdJobsRespSchema, &acct, "sacct", "--json", "-j", failed+","+running)
	if strings.Contains(out, "hunter2") {
		t.Error("sacct --json prints a job's environment")
	}
	states := map[string]string{}
	for _, j := range acct.Jobs {
		states[itoa(j.JobID)] = j.State.Current[0]
		if itoa(j.JobID) == failed && j.ExitCode.ReturnCode.Number != 3 {
			t.Errorf("sacct --json: job %s exit code %d, want 3", failed, j.ExitCode.ReturnCode.Number)
		}
		if j.Time.Start == 0 {
			t.Errorf("sacct --json: job %d has no start time", j.JobID)
		}
	}
	if diff := cmp.Diff(map[string]string{failed: "FAILED", running: "RUNNING"}, states); diff != "" {
		t.Errorf("sacct --json states (-want +got):\n%s", diff)
	}

	var si struct {
		Sinfo []struct {
			Node struct {
				State []string `json:"state"`
			} `json:"node"`
			Nodes struct {
				Nodes []string `json:"nodes"`
				Total int      `json:"total"`
			} `json:"nodes"`
			CPUs struct {
				Total int `json:"total"`
			} `json:"cpus"`
			Partition struct {
				Name string `json:"name"`
			} `json:"partition"`
		} `json:"sinfo"`
	}
	c.dataOut(schemas, slurmdata.SinfoRespSchema, &si, "sinfo", "--json")
	if len(si.Sinfo) == 0 || !strings.Contains(strings.Join(si.Sinfo[0].Nodes.Nodes, ","), "node1") ||
		si.Sinfo[0].CPUs.Total != 2 || si.Sinfo[0].Node.State[0] != "MIXED" {
		t.Errorf("sinfo --json = %+v", si.Sinfo)
	}
	var nodes struct {
		Nodes []struct {
			Name      string   `json:"name"`
			State     []string `json:"state"`
			AllocCPUs int      `json:"alloc_cpus"`
		} `json:"nodes"`
	}
	c.dataOut(schemas, slurmdata.NodesRespSchema, &nodes, "scontrol", "show", "node", "node1", "--json")
	if len(nodes.Nodes) != 1 || nodes.Nodes[0].Name != "node1" || nodes.Nodes[0].AllocCPUs != 1 {
		t.Errorf("scontrol show node node1 --json = %+v", nodes.Nodes)
	}
	var parts struct {
		Partitions []struct {
			Name  string `json:"name"`
			Nodes struct {
				Configured string `json:"configured"`
			} `json:"nodes"`
		} `json:"partitions"`
	}
	c.dataOut(schemas, slurmdata.PartitionRespSchema, &parts, "scontrol", "show", "partition", "--yaml")
	if len(parts.Partitions) == 0 || parts.Partitions[0].Nodes.Configured != "node1" {
		t.Errorf("scontrol show partition --yaml = %+v", parts.Partitions)
	}
	c.must("scancel", running, held)
}

// itoa prints a job id as the commands print it.
func itoa(n int) string { return strconv.Itoa(n) }
