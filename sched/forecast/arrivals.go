package forecast

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/fairway-hpc/fairway/api"
)

// ArrivalIDBase is the first job ID a replay gives the jobs it makes
// arrive (and the array tasks split off after them): far above any ID a
// controller assigns, so that a synthetic arrival never takes the ID of a
// real job (a retained one that a dependency names, say).
const ArrivalIDBase api.JobID = 1 << 50

// DefaultMaxArrivals is Options.MaxArrivals' default: the most jobs one
// replay makes arrive.
const DefaultMaxArrivals = 1000

// ArrivalModel is the stream of jobs that keep arriving while a replay
// runs, made from the jobs submitted in a recent window: arrivals form a
// Poisson process at the window's submission rate, each a copy of one of
// the window's submissions (its shape — nodes, tasks, CPUs, memory, GPUs,
// time limit, partitions — its account and user, its --priority, nice and
// QOS) chosen uniformly. It is immutable and safe for concurrent use.
type ArrivalModel struct {
	templates []*api.Job // pending copies, no ID, no submit time
	rate      float64    // arrivals per second
	window    int64
}

// NewArrivalModel returns the arrival model of the jobs in recent submitted
// in [now-windowSecs, now] (the others are ignored, so recent may be every
// retained job). Each job counts as one submission, an array record as one
// per task it still holds (an array task split off it counts as itself);
// arrivals are plain jobs (no array, dependency, begin time or hold). A
// window without submissions gives a model without arrivals.
func NewArrivalModel(recent []*api.Job, now, windowSecs int64) (*ArrivalModel, error) {
	if windowSecs <= 0 {
		return nil, fmt.Errorf("arrival model: window_secs %d: want a positive number of seconds", windowSecs)
	}
	m := &ArrivalModel{window: windowSecs}
	for _, j := range recent {
		if j.SubmitTime < now-windowSecs || j.SubmitTime > now {
			continue
		}
		n := 1
		if j.IsArrayRecord() {
			n = len(j.ArrayPending)
		}
		if n == 0 {
			continue
		}
		t := template(j)
		for range n {
			m.templates = append(m.templates, t)
		}
	}
	// Sorted, so that the model does not depend on the order of recent.
	slices.SortStableFunc(m.templates, func(a, b *api.Job) int {
		return cmp.Or(cmp.Compare(a.SubmitTime, b.SubmitTime), cmp.Compare(a.ID, b.ID))
	})
	for _, t := range m.templates {
		t.ID, t.SubmitTime = 0, 0
	}
	m.rate = float64(len(m.templates)) / float64(windowSecs)
	return m, nil
}

// template is the pending job an arrival copies: j's shape and association
// (its ID and submit time kept for sorting only).
func template(j *api.Job) *api.Job {
	s := j.Spec
	s.TimeLimitSecs = cmp.Or(s.TimeLimitSecs, j.TimeLimitSecs)
	s.Script, s.Args, s.Env, s.ContainerMounts = "", nil, nil, nil
	s.Partitions = slices.Clone(s.Partitions)
	s.Array, s.Dependency, s.BeginTime, s.Hold = "", "", 0, false
	part := j.Partition
	if len(s.Partitions) > 0 {
		part = s.Partitions[0]
	}
	return &api.Job{ID: j.ID, SubmitTime: j.SubmitTime, Spec: s, State: api.JobPending, Partition: part}
}

// Rate is the arrival rate (jobs per second).
func (m *ArrivalModel) Rate() float64 {
	if m == nil {
		return 0
	}
	return m.rate
}

// Submissions is how many submissions of the window the model resamples.
func (m *ArrivalModel) Submissions() int {
	if m == nil {
		return 0
	}
	return len(m.templates)
}

// arrivals is one replay's stream of arrivals: deterministic for the
// forecast's seed and the replay's number, whatever the replay schedules.
type arrivals struct {
	m    *ArrivalModel
	rng  *rand.Rand
	next int64 // the next arrival's time; math.MaxInt64 when none
	made int
	max  int
}

// newArrivals starts replay n's stream at now; nil without arrivals.
func newArrivals(m *ArrivalModel, seed [2]uint64, now, horizon int64, maxArrivals int) *arrivals {
	if m == nil || m.rate <= 0 || maxArrivals <= 0 {
		return nil
	}
	a := &arrivals{m: m, max: maxArrivals,
		rng: rand.New(rand.NewPCG(seed[0]^0xa0761d6478bd642f, seed[1]^0xe7037ed1a0b428db))}
	a.advance(now, horizon)
	return a
}

// advance draws the arrival after t (none past horizon or the cap).
func (a *arrivals) advance(t, horizon int64) {
	gap := a.rng.ExpFloat64() / a.m.rate
	if a.made >= a.max || gap > float64(horizon-t) {
		a.next = math.MaxInt64
		return
	}
	a.next = t + max(int64(math.Ceil(gap)), 1)
	if a.next > horizon {
		a.next = math.MaxInt64
	}
}

// take returns the job that arrives at a.next (the k-th of the stream,
// from 0, with ID id) and draws the next arrival.
func (a *arrivals) take(id api.JobID, horizon int64) (*api.Job, int) {
	t := a.m.templates[a.rng.IntN(len(a.m.templates))]
	j := *t
	j.ID, j.SubmitTime = id, a.next
	k := a.made
	a.made++
	a.advance(a.next, horizon)
	return &j, k
}
