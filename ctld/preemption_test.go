package ctld_test

import (
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/ctld"
)

// TestPreemptionEndGraceAndMetrics follows a reclaim through the API: an
// account borrowing the whole node has a job preempted (checkpoint signal,
// the partition's grace) for the owner of the capacity; the victim ends its
// grace time early with scontrol requeue, its node reports it stopped, it is
// requeued with the same ID, and only then the owner's job starts. The
// metrics count the preemption by reason and the wait to the start.
func TestPreemptionEndGraceAndMetrics(t *testing.T) {
	cfgFile := writeClusterConfig(t, api.ClusterConfig{
		Partitions: []api.Partition{{Name: "gpu", Default: true, PreemptMode: api.PreemptRequeue, GraceSecs: 60}},
		Accounts: []api.Account{
			{Name: "lender", Shares: 1, Guarantees: map[string]int{"gpu": 1}},
			{Name: "borrower", Shares: 1, Guarantees: map[string]int{"gpu": 1}},
		},
	})
	ctl, cl := startController(t, func(cfg *ctld.Config) { cfg.ClusterConfigFile = cfgFile })
	c := ctx(t)
	node := registerNode(t, cl, "n1", 8, 2)
	node.beat(t)

	job := func(name, account string) api.JobSpec {
		s := spec(name)
		s.Account, s.GPUs = account, 1
		return s
	}
	borrowed, err := cl.Submit(c, job("b1", "borrower"), job("b2", "borrower"))
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	waitNodeJobs(t, cl, "n1", func(jobs []*api.Job) bool { return len(jobs) == 2 })

	// Nothing is being stopped yet: there is no grace time to end.
	var apiErr *client.Error
	if err := cl.EndGrace(c, api.JobRef{ID: borrowed[0]}); !errors.As(err, &apiErr) || apiErr.Status != http.StatusConflict {
		t.Errorf("end-grace of a job not being stopped: %v, want a 409", err)
	}

	owner, err := cl.Submit(c, job("own", "lender"))
	if err != nil {
		t.Fatalf("submit: %v", err)
	}
	var victim *api.Job
	waitFor(t, "a borrower's job to be preempted for the owner", func() (bool, string) {
		jobs, err := cl.NodeJobs(c, "n1", client.QueryOptions{})
		if err != nil {
			return false, err.Error()
		}
		for _, j := range jobs.Jobs {
			if j.Kill != nil {
				victim = j
				return true, ""
			}
		}
		return false, "no job being stopped"
	})
	k := victim.Kill
	if k.State != api.JobPreempted || !k.Requeue || k.Signal != "USR1" || k.GraceSecs != 60 || k.For != owner[0] || k.EndGrace {
		t.Fatalf("kill of the victim = %+v, want a requeue preemption with USR1 and 60 s of grace for job %d", k, owner[0])
	}

	// The victim saved its checkpoint and asks for its requeue.
	if err := cl.Requeue(c, victim.ID); err != nil {
		t.Fatalf("requeue of the victim: %v", err)
	}
	waitJob(t, cl, victim.ID, "to have its grace time ended", func(j *api.Job) bool { return j.Kill != nil && j.Kill.EndGrace })
	if j, _ := cl.Job(c, owner[0]); j.State != api.JobPending {
		t.Fatalf("owner's job is %s before the victim stopped, want PENDING", j.State)
	}

	// The node reports the victim gone: it is requeued, the owner starts.
	if err := cl.ReportEvents(c, "n1", []api.JobEvent{{JobID: victim.ID, Run: 0, Node: "n1", Kind: api.EventExited, Signal: 15}}); err != nil {
		t.Fatalf("report: %v", err)
	}
	waitJob(t, cl, owner[0], "to start", func(j *api.Job) bool { return j.State == api.JobRunning })
	v := waitJob(t, cl, victim.ID, "to be requeued", func(j *api.Job) bool { return j.State == api.JobPending })
	if v.RestartCount != 1 || len(v.Runs) != 1 || v.Runs[0].State != api.JobPreempted {
		t.Errorf("victim after the preemption: restarts %d runs %+v, want 1 and one PREEMPTED run", v.RestartCount, v.Runs)
	}

	resp, err := http.Get("http://" + ctl.Addr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`fairway_preemptions_total{reason="reclaim"} 1`,
		`fairway_preemptions_total{reason="priority"} 0`,
		`fairway_preemption_to_start_seconds_count 1`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
}
