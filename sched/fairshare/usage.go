package fairshare

import (
	"math"

	"github.com/fairway-hpc/fairway/api"
)

// Decay returns usage after elapsedSecs of exponential decay with the given
// half-life (Slurm's PriorityDecayHalfLife):
//
//	usage * 2^(-elapsed/halfLife)
//
// A half-life of 0 or less means no decay, and so does an elapsed time of 0
// or less (usage never grows by going back in time).
func Decay(usage float64, elapsedSecs, halfLifeSecs int64) float64 {
	if halfLifeSecs <= 0 || elapsedSecs <= 0 {
		return usage
	}
	return usage * math.Exp2(-float64(elapsedSecs)/float64(halfLifeSecs))
}

// Billing returns the rate, per second, at which an allocation accrues
// fair-share usage (Slurm's TRESBillingWeights with SUM):
//
//	sum over alloc of  weights["cpu"]*CPUs + weights["mem"]*MemoryMB/1024
//	                   + for each GPU: weights["gpu:"+type] if set, else weights["gpu"]
//
// gpuType(node, idx) names the type of GPU idx on node; nil (or "") means the
// plain "gpu" weight. With no weights at all (nil or empty map) a GPU weighs 1
// and everything else 0, so that usage is GPU-seconds.
func Billing(weights map[string]float64, alloc []api.NodeAlloc, gpuType func(node string, idx int) string) float64 {
	cpu, mem, gpu := weights["cpu"], weights["mem"], weights["gpu"]
	if len(weights) == 0 {
		gpu = 1
	}
	total := 0.0
	for _, a := range alloc {
		total += cpu*float64(a.CPUs) + mem*float64(a.MemoryMB)/1024
		for _, idx := range a.GPUs {
			w := gpu
			if gpuType != nil {
				if typ := gpuType(a.Node, idx); typ != "" {
					if tw, ok := weights["gpu:"+typ]; ok {
						w = tw
					}
				}
			}
			total += w
		}
	}
	return total
}

// Accrue advances usage by dt seconds on virtual time, as the controller's
// accrual does: every leaf's usage decays by the configuration's half-life
// (a week when unset; none with UsageNoDecay), then each leaf in rate is
// charged its billing rate for those seconds. The simulator and the
// forecast share it.
func Accrue(usage, rate map[string]float64, dt int64, sc api.SchedulingConfig) {
	if dt <= 0 {
		return
	}
	half := sc.UsageHalfLifeSecs
	if half == 0 {
		half = 7 * 24 * 3600
	}
	if sc.UsageNoDecay {
		half = 0
	}
	for k, u := range usage {
		usage[k] = Decay(u, dt, half)
	}
	for k, rt := range rate {
		usage[k] += rt * float64(dt)
	}
}
