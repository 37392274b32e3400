package cli

import (
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/google/go-cmp/cmp"
)

// TestSdiagReset: sdiag -r asks the controller to reset its statistics and
// prints Slurm's "Reset scheduling statistics"; refused (not an operator),
// it prints Slurm's "slurm_reset_statistics: Access/permission denied..."
// and exits 255 (Slurm's exit(-1)).
func TestSdiagReset(t *testing.T) {
	for _, tc := range []struct {
		name       string
		args       []string
		status     int
		msg        string
		wantCode   int
		wantResets int
		wantOut    string
		wantErr    string
	}{
		{name: "accepted", args: []string{"sdiag", "-r"}, wantResets: 1, wantOut: "Reset scheduling statistics\n"},
		{name: "--reset", args: []string{"sdiag", "--reset"}, wantResets: 1, wantOut: "Reset scheduling statistics\n"},
		{
			name: "refused", args: []string{"sdiag", "-r"}, status: http.StatusForbidden,
			msg:      "Access/permission denied: alice may not reset the scheduling statistics: only an operator or an administrator may",
			wantCode: 255, wantResets: 1,
			wantErr: "sdiag: error: slurm_reset_statistics: Access/permission denied: alice may not reset the scheduling statistics: only an operator or an administrator may\n",
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			resets := 0
			mux := http.NewServeMux()
			mux.HandleFunc("POST /v1/diag/reset", func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				resets++
				mu.Unlock()
				if tc.status != 0 {
					writeJSON(w, tc.status, api.ErrorResponse{Error: tc.msg})
					return
				}
				writeJSON(w, http.StatusOK, api.ActionResponse{Index: 1})
			})
			srv := httptest.NewServer(mux)
			t.Cleanup(srv.Close)
			te := &testEnv{vars: map[string]string{"FAIRWAY_ADDR": srv.URL}}
			code := te.run(t, nil, tc.args...)
			got := struct {
				Code, Resets int
				Out, Err     string
			}{code, resets, te.stdout.String(), te.stderr.String()}
			want := struct {
				Code, Resets int
				Out, Err     string
			}{tc.wantCode, tc.wantResets, tc.wantOut, tc.wantErr}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("sdiag (-want +got):\n%s", diff)
			}
		})
	}
}
