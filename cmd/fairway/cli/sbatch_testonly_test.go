package cli

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/cmd/fairway/cli/slurmtime"
	"github.com/google/go-cmp/cmp"
)

// TestSbatchTestOnly: sbatch --test-only asks the controller's will-run
// route and prints Slurm's line on standard error (sbatch's info()), in
// Slurm's time format, with the node list compressed; a refusal prints
// "allocation failure: ..." and exits 1 as Slurm's sbatch; local errors
// are those of a real submission; nothing is ever submitted.
func TestSbatchTestOnly(t *testing.T) {
	start := time.Date(2024, 6, 15, 16, 0, 0, 0, testLoc).Unix()
	for _, tc := range []struct {
		name     string
		args     []string
		status   int
		msg      string
		resp     api.WillRunResponse
		wantCode int
		wantOut  string
		wantErr  string
		wantAsks int
	}{
		{
			name: "one node", args: []string{"--test-only", "-p", "gpu", "--wrap", "true"},
			resp:     api.WillRunResponse{JobID: 42, StartTime: start, Nodes: []string{"node3"}, Partition: "gpu", CPUs: 1},
			wantErr:  "sbatch: Job 42 to start at 2024-06-15T16:00:00 using 1 processors on nodes node3 in partition gpu\n",
			wantAsks: 1,
		},
		{
			name: "several nodes", args: []string{"--test-only", "-N", "3", "--wrap", "true"},
			resp:     api.WillRunResponse{JobID: 7, StartTime: start, Nodes: []string{"node2", "node1", "node4"}, Partition: "cpu", CPUs: 24},
			wantErr:  "sbatch: Job 7 to start at 2024-06-15T16:00:00 using 24 processors on nodes node[1-2,4] in partition cpu\n",
			wantAsks: 1,
		},
		{
			name: "refused by the controller", args: []string{"--test-only", "-p", "nope", "--wrap", "true"},
			status: http.StatusBadRequest, msg: "invalid --partition \"nope\": Invalid partition name specified",
			wantCode: 1, wantErr: "sbatch: error: allocation failure: invalid --partition \"nope\": Invalid partition name specified\n",
			wantAsks: 1,
		},
		{
			name: "a local error as for a submission", args: []string{"--test-only", "--time=abc", "--wrap", "true"},
			wantCode: 255, wantAsks: 0,
			wantErr: "sbatch: error: Invalid --time specification\nsbatch: error: invalid --time \"abc\": " + slurmtime.LimitForms + "\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			asks, submits := 0, 0
			mux := http.NewServeMux()
			mux.HandleFunc("POST /v1/jobs/will-run", func(w http.ResponseWriter, r *http.Request) {
				var req api.SubmitRequest
				_ = json.NewDecoder(r.Body).Decode(&req)
				mu.Lock()
				asks++
				mu.Unlock()
				if len(req.Jobs) != 1 || req.Jobs[0].Script == "" {
					writeJSON(w, http.StatusBadRequest, api.ErrorResponse{Error: "want one job"})
					return
				}
				if tc.status != 0 {
					writeJSON(w, tc.status, api.ErrorResponse{Error: tc.msg})
					return
				}
				writeJSON(w, http.StatusOK, tc.resp)
			})
			mux.HandleFunc("POST /v1/jobs", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				submits++
				mu.Unlock()
				writeJSON(w, http.StatusOK, api.SubmitResponse{IDs: []api.JobID{1}})
			})
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			te := &testEnv{dir: t.TempDir(), vars: map[string]string{"FAIRWAY_ADDR": srv.URL}}
			code := te.run(t, nil, append([]string{"sbatch"}, tc.args...)...)
			type result struct {
				Code, Asks, Submits int
				Out, Err            string
			}
			want := result{tc.wantCode, tc.wantAsks, 0, tc.wantOut, tc.wantErr}
			got := result{code, asks, submits, te.stdout.String(), te.stderr.String()}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("sbatch --test-only (-want +got):\n%s", diff)
			}
		})
	}
}
