package history

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"github.com/fairway-hpc/fairway/api"
)

// Tier is one resolution of a History: points Step apart, kept for Span.
type Tier struct {
	Step time.Duration
	Span time.Duration
}

// DefaultTiers keep 15 s points for the last 2 hours and 5 min points for
// the last 2 days: at most 481 + 577 points.
var DefaultTiers = []Tier{{Step: 15 * time.Second, Span: 2 * time.Hour}, {Step: 5 * time.Minute, Span: 48 * time.Hour}}

// History keeps measurements at several resolutions. Each tier averages the
// measurements that fall in each of its Step intervals into one point and
// keeps the points of its last Span, so memory is bounded whatever the
// sampling rate. It is safe for concurrent use.
type History struct {
	mu    sync.Mutex
	tiers []*tier
}

// tier is one resolution: closed points, oldest first, and the interval
// being filled.
type tier struct {
	step, span int64 // seconds
	points     []api.HistoryPoint
	open       *bucket
}

// New returns a History with the given tiers (DefaultTiers when none).
// A tier with a Step under a second or a Span under its Step is widened to
// them.
func New(tiers ...Tier) *History {
	if len(tiers) == 0 {
		tiers = DefaultTiers
	}
	h := &History{}
	for _, t := range tiers {
		step := max(int64(t.Step/time.Second), 1)
		h.tiers = append(h.tiers, &tier{step: step, span: max(int64(t.Span/time.Second), step)})
	}
	return h
}

// Add records a measurement. A measurement older than the interval a tier
// is filling is ignored by that tier (time went backwards).
func (h *History) Add(p api.HistoryPoint) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, t := range h.tiers {
		t.add(p)
	}
}

// Series returns each tier's points, finest first; the last point of a
// tier is the mean of its current interval so far.
func (h *History) Series() []api.HistorySeries {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]api.HistorySeries, len(h.tiers))
	for i, t := range h.tiers {
		pts := slices.Clone(t.points)
		if t.open != nil {
			pts = append(pts, t.open.mean())
		}
		if pts == nil {
			pts = []api.HistoryPoint{}
		}
		out[i] = api.HistorySeries{StepSecs: t.step, SpanSecs: t.span, Points: pts}
	}
	return out
}

func (t *tier) add(p api.HistoryPoint) {
	start := p.Time - mod(p.Time, t.step)
	switch {
	case t.open == nil:
		t.open = newBucket(start)
	case start < t.open.start:
		return
	case start > t.open.start:
		t.points = append(t.points, t.open.mean())
		t.open = newBucket(start)
	}
	t.open.add(p)
	// Keep the points of the last span, the open interval included.
	oldest := start - t.span + t.step
	drop := 0
	for drop < len(t.points) && t.points[drop].Time < oldest {
		drop++
	}
	if drop > 0 {
		t.points = slices.Delete(t.points, 0, drop)
	}
}

// mod is the non-negative remainder.
func mod(a, b int64) int64 {
	m := a % b
	if m < 0 {
		m += b
	}
	return m
}

// bucket sums the measurements of one interval.
type bucket struct {
	start    int64
	n        float64
	sum      api.HistoryPoint
	parts    map[string]*api.PartitionPoint
	accounts map[[2]string]*api.AccountPoint
}

func newBucket(start int64) *bucket {
	return &bucket{start: start, parts: map[string]*api.PartitionPoint{}, accounts: map[[2]string]*api.AccountPoint{}}
}

func (b *bucket) add(p api.HistoryPoint) {
	b.n++
	s := &b.sum
	s.GPUsTotal += p.GPUsTotal
	s.GPUsUsable += p.GPUsUsable
	s.GPUsAllocated += p.GPUsAllocated
	s.Running += p.Running
	s.Pending += p.Pending
	s.PendingGPUs += p.PendingGPUs
	for _, pp := range p.Partitions {
		q := b.parts[pp.Partition]
		if q == nil {
			q = &api.PartitionPoint{Partition: pp.Partition}
			b.parts[pp.Partition] = q
		}
		q.GPUsTotal += pp.GPUsTotal
		q.GPUsUsable += pp.GPUsUsable
		q.GPUsAllocated += pp.GPUsAllocated
		q.Running += pp.Running
		q.Pending += pp.Pending
		q.PendingGPUs += pp.PendingGPUs
	}
	for _, a := range p.Accounts {
		k := [2]string{a.Partition, a.Account}
		q := b.accounts[k]
		if q == nil {
			q = &api.AccountPoint{Account: a.Account, Partition: a.Partition}
			b.accounts[k] = q
		}
		q.Guarantee += a.Guarantee
		q.InUse += a.InUse
		q.Borrowed += a.Borrowed
		q.Lent += a.Lent
		q.Pending += a.Pending
		q.PendingGPUs += a.PendingGPUs
	}
}

// mean is the bucket's point: every figure averaged over its measurements
// (a partition or account missing from a measurement counts 0 there).
func (b *bucket) mean() api.HistoryPoint {
	n := b.n
	s := b.sum
	p := api.HistoryPoint{
		Time: b.start, GPUsTotal: s.GPUsTotal / n, GPUsUsable: s.GPUsUsable / n, GPUsAllocated: s.GPUsAllocated / n,
		Running: s.Running / n, Pending: s.Pending / n, PendingGPUs: s.PendingGPUs / n,
	}
	for _, q := range b.parts {
		p.Partitions = append(p.Partitions, api.PartitionPoint{
			Partition: q.Partition, GPUsTotal: q.GPUsTotal / n, GPUsUsable: q.GPUsUsable / n, GPUsAllocated: q.GPUsAllocated / n,
			Running: q.Running / n, Pending: q.Pending / n, PendingGPUs: q.PendingGPUs / n,
		})
	}
	slices.SortFunc(p.Partitions, func(a, b api.PartitionPoint) int { return cmp.Compare(a.Partition, b.Partition) })
	for _, q := range b.accounts {
		p.Accounts = append(p.Accounts, api.AccountPoint{
			Account: q.Account, Partition: q.Partition, Guarantee: q.Guarantee / n, InUse: q.InUse / n,
			Borrowed: q.Borrowed / n, Lent: q.Lent / n, Pending: q.Pending / n, PendingGPUs: q.PendingGPUs / n,
		})
	}
	slices.SortFunc(p.Accounts, func(a, b api.AccountPoint) int {
		return cmp.Or(cmp.Compare(a.Partition, b.Partition), cmp.Compare(a.Account, b.Account))
	})
	return p
}
