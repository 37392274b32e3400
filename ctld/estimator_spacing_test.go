package ctld

import (
	"testing"
	"time"
)

func TestNextEstimateIn(t *testing.T) {
	tests := []struct {
		name           string
		interval, took time.Duration
		want           time.Duration
	}{
		{name: "quick estimate waits the interval's rest", interval: time.Minute, took: time.Second, want: 59 * time.Second},
		{name: "a tenth of the interval", interval: time.Minute, took: 6 * time.Second, want: 54 * time.Second},
		{name: "long estimate spaces the next out", interval: time.Minute, took: 10 * time.Second, want: 90 * time.Second},
		{name: "short interval", interval: time.Second, took: 400 * time.Millisecond, want: 3600 * time.Millisecond},
		{name: "no estimate made", interval: time.Minute, took: 0, want: time.Minute},
	}
	for _, tc := range tests {
		if got := nextEstimateIn(tc.interval, tc.took); got != tc.want {
			t.Errorf("%s: nextEstimateIn(%v, %v) = %v, want %v", tc.name, tc.interval, tc.took, got, tc.want)
		}
	}
}
