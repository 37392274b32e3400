package sim

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/fairway-hpc/fairway/sched/sim/chart"
)

// Chart file names.
const (
	UtilizationChart = "utilization.png"
	AccountsChart    = "accounts.png"
	WaitsChart       = "waits.png"
	AccountWaitChart = "account-waits.png"
)

// maxAccountPanels bounds the accounts drawn one panel each.
const maxAccountPanels = 16

// RunCharts draws one run's charts into dir: utilization over time, the
// wait distribution and, with at most 16 accounts, each account's usage
// against its guarantee.
func RunCharts(dir string, res *Result, s Summary) error {
	ts := timeSeriesOf(res)
	return drawCharts(dir, []string{res.Policy}, []timeSeries{ts}, [][]float64{waitsOf(res)}, []Summary{s})
}

// CompareCharts draws the charts of several runs (read back from their
// directories) side by side into dir.
func CompareCharts(dir string, runDirs []string) error {
	var names []string
	var series []timeSeries
	var waits [][]float64
	var sums []Summary
	for _, d := range runDirs {
		s, err := ReadSummary(d)
		if err != nil {
			return err
		}
		ts, err := readTimeSeries(filepath.Join(d, TimeSeriesFile))
		if err != nil {
			return err
		}
		ws, err := readWaits(filepath.Join(d, JobsFile))
		if err != nil {
			return err
		}
		names = append(names, filepath.Base(filepath.Clean(d)))
		series, waits, sums = append(series, ts), append(waits, ws), append(sums, s)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("charts dir: %w", err)
	}
	return drawCharts(dir, names, series, waits, sums)
}

// timeSeries is a run's time series by column.
type timeSeries struct {
	t        []int64
	cpus     []float64
	gpus     []float64
	accounts []string
	byAcct   [][]float64
}

func timeSeriesOf(res *Result) timeSeries {
	ts := timeSeries{accounts: res.Accounts, byAcct: make([][]float64, len(res.Accounts))}
	for _, s := range res.Samples {
		ts.t = append(ts.t, s.Time)
		ts.cpus = append(ts.cpus, float64(s.CPUs))
		ts.gpus = append(ts.gpus, float64(s.GPUs))
		for i, v := range s.ByAccount {
			ts.byAcct[i] = append(ts.byAcct[i], float64(v))
		}
	}
	return ts
}

func waitsOf(res *Result) []float64 {
	out := make([]float64, len(res.Jobs))
	for i := range res.Jobs {
		out[i] = float64(res.Jobs[i].Wait())
	}
	return out
}

func drawCharts(dir string, names []string, series []timeSeries, waits [][]float64, sums []Summary) error {
	resource := strings.ToUpper(sums[0].Resource)
	title := sums[0].Trace
	var util []chart.Series
	for i, ts := range series {
		col := ts.cpus
		if sums[i].Resource == "gpu" {
			col = ts.gpus
		}
		y := make([]float64, len(col))
		for k, v := range col {
			y[k] = v / float64(max(sums[i].Capacity, 1))
		}
		util = append(util, chart.Series{Name: fmt.Sprintf("%s (%.0f%%)", names[i], 100*sums[i].Utilization), T: ts.t, Y: y})
	}
	if err := writeFile(filepath.Join(dir, UtilizationChart), func(w io.Writer) error {
		return chart.Utilization(w, title+": "+resource+" utilization over time", resource, util)
	}); err != nil {
		return err
	}
	if err := writeFile(filepath.Join(dir, WaitsChart), func(w io.Writer) error {
		return chart.Waits(w, title+": wait time distribution", names, waits)
	}); err != nil {
		return err
	}
	acctNames := series[0].accounts
	if len(acctNames) < 2 || len(acctNames) > maxAccountPanels {
		return nil
	}
	unit := resource + "s"
	var runs [][]chart.Account
	for i, ts := range series {
		var accts []chart.Account
		for k, a := range ts.accounts {
			g := 0.0
			for _, as := range sums[i].Accounts {
				if as.Name == a {
					g = as.Share * float64(sums[i].Capacity)
				}
			}
			accts = append(accts, chart.Account{Name: a, Usage: chart.Series{Name: a, T: ts.t, Y: ts.byAcct[k]}, Guarantee: g})
		}
		if len(accts) != len(acctNames) {
			return fmt.Errorf("charts: run %s has other accounts than %s", names[i], names[0])
		}
		runs = append(runs, accts)
	}
	if err := writeFile(filepath.Join(dir, AccountsChart), func(w io.Writer) error {
		return chart.Accounts(w, title+": usage per account", unit, names, runs)
	}); err != nil {
		return err
	}
	var means [][]float64
	for _, s := range sums {
		var m []float64
		for _, a := range acctNames {
			v := 0.0
			for _, as := range s.Accounts {
				if as.Name == a {
					v = as.Wait.Mean / 60
				}
			}
			m = append(m, v)
		}
		means = append(means, m)
	}
	return writeFile(filepath.Join(dir, AccountWaitChart), func(w io.Writer) error {
		return chart.Bars(w, title+": mean wait per account", "mean wait (minutes)", acctNames, names, means)
	})
}

// readTimeSeries reads timeseries.csv back.
func readTimeSeries(path string) (timeSeries, error) {
	var ts timeSeries
	rows, head, err := readCSVFile(path)
	if err != nil {
		return ts, err
	}
	for _, h := range head[4:] {
		ts.accounts = append(ts.accounts, strings.TrimPrefix(h, "acct:"))
	}
	ts.byAcct = make([][]float64, len(ts.accounts))
	for _, r := range rows {
		if len(r) != len(head) {
			return ts, fmt.Errorf("%s: row with %d columns, want %d", path, len(r), len(head))
		}
		t, _ := strconv.ParseInt(r[0], 10, 64)
		c, _ := strconv.ParseFloat(r[1], 64)
		g, _ := strconv.ParseFloat(r[2], 64)
		ts.t, ts.cpus, ts.gpus = append(ts.t, t), append(ts.cpus, c), append(ts.gpus, g)
		for k := range ts.accounts {
			v, _ := strconv.ParseFloat(r[4+k], 64)
			ts.byAcct[k] = append(ts.byAcct[k], v)
		}
	}
	return ts, nil
}

// readWaits reads the waiting_time column of jobs.csv.
func readWaits(path string) ([]float64, error) {
	rows, head, err := readCSVFile(path)
	if err != nil {
		return nil, err
	}
	col := -1
	for i, h := range head {
		if h == "waiting_time" {
			col = i
		}
	}
	if col < 0 {
		return nil, fmt.Errorf("%s: no waiting_time column", path)
	}
	out := make([]float64, 0, len(rows))
	for _, r := range rows {
		v, err := strconv.ParseFloat(r[col], 64)
		if err != nil {
			return nil, fmt.Errorf("%s: waiting_time %q: %w", path, r[col], err)
		}
		out = append(out, v)
	}
	return out, nil
}

func readCSVFile(path string) (rows [][]string, head []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	cr := csv.NewReader(f)
	head, err = cr.Read()
	if err != nil {
		return nil, nil, fmt.Errorf("read %s: %w", path, err)
	}
	for {
		r, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("read %s: %w", path, err)
		}
		rows = append(rows, r)
	}
	return rows, head, nil
}
