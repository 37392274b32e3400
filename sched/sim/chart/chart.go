// Package chart draws the simulator's PNG charts with gonum.org/v1/plot:
// utilization over time, each account's usage against its guaranteed share
// over time, and the distribution of wait times per policy.
package chart

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/font"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// Series is one line: y over time (seconds).
type Series struct {
	Name string
	T    []int64
	Y    []float64
}

// palette is a set of distinguishable line colors (Okabe-Ito, then more).
var palette = []color.Color{
	color.RGBA{0, 114, 178, 255}, color.RGBA{213, 94, 0, 255}, color.RGBA{0, 158, 115, 255},
	color.RGBA{204, 121, 167, 255}, color.RGBA{230, 159, 0, 255}, color.RGBA{86, 180, 233, 255},
	color.RGBA{120, 120, 120, 255}, color.RGBA{0, 0, 0, 255}, color.RGBA{240, 228, 66, 255},
	color.RGBA{150, 75, 0, 255}, color.RGBA{128, 0, 128, 255},
}

// Color returns the i-th palette color.
func Color(i int) color.Color { return palette[i%len(palette)] }

func hours(t int64) float64 { return float64(t) / 3600 }

func line(s Series, i int, dashed bool) (*plotter.Line, error) {
	xys := make(plotter.XYs, len(s.T))
	for k := range s.T {
		xys[k] = plotter.XY{X: hours(s.T[k]), Y: s.Y[k]}
	}
	l, err := plotter.NewLine(xys)
	if err != nil {
		return nil, fmt.Errorf("line %s: %w", s.Name, err)
	}
	l.Color = Color(i)
	l.Width = vg.Points(1.2)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	return l, nil
}

// Utilization draws the fraction of capacity in use over time, one line
// per series (already divided by capacity), to w as PNG.
func Utilization(w io.Writer, title, resource string, series []Series) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "time (hours)"
	p.Y.Label.Text = resource + " utilization"
	p.Y.Min, p.Y.Max = 0, 1.05
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	for i, s := range series {
		l, err := line(s, i, false)
		if err != nil {
			return err
		}
		p.Add(l)
		p.Legend.Add(s.Name, l)
	}
	return save(w, p, 9*vg.Inch, 4.5*vg.Inch)
}

// Account is one account's usage over time and its guaranteed share.
type Account struct {
	Name string
	// Usage is what the account holds over time.
	Usage Series
	// Guarantee is the account's guaranteed amount (0: none).
	Guarantee float64
}

// Accounts draws one panel per account: what it holds over time (solid)
// against its guarantee (dashed), on a shared scale, like the production
// report's Figure 1. Several runs of the same accounts (one per policy)
// may be given; each run gets its own color.
func Accounts(w io.Writer, title, unit string, runs []string, accounts [][]Account) error {
	if len(accounts) == 0 || len(accounts[0]) == 0 {
		return fmt.Errorf("accounts chart: no accounts")
	}
	n := len(accounts[0])
	cols := int(math.Ceil(math.Sqrt(float64(n))))
	rows := (n + cols - 1) / cols
	ymax := 0.0
	for _, run := range accounts {
		for _, a := range run {
			ymax = max(ymax, a.Guarantee, slices.Max(append([]float64{0}, a.Usage.Y...)))
		}
	}
	plots := make([][]*plot.Plot, rows)
	for r := range plots {
		plots[r] = make([]*plot.Plot, cols)
	}
	for k := 0; k < rows*cols; k++ {
		p := plot.New()
		plots[k/cols][k%cols] = p
		if k >= n {
			p.HideAxes()
			continue
		}
		p.Title.Text = accounts[0][k].Name
		p.Y.Min, p.Y.Max = 0, ymax*1.05
		p.Add(plotter.NewGrid())
		if k%cols == 0 {
			p.Y.Label.Text = unit
		}
		if k/cols == rows-1 || k+cols >= n {
			p.X.Label.Text = "hours"
		}
		for ri, run := range accounts {
			a := run[k]
			l, err := line(a.Usage, ri, false)
			if err != nil {
				return err
			}
			p.Add(l)
			if k == 0 && len(runs) > 1 {
				p.Legend.Add(runs[ri], l)
			}
		}
		if g := accounts[0][k].Guarantee; g > 0 {
			ts := accounts[0][k].Usage.T
			if len(ts) > 0 {
				gl, err := line(Series{Name: "guarantee", T: []int64{ts[0], ts[len(ts)-1]}, Y: []float64{g, g}}, 7, true)
				if err != nil {
					return err
				}
				p.Add(gl)
				if k == 0 {
					p.Legend.Add("guarantee", gl)
				}
			}
		}
		p.Legend.Top = true
	}
	width, height := vg.Length(cols)*3.2*vg.Inch, vg.Length(rows)*2.4*vg.Inch+0.5*vg.Inch
	img := vgimg.New(width, height)
	dc := draw.New(img)
	titleH := 0.4 * vg.Inch
	top := draw.Crop(dc, 0, 0, 0, -titleH)
	dc.FillText(draw.TextStyle{Color: color.Black, Font: font.From(plot.DefaultFont, 14), Handler: plot.DefaultTextHandler,
		XAlign: draw.XCenter, YAlign: draw.YCenter}, vg.Point{X: width / 2, Y: height - titleH/2}, title+" ("+unit+" held, dashed: guarantee)")
	tiles := draw.Tiles{Rows: rows, Cols: cols, PadX: vg.Millimeter * 3, PadY: vg.Millimeter * 3, PadTop: vg.Millimeter * 2,
		PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 2}
	canvases := plot.Align(plots, tiles, top)
	for r := range plots {
		for c := range plots[r] {
			plots[r][c].Draw(canvases[r][c])
		}
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(w); err != nil {
		return fmt.Errorf("accounts chart: %w", err)
	}
	return nil
}

// Waits draws the empirical distribution (CDF) of wait times, one line per
// run, on a logarithmic time axis (waits of 0 are drawn at 1 s).
func Waits(w io.Writer, title string, names []string, waits [][]float64) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "wait (seconds, log scale; 0 drawn at 1)"
	p.Y.Label.Text = "fraction of jobs waiting at most this long"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min, p.Y.Max = 0, 1
	p.Legend.Top = true
	p.Legend.Left = true
	p.Add(plotter.NewGrid())
	for i, ws := range waits {
		xs := slices.Clone(ws)
		slices.Sort(xs)
		var xys plotter.XYs
		for k, v := range xs {
			x := max(v, 1)
			y := float64(k+1) / float64(len(xs))
			if k+1 < len(xs) && xs[k+1] == v {
				continue
			}
			xys = append(xys, plotter.XY{X: x, Y: y})
		}
		if len(xys) == 0 {
			continue
		}
		l, err := plotter.NewLine(xys)
		if err != nil {
			return fmt.Errorf("waits chart: %w", err)
		}
		l.Color = Color(i)
		l.Width = vg.Points(1.4)
		p.Add(l)
		p.Legend.Add(names[i], l)
	}
	return save(w, p, 8*vg.Inch, 5*vg.Inch)
}

// Bars draws one bar per name (for example mean wait per account), grouped
// by run.
func Bars(w io.Writer, title, ylabel string, groups []string, runs []string, values [][]float64) error {
	p := plot.New()
	p.Title.Text = title
	p.Y.Label.Text = ylabel
	p.Legend.Top = true
	p.Add(plotter.NewGrid())
	width := vg.Points(float64(min(60/max(len(runs), 1), 14)))
	for ri := range runs {
		vals := make(plotter.Values, len(groups))
		copy(vals, values[ri])
		b, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return fmt.Errorf("bars chart: %w", err)
		}
		b.Color = Color(ri)
		b.LineStyle.Width = 0
		b.Offset = vg.Length(float64(ri)-float64(len(runs)-1)/2) * width
		p.Add(b)
		p.Legend.Add(runs[ri], b)
	}
	p.NominalX(groups...)
	p.X.Tick.Label.Rotation = math.Pi / 5
	p.X.Tick.Label.XAlign = draw.XRight
	return save(w, p, 11*vg.Inch, 5*vg.Inch)
}

func save(w io.Writer, p *plot.Plot, width, height vg.Length) error {
	wt, err := p.WriterTo(width, height, "png")
	if err != nil {
		return fmt.Errorf("chart %q: %w", p.Title.Text, err)
	}
	if _, err := wt.WriteTo(w); err != nil {
		return fmt.Errorf("chart %q: %w", p.Title.Text, err)
	}
	return nil
}
