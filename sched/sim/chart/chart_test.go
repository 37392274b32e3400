package chart

import (
	"bytes"
	"image/png"
	"testing"
)

// TestChartsArePNG draws every chart and decodes it: a person opens these
// files, so each must be a readable image of a sensible size.
func TestChartsArePNG(t *testing.T) {
	s := Series{Name: "a", T: []int64{0, 3600, 7200}, Y: []float64{0.2, 0.9, 0.5}}
	draws := map[string]func(*bytes.Buffer) error{
		"utilization": func(b *bytes.Buffer) error { return Utilization(b, "t", "GPU", []Series{s, s}) },
		"accounts": func(b *bytes.Buffer) error {
			run := []Account{{Name: "x", Usage: s, Guarantee: 0.5}, {Name: "y", Usage: s}, {Name: "z", Usage: s, Guarantee: 1}}
			return Accounts(b, "t", "GPUs", []string{"p1", "p2"}, [][]Account{run, run})
		},
		"waits": func(b *bytes.Buffer) error {
			return Waits(b, "t", []string{"p1", "p2"}, [][]float64{{0, 5, 50, 500}, {1, 1, 2}})
		},
		"bars": func(b *bytes.Buffer) error {
			return Bars(b, "t", "min", []string{"x", "y"}, []string{"p1", "p2"}, [][]float64{{1, 2}, {3, 4}})
		},
	}
	for name, draw := range draws {
		var b bytes.Buffer
		if err := draw(&b); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		img, err := png.Decode(&b)
		if err != nil {
			t.Fatalf("%s: not a PNG: %v", name, err)
		}
		if r := img.Bounds(); r.Dx() < 500 || r.Dy() < 300 {
			t.Errorf("%s: %v is too small to read", name, r)
		}
	}
	if err := Accounts(&bytes.Buffer{}, "t", "GPUs", nil, nil); err == nil {
		t.Error("accounts chart of no accounts: no error")
	}
}
