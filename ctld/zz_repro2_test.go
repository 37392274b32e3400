package ctld_test

import (
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
	"github.com/fairway-hpc/fairway/ctld"
)

func TestZZRepro2(t *testing.T) {
	cfgFile := writeClusterConfig(t, api.ClusterConfig{
		Partitions: []api.Partition{{Name: "gpu", Default: true, DefaultTimeSecs: 3600, PreemptMode: api.PreemptRequeue, GraceSecs: 2}},
		Accounts: []api.Account{
			{Name: "vision", Shares: 1, Guarantees: map[string]int{"gpu": 2}},
			{Name: "search", Shares: 1, Guarantees: map[string]int{"gpu": 2}},
		},
	})
	_, cl := startController(t, func(cfg *ctld.Config) { cfg.ClusterConfigFile = cfgFile })
	c := ctx(t)
	node := registerNode(t, cl, "n1", 8, 4)
	node.beat(t)
	job := func(name, account string, prio int) api.JobSpec {
		s := spec(name)
		s.Account, s.GPUs, s.Priority, s.MemoryMB = account, 1, prio, 64
		return s
	}
	if _, err := cl.Submit(c, job("s1", "search", 10), job("s2", "search", 10), job("low", "vision", 10), job("mid", "vision", 50)); err != nil {
		t.Fatal(err)
	}
	waitNodeJobs(t, cl, "n1", func(jobs []*api.Job) bool { return len(jobs) == 4 })
	time.Sleep(1100 * time.Millisecond)
	if _, err := cl.Submit(c, job("high", "vision", 90)); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		resp, _ := cl.NodeJobs(c, "n1", client.QueryOptions{})
		for _, j := range resp.Jobs {
			if j.Kill != nil {
				t.Logf("job %d killed for %d; running: %v", j.ID, j.Kill.For, ids(resp.Jobs))
				_ = cl.ReportEvents(c, "n1", []api.JobEvent{{JobID: j.ID, Run: j.RestartCount, Node: "n1", Kind: api.EventExited, Signal: 10}})
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	resp, _ := cl.Jobs(c, client.JobFilter{}, client.QueryOptions{})
	for _, j := range resp.Jobs {
		t.Logf("job %d %s prio %d restarts %d reason %s", j.ID, j.State, j.Priority, j.RestartCount, j.Reason)
	}
}

func ids(jobs []*api.Job) []api.JobID {
	var out []api.JobID
	for _, j := range jobs {
		out = append(out, j.ID)
	}
	return out
}
