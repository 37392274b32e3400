package sim

import (
	"fmt"
	"io"
	"os"
	"strings"
)

// Progress is a one-line progress bar for long replays. It draws only when
// its writer is a terminal, so logs and pipes stay clean.
type Progress struct {
	w     io.Writer
	label string
	on    bool
	last  int
}

// NewProgress returns a progress bar writing to w (drawn only if w is a
// terminal).
func NewProgress(w io.Writer, label string) *Progress {
	return &Progress{w: w, label: label, on: IsTerminal(w), last: -1}
}

// IsTerminal reports whether w is a character device (a terminal).
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// Render returns the bar for done of total jobs, width cells wide.
func Render(label string, done, total, width int) string {
	frac := 0.0
	if total > 0 {
		frac = float64(done) / float64(total)
	}
	fill := int(frac * float64(width))
	return fmt.Sprintf("%s [%s%s] %3.0f%% %d/%d jobs", label, strings.Repeat("=", fill), strings.Repeat(" ", width-fill), frac*100, done, total)
}

// Update redraws the bar (at most once per percent).
func (p *Progress) Update(done, total int) {
	if !p.on || total == 0 {
		return
	}
	pct := done * 100 / total
	if pct == p.last {
		return
	}
	p.last = pct
	fmt.Fprintf(p.w, "\r%s", Render(p.label, done, total, 30))
}

// Done ends the bar's line.
func (p *Progress) Done() {
	if p.on && p.last >= 0 {
		fmt.Fprintln(p.w)
	}
}
