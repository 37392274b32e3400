package report

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
)

// Lists is the lists mode's figures: for each state size, a controller
// started on a snapshot of that state, killed and restarted, and the
// client binary's list commands timed against it.
type Lists struct {
	Params  map[string]string `json:"params"`
	Machine string            `json:"machine"`
	Sizes   []ListSize        `json:"sizes"`
	Notes   []string          `json:"notes,omitempty"`
}

// ListSize is one state size's figures.
type ListSize struct {
	Jobs          int     `json:"jobs"`
	BuildSecs     float64 `json:"build_secs"`     // building the state in the harness (bigstate)
	WriteSecs     float64 `json:"write_secs"`     // writing it as a raft snapshot
	SnapshotBytes int64   `json:"snapshot_bytes"` // the snapshot's state.bin
	// FirstStartSecs is from starting the controller process on the
	// written snapshot (no log) until it leads.
	FirstStartSecs float64 `json:"first_start_secs"`
	// RestartReadableSecs is from starting the killed controller again
	// until it serves GET /v1/jobs/1; RestartLeaderSecs until it leads.
	RestartReadableSecs float64       `json:"restart_readable_secs"`
	RestartLeaderSecs   float64       `json:"restart_leader_secs"`
	RaftDBBytes         int64         `json:"raft_db_bytes"`  // at the restart
	RSSRestartMB        float64       `json:"rss_restart_mb"` // once it served reads again
	RSSEndMB            float64       `json:"rss_end_mb"`     // after the commands
	Commands            []ListCommand `json:"commands"`
	Err                 string        `json:"error,omitempty"`
}

// ListCommand is one client command run Runs times.
type ListCommand struct {
	Command string    `json:"command"`
	Lines   int       `json:"lines"`            // of the last run's output, header included
	Walls   []float64 `json:"wall_seconds"`     // of the runs that succeeded
	Failed  int       `json:"failed,omitempty"` // runs that failed
	Err     string    `json:"error,omitempty"`  // of the first failed run
}

// Median is the median of the command's wall times (0 with none).
func (c ListCommand) Median() float64 {
	s := slices.Clone(c.Walls)
	slices.Sort(s)
	return Percentile(s, 50)
}

// Min is the shortest wall time (0 with none).
func (c ListCommand) Min() float64 {
	if len(c.Walls) == 0 {
		return 0
	}
	return slices.Min(c.Walls)
}

// WriteJSON writes the figures as indented JSON.
func (l *Lists) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(l); err != nil {
		return fmt.Errorf("write lists report: %w", err)
	}
	return nil
}

// ratio is b/a as "12.3x", "-" when either is missing.
func ratio(a, b float64) string {
	if a <= 0 || b <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.1fx", b/a)
}

// ListsTable is the Markdown table's rows: a header, then one row per
// figure with a column per size and, with two sizes or more, the last
// size's value over the first's.
func ListsTable(l *Lists) [][]string {
	head := []string{"figure"}
	for _, s := range l.Sizes {
		head = append(head, fmt.Sprintf("%d jobs", s.Jobs))
	}
	withRatio := len(l.Sizes) >= 2
	if withRatio {
		head = append(head, fmt.Sprintf("%d / %d", l.Sizes[len(l.Sizes)-1].Jobs, l.Sizes[0].Jobs))
	}
	rows := [][]string{head}
	add := func(name string, val func(s ListSize) float64, format func(float64) string) {
		row := []string{name}
		for _, s := range l.Sizes {
			row = append(row, format(val(s)))
		}
		if withRatio {
			row = append(row, ratio(val(l.Sizes[0]), val(l.Sizes[len(l.Sizes)-1])))
		}
		rows = append(rows, row)
	}
	// Commands in the order the first size ran them.
	var cmds []string
	for _, s := range l.Sizes {
		for _, c := range s.Commands {
			if !slices.Contains(cmds, c.Command) {
				cmds = append(cmds, c.Command)
			}
		}
	}
	find := func(s ListSize, name string) (ListCommand, bool) {
		for _, c := range s.Commands {
			if c.Command == name {
				return c, true
			}
		}
		return ListCommand{}, false
	}
	for _, name := range cmds {
		row := []string{"`" + name + "` median (min; lines)"}
		for _, s := range l.Sizes {
			c, ok := find(s, name)
			switch {
			case !ok:
				row = append(row, "-")
			case len(c.Walls) == 0:
				row = append(row, "failed: "+c.Err)
			default:
				cell := fmt.Sprintf("%s (%s; %d)", secs3(c.Median()), secs3(c.Min()), c.Lines)
				if c.Failed > 0 {
					cell += fmt.Sprintf("; %d of %d runs failed: %s", c.Failed, c.Failed+len(c.Walls), c.Err)
				}
				row = append(row, cell)
			}
		}
		if withRatio {
			first, _ := find(l.Sizes[0], name)
			last, _ := find(l.Sizes[len(l.Sizes)-1], name)
			row = append(row, ratio(first.Median(), last.Median()))
		}
		rows = append(rows, row)
	}
	mb := func(b int64) float64 { return float64(b) / 1e6 }
	add("restart: until it serves `GET /v1/jobs/1`", func(s ListSize) float64 { return s.RestartReadableSecs }, secs3)
	add("restart: until it leads", func(s ListSize) float64 { return s.RestartLeaderSecs }, secs3)
	add("first start on the written snapshot: until it leads", func(s ListSize) float64 { return s.FirstStartSecs }, secs3)
	add("snapshot (state.bin)", func(s ListSize) float64 { return mb(s.SnapshotBytes) }, mbs)
	add("raft.db at the restart", func(s ListSize) float64 { return mb(s.RaftDBBytes) }, mbs)
	add("controller RSS after the restart", func(s ListSize) float64 { return s.RSSRestartMB }, mbs)
	add("controller RSS after the commands", func(s ListSize) float64 { return s.RSSEndMB }, mbs)
	add("harness: build the state / write the snapshot", func(s ListSize) float64 { return s.BuildSecs + s.WriteSecs }, secs)
	return rows
}

// secs3 formats seconds to the millisecond.
func secs3(v float64) string { return fmt.Sprintf("%.3f s", v) }

// mbs formats megabytes.
func mbs(v float64) string { return fmt.Sprintf("%.1f MB", v) }

// WriteMarkdown writes the parameters, the table and the notes.
func (l *Lists) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	b.WriteString("# squeue and restart with large states (fairway-scale -mode lists)\n\n")
	fmt.Fprintf(&b, "Machine: %s\n\n", l.Machine)
	keys := make([]string, 0, len(l.Params))
	for k := range l.Params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, "- %s: %s\n", k, l.Params[k])
	}
	b.WriteString("\n")
	for i, row := range ListsTable(l) {
		b.WriteString("| " + strings.Join(row, " | ") + " |\n")
		if i == 0 {
			b.WriteString("|" + strings.Repeat(" --- |", len(row)) + "\n")
		}
	}
	for _, s := range l.Sizes {
		if s.Err != "" {
			fmt.Fprintf(&b, "\n%d jobs: %s\n", s.Jobs, s.Err)
		}
	}
	if len(l.Notes) > 0 {
		b.WriteString("\nNotes:\n\n")
		for _, n := range l.Notes {
			b.WriteString("- " + n + "\n")
		}
	}
	if _, err := io.WriteString(w, b.String()); err != nil {
		return fmt.Errorf("write lists report: %w", err)
	}
	return nil
}
