package explain

import (
	"slices"

	"github.com/fairway-hpc/fairway/api"
)

// Accuracy measures the recorded first estimates (Job.FirstEstimate)
// against the actual starts of the jobs that had one and started: the
// first run's start, which is what the estimate made while the job had
// never run was about.
func Accuracy(jobs []*api.Job) api.EstimateAccuracy {
	var acc api.EstimateAccuracy
	var errs []int64
	for _, j := range jobs {
		e := j.FirstEstimate
		if e == nil || len(j.Runs) == 0 || j.Runs[0].StartTime == 0 {
			continue
		}
		start := j.Runs[0].StartTime
		acc.Jobs++
		if start >= e.MadeAt && (e.P90 == 0 || start <= e.P90) {
			acc.InRange++
		}
		if e.P50 > 0 {
			acc.WithP50++
			d := start - e.P50
			if d < 0 {
				d = -d
			}
			errs = append(errs, d)
		}
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		if n := len(errs); n%2 == 1 {
			acc.MedianAbsErrorSecs = errs[n/2]
		} else {
			acc.MedianAbsErrorSecs = (errs[n/2-1] + errs[n/2]) / 2
		}
	}
	return acc
}
