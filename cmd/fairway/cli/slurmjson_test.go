package cli

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/fairway-hpc/fairway/api/slurmdata"
	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/go-cmp/cmp"
	yaml "go.yaml.in/yaml/v3"
)

// slurmSchemas loads the embedded data_parser v0.0.41 component schemas.
func slurmSchemas(t *testing.T) openapi3.Schemas {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromData(slurmdata.OpenAPIComponents())
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return doc.Components.Schemas
}

// TestDataOutputValidates runs every command with --json (and --yaml) and
// checks the output against the schema Slurm's command prints.
func TestDataOutputValidates(t *testing.T) {
	schemas := slurmSchemas(t)
	tests := []struct {
		args   []string
		schema string
	}{
		{[]string{"squeue", "--json"}, slurmdata.JobInfoRespSchema},
		{[]string{"squeue", "--json", "-t", "all", "-u", "alice"}, slurmdata.JobInfoRespSchema},
		{[]string{"squeue", "--json=v0.0.41", "-j", "2"}, slurmdata.JobInfoRespSchema},
		{[]string{"squeue", "--yaml"}, slurmdata.JobInfoRespSchema},
		{[]string{"sinfo", "--json"}, slurmdata.SinfoRespSchema},
		{[]string{"sinfo", "--yaml", "-p", "cpu"}, slurmdata.SinfoRespSchema},
		{[]string{"sacct", "--json", "-a", "-S", "2024-06-01"}, slurmdata.SlurmdbdJobsRespSchema},
		{[]string{"sacct", "--yaml", "-j", "5"}, slurmdata.SlurmdbdJobsRespSchema},
		{[]string{"scontrol", "show", "job", "1", "--json"}, slurmdata.JobInfoRespSchema},
		{[]string{"scontrol", "--json", "show", "job"}, slurmdata.JobInfoRespSchema},
		{[]string{"scontrol", "show", "node", "--json"}, slurmdata.NodesRespSchema},
		{[]string{"scontrol", "show", "node", "node1", "--yaml"}, slurmdata.NodesRespSchema},
		{[]string{"scontrol", "show", "partition", "--json"}, slurmdata.PartitionRespSchema},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			f := newFakeCtld(t).fixture()
			te := &testEnv{dir: "/home/alice"}
			if code := te.run(t, f, tt.args...); code != 0 {
				t.Fatalf("exit %d, stderr %q", code, te.stderr.String())
			}
			var data any
			out := te.stdout.Bytes()
			if strings.Contains(strings.Join(tt.args, " "), "yaml") {
				if !strings.HasPrefix(string(out), "---\n") {
					t.Errorf("YAML does not start with ---: %.40q", out)
				}
				err := yaml.Unmarshal(out, &data)
				if err != nil {
					t.Fatalf("not YAML: %v", err)
				}
				// Through JSON, as kin-openapi reads documents.
				b, err := json.Marshal(data)
				if err != nil {
					t.Fatal(err)
				}
				out = b
			}
			if err := json.Unmarshal(out, &data); err != nil {
				t.Fatalf("not JSON: %v\n%s", err, out)
			}
			if err := schemas[tt.schema].Value.VisitJSON(data, openapi3.MultiErrors()); err != nil {
				t.Errorf("output does not validate against %s: %v", tt.schema, err)
			}
		})
	}
}

// runJSON runs a command and decodes its JSON output into v.
func runJSON(t *testing.T, v any, args ...string) {
	t.Helper()
	f := newFakeCtld(t).fixture()
	te := &testEnv{dir: "/home/alice"}
	if code := te.run(t, f, args...); code != 0 {
		t.Fatalf("%v: exit %d, stderr %q", args, code, te.stderr.String())
	}
	if err := json.Unmarshal(te.stdout.Bytes(), v); err != nil {
		t.Fatalf("%v: %v", args, err)
	}
}

// TestDataOutputValues reads the values scripts read (jq '.jobs[0].job_id'
// and friends) and checks the commands' filters apply.
func TestDataOutputValues(t *testing.T) {
	var q struct {
		Jobs []struct {
			JobID     int      `json:"job_id"`
			UserName  string   `json:"user_name"`
			JobState  []string `json:"job_state"`
			Nodes     string   `json:"nodes"`
			GroupName string   `json:"group_name"`
			TimeLimit struct {
				Set, Infinite bool
				Number        int
			} `json:"time_limit"`
		} `json:"jobs"`
		Meta struct {
			Plugin struct {
				DataParser string `json:"data_parser"`
			} `json:"plugin"`
			Command []string                 `json:"command"`
			Slurm   struct{ Cluster string } `json:"slurm"`
		} `json:"meta"`
	}
	runJSON(t, &q, "squeue", "--json", "-u", "alice")
	type job struct {
		ID    int
		User  string
		State string
		Nodes string
		Group string
		Limit int
	}
	var got []job
	for _, j := range q.Jobs {
		got = append(got, job{j.JobID, j.UserName, j.JobState[0], j.Nodes, j.GroupName, j.TimeLimit.Number})
	}
	want := []job{{3, "alice", "PENDING", "", "g1000", 60}, {1, "alice", "RUNNING", "node[1-2]", "g1000", 120}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("squeue --json -u alice (-want +got):\n%s", diff)
	}
	if q.Meta.Plugin.DataParser != "data_parser/v0.0.41" || q.Meta.Slurm.Cluster == "" || q.Meta.Command[0] != "squeue" {
		t.Errorf("meta = %+v", q.Meta)
	}

	var one struct {
		Jobs []struct {
			JobID     int `json:"job_id"`
			TimeLimit struct {
				Set, Infinite bool
			} `json:"time_limit"`
			ExitCode struct {
				Status []string `json:"status"`
			} `json:"exit_code"`
		} `json:"jobs"`
	}
	runJSON(t, &one, "scontrol", "show", "job", "4", "--json")
	if len(one.Jobs) != 1 || one.Jobs[0].JobID != 4 || !one.Jobs[0].TimeLimit.Infinite || one.Jobs[0].ExitCode.Status[0] != "SUCCESS" {
		t.Errorf("scontrol show job 4 --json = %+v", one.Jobs)
	}

	var acct struct {
		Jobs []struct {
			JobID    int `json:"job_id"`
			ExitCode struct {
				Status     []string             `json:"status"`
				ReturnCode struct{ Number int } `json:"return_code"`
			} `json:"exit_code"`
			State struct{ Current []string } `json:"state"`
		} `json:"jobs"`
	}
	runJSON(t, &acct, "sacct", "--json", "-j", "5")
	if len(acct.Jobs) != 1 || acct.Jobs[0].State.Current[0] != "FAILED" || acct.Jobs[0].ExitCode.ReturnCode.Number != 3 {
		t.Errorf("sacct --json -j 5 = %+v", acct.Jobs)
	}

	var si struct {
		Sinfo []struct {
			Node      struct{ State []string } `json:"node"`
			Nodes     struct{ Nodes []string } `json:"nodes"`
			Partition struct{ Name string }    `json:"partition"`
		} `json:"sinfo"`
	}
	runJSON(t, &si, "sinfo", "--json", "-p", "cpu", "-t", "down")
	if len(si.Sinfo) != 1 || si.Sinfo[0].Partition.Name != "cpu" || si.Sinfo[0].Nodes.Nodes[0] != "cpu2" || si.Sinfo[0].Node.State[0] != "DOWN" {
		t.Errorf("sinfo --json -p cpu -t down = %+v", si.Sinfo)
	}
}

// TestDataOutputNoEnvironment: squeue --json no longer prints Fairway's
// job objects with their environment.
func TestDataOutputNoEnvironment(t *testing.T) {
	f := newFakeCtld(t).fixture()
	f.jobs[0].Spec.Env = map[string]string{"AWS_SECRET": "s3cr3t"}
	te := &testEnv{dir: "/home/alice"}
	for _, args := range [][]string{{"squeue", "--json"}, {"sacct", "--json", "-a"}, {"scontrol", "show", "job", "1", "--json"}} {
		if code := te.run(t, f, args...); code != 0 {
			t.Fatalf("%v: exit %d", args, code)
		}
		if strings.Contains(te.stdout.String(), "s3cr3t") {
			t.Errorf("%v prints the environment", args)
		}
	}
}

func TestDataFormatErrors(t *testing.T) {
	f := newFakeCtld(t).fixture()
	te := &testEnv{dir: "/home/alice"}
	for _, args := range [][]string{{"squeue", "--json=v0.0.39"}, {"sinfo", "--json", "--yaml"}} {
		if code := te.run(t, f, args...); code == 0 {
			t.Errorf("%v: exit 0", args)
		}
		if !strings.Contains(te.stderr.String(), "--json") {
			t.Errorf("%v: stderr %q does not name the option", args, te.stderr.String())
		}
	}
}
