//go:build e2e

package hatest

import (
	"context"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
)

// faultKinds is the order in which TestLeaderFaultsUnderLoad injects
// faults, one every faultEvery, cycling.
var faultKinds = []string{"kill-leader", "pause-leader", "cut-leader", "kill-follower", "kill-two"}

const (
	faultEvery = 10 * time.Second
	// faultHold is how long a fault lasts before the controller comes back.
	faultHold = 4 * time.Second
)

// fault is one injected fault and how the cluster recovered from it.
type fault struct {
	Kind    string    `json:"kind"`
	Targets []string  `json:"targets"`
	At      time.Time `json:"at"`
	// NextAckSecs: from the fault to the first acknowledgement of a
	// submission sent after it; NextStartSecs: to the next job start
	// (-1: none seen).
	NextAckSecs   float64 `json:"next_ack_secs"`
	NextStartSecs float64 `json:"next_start_secs"`
}

// inject applies fault kind and returns the controllers it hit and how to
// undo it.
func (c *cluster) inject(kind string) ([]*controller, func()) {
	c.t.Helper()
	l := c.waitLeader(30 * time.Second)
	switch kind {
	case "kill-leader":
		c.kill(l)
		return []*controller{l}, func() { c.restart(l) }
	case "pause-leader":
		c.pause(l)
		return []*controller{l}, func() { c.resume(l) }
	case "cut-leader":
		c.cut(l)
		return []*controller{l}, func() { c.heal(l) }
	case "kill-follower":
		f := c.followers(l)[0]
		c.kill(f)
		return []*controller{f}, func() { c.restart(f) }
	case "kill-two":
		two := []*controller{l, c.followers(l)[0]}
		for _, ct := range two {
			c.kill(ct)
		}
		return two, func() {
			for _, ct := range two {
				c.restart(ct)
			}
		}
	}
	c.t.Fatalf("unknown fault %q", kind)
	return nil, nil
}

// TestLeaderFaultsUnderLoad submits jobs through all three controllers while
// the leader (and once a follower, once two controllers) is killed, frozen
// or cut off every 10 s, then checks that every acknowledged job exists
// exactly once and that no job ran twice, and reports the recovery times.
func TestLeaderFaultsUnderLoad(t *testing.T) {
	dur := time.Duration(envInt(t, "FAIRWAY_HA_SECS", 50)) * time.Second
	rate := envInt(t, "FAIRWAY_HA_RATE", 1000)
	c := newCluster(t, clusterOpts{nodes: 2})

	ld := newLoad(c, "ha", rate, 96)
	ctx, stopLoad := context.WithCancel(t.Context())
	loadDone := make(chan struct{})
	go func() { defer close(loadDone); ld.run(ctx) }()
	defer func() { stopLoad(); <-loadDone }()

	// Faults: the first after 5 s of load, then one every faultEvery; the
	// last must end within the run.
	var faults []fault
	start := time.Now()
	for i := 0; ; i++ {
		at := start.Add(5*time.Second + time.Duration(i)*faultEvery)
		if at.Add(faultHold).After(start.Add(dur)) {
			break
		}
		time.Sleep(time.Until(at))
		kind := faultKinds[i%len(faultKinds)]
		hit, undo := c.inject(kind)
		f := fault{Kind: kind, At: time.Now()}
		for _, ct := range hit {
			f.Targets = append(f.Targets, ct.id)
		}
		t.Logf("%s: %s %v", time.Since(start).Round(time.Millisecond), kind, f.Targets)
		time.Sleep(faultHold)
		undo()
		faults = append(faults, f)
	}
	time.Sleep(time.Until(start.Add(dur)))
	stopLoad()
	<-loadDone
	elapsed := ld.stopped.Sub(ld.started)

	// Every controller runs and is reachable again; read from the leader.
	l := c.waitLeader(60 * time.Second)
	lc := c.client(30*time.Second, 20*time.Second, l)
	runnable := map[api.JobID]bool{}
	for name := range ld.runnable {
		if id, ok := ld.acked[name]; ok {
			runnable[id] = true
		}
	}
	// The runnable jobs finish (bounded): a second run would show then.
	var jobs []*api.Job
	c.waitFor("the runnable jobs to end", 120*time.Second, func() bool {
		rctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		resp, err := lc.Jobs(rctx, client.JobFilter{All: true}, client.QueryOptions{})
		if err != nil {
			t.Logf("list jobs: %v", err)
			return false
		}
		jobs = resp.Jobs
		for _, j := range jobs {
			if runnable[j.ID] && !j.State.Final() {
				return false
			}
		}
		return true
	})
	if s, err := lc.Status(t.Context()); err != nil || !s.Leader {
		t.Fatalf("the final list did not come from the leader: %+v, %v", s, err)
	}

	// Every acknowledged job exists exactly once, under its ID.
	byName := map[string][]api.JobID{}
	for _, j := range jobs {
		if strings.HasPrefix(j.Spec.Name, ld.prefix+"-") {
			byName[j.Spec.Name] = append(byName[j.Spec.Name], j.ID)
		}
	}
	missing, wrongID, dups := 0, 0, 0
	for name, id := range ld.acked {
		got := byName[name]
		switch {
		case len(got) == 0:
			missing++
			if missing <= 10 {
				t.Errorf("acknowledged job %s (%s) is missing", id, name)
			}
		case len(got) == 1 && got[0] != id:
			wrongID++
			t.Errorf("acknowledged job %s (%s) exists as %v", id, name, got)
		}
	}
	for name, ids := range byName {
		if len(ids) > 1 {
			dups++
			if dups <= 10 {
				t.Errorf("submission %s exists %d times: %v", name, len(ids), ids)
			}
		}
	}
	// No job ran twice.
	stamps, err := c.readStamps()
	if err != nil {
		t.Fatal(err)
	}
	var startTimes []time.Time
	doubleRuns := 0
	for id, s := range stamps {
		startTimes = append(startTimes, s.starts...)
		if len(s.starts) > 1 {
			doubleRuns++
			t.Errorf("job %s ran %d times", id, len(s.starts))
		}
	}
	sort.Slice(startTimes, func(i, j int) bool { return startTimes[i].Before(startTimes[j]) })

	// Recovery figures.
	var toAck, toStart []time.Duration
	for i := range faults {
		f := &faults[i]
		f.NextAckSecs, f.NextStartSecs = -1, -1
		if a, ok := ld.ackedSince(f.At); ok {
			f.NextAckSecs = secs(a.Sub(f.At))
			toAck = append(toAck, a.Sub(f.At))
		}
		if k := sort.Search(len(startTimes), func(k int) bool { return !startTimes[k].Before(f.At) }); k < len(startTimes) {
			f.NextStartSecs = secs(startTimes[k].Sub(f.At))
			toStart = append(toStart, startTimes[k].Sub(f.At))
		}
		t.Logf("fault %-13s %-7v next accepted write after %6.3fs, next job start after %6.3fs", f.Kind, f.Targets, f.NextAckSecs, f.NextStartSecs)
	}
	attempts := ld.seq.Load()
	summary := map[string]any{
		"duration_secs":           secs(elapsed),
		"target_rate":             rate,
		"workers":                 ld.workers,
		"submissions":             attempts,
		"acknowledged":            len(ld.acked),
		"acknowledged_per_sec":    float64(len(ld.acked)) / elapsed.Seconds(),
		"client_errors":           ld.errs,
		"submit_latency_p50":      secs(percentile(ld.latency, 50)),
		"submit_latency_p99":      secs(percentile(ld.latency, 99)),
		"submit_latency_max":      secs(percentile(ld.latency, 100)),
		"jobs_listed":             len(jobs),
		"runnable_acknowledged":   len(runnable),
		"runs_stamped":            len(stamps),
		"missing":                 missing,
		"wrong_id":                wrongID,
		"duplicates":              dups,
		"double_runs":             doubleRuns,
		"faults":                  faults,
		"fault_to_ack_p50_secs":   secs(percentile(toAck, 50)),
		"fault_to_ack_max_secs":   secs(percentile(toAck, 100)),
		"fault_to_start_p50_secs": secs(percentile(toStart, 50)),
		"fault_to_start_max_secs": secs(percentile(toStart, 100)),
		"leader_at_end":           l.id,
		"consistent_reads":        ld.reads,
		"consistent_read_misses":  len(ld.readMisses),
		"consistent_read_errors":  ld.readErrs,
	}
	t.Logf("%d submissions in %v (target %d/s): %d acknowledged (%.0f/s), errors %v; latency p50 %v p99 %v",
		attempts, elapsed.Round(time.Millisecond), rate, len(ld.acked), summary["acknowledged_per_sec"], ld.errs,
		percentile(ld.latency, 50).Round(time.Millisecond), percentile(ld.latency, 99).Round(time.Millisecond))
	t.Logf("fault -> next accepted write: p50 %.3fs max %.3fs; fault -> next job start: p50 %.3fs max %.3fs",
		summary["fault_to_ack_p50_secs"], summary["fault_to_ack_max_secs"], summary["fault_to_start_p50_secs"], summary["fault_to_start_max_secs"])
	t.Logf("%d jobs listed, %d runnable acknowledged, %d stamped; missing %d, wrong id %d, duplicates %d, double runs %d",
		len(jobs), len(runnable), len(stamps), missing, wrongID, dups, doubleRuns)
	t.Logf("read after write (consistent, through another controller first): %d answered, %d did not show the acknowledged job, errors %v",
		ld.reads, len(ld.readMisses), ld.readErrs)
	writeReport(t, summary)
	if len(ld.acked) == 0 {
		t.Error("no submission was acknowledged")
	}
	if len(ld.readMisses) > 0 {
		t.Errorf("%d consistent reads right after an acknowledged submission did not show it, e.g. %v", len(ld.readMisses), ld.readMisses[:min(5, len(ld.readMisses))])
	}
	if ld.reads == 0 {
		t.Error("no consistent read after a write answered")
	}
}
