package stepserver

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/fairway-hpc/fairway/api"
)

// frameWriter streams api.StepFrame objects, one JSON object per line,
// flushing each so that srun sees output as it comes. It is safe for
// concurrent use; after a write fails (srun went away) it drops frames.
type frameWriter struct {
	mu     sync.Mutex
	w      io.Writer
	enc    *json.Encoder
	flush  func()
	failed error
}

func newFrameWriter(w io.Writer) *frameWriter {
	fw := &frameWriter{w: w, enc: json.NewEncoder(w), flush: func() {}}
	if f, ok := w.(http.Flusher); ok {
		fw.flush = f.Flush
	}
	return fw
}

// send writes one frame; it returns the first write error, once and
// after.
func (fw *frameWriter) send(f api.StepFrame) error {
	fw.mu.Lock()
	defer fw.mu.Unlock()
	if fw.failed != nil {
		return fw.failed
	}
	if err := fw.enc.Encode(f); err != nil {
		fw.failed = fmt.Errorf("send step frame: %w", err)
		return fw.failed
	}
	fw.flush()
	return nil
}

// exitFrame is the frame of a task's exit: Exit is the status as a shell
// reports it (128+N for a task killed by signal N, with Signal N).
func exitFrame(rank, code, signal int) api.StepFrame {
	if signal > 0 {
		code = 128 + signal
	}
	return api.StepFrame{Task: rank, Exit: &code, Signal: signal}
}
