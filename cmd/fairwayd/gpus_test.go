package main

import (
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestMarkUnhealthy: --gpus-unhealthy INDEX:REASON withdraws a declared fake
// GPU with its reason; a bad entry is an error naming the flag.
func TestMarkUnhealthy(t *testing.T) {
	for _, tc := range []struct {
		specs   []string
		want    []bool
		reason1 string
		err     string
	}{
		{specs: nil, want: []bool{true, true}},
		{specs: []string{"1:XID 79 (GPU has fallen off the bus)"}, want: []bool{true, false}, reason1: "XID 79 (GPU has fallen off the bus)"},
		{specs: []string{"2:ECC"}, err: `invalid --gpus-unhealthy "2:ECC": --gpus declares 2 fake GPUs, no GPU 2`},
		{specs: []string{"1"}, err: `invalid --gpus-unhealthy "1": want INDEX:REASON, as in 1:XID 79`},
		{specs: []string{"x:ECC"}, err: `invalid --gpus-unhealthy "x:ECC": want INDEX:REASON, as in 1:XID 79`},
	} {
		gpus, err := fakeGPUs("2:h100", "n1")
		if err != nil {
			t.Fatal(err)
		}
		err = markUnhealthy(gpus, tc.specs)
		if tc.err != "" {
			if err == nil || err.Error() != tc.err {
				t.Errorf("%q: error %v, want %s", tc.specs, err, tc.err)
			}
			continue
		}
		if err != nil {
			t.Fatalf("%q: %v", tc.specs, err)
		}
		got := []bool{gpus[0].Healthy, gpus[1].Healthy}
		if diff := cmp.Diff(tc.want, got); diff != "" || gpus[1].HealthReason != tc.reason1 {
			t.Errorf("%q: healthy (-want +got):\n%s reason %q", tc.specs, diff, gpus[1].HealthReason)
		}
	}
}
