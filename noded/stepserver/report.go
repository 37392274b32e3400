package stepserver

import (
	"errors"
	"net/http"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/api/client"
)

// Backoff bounds of a report's retries.
const (
	minBackoff = 200 * time.Millisecond
	maxBackoff = 10 * time.Second
)

// report sends the node's report of a step to the controller in the
// background, retrying until it is taken, refused for good (a 4xx answer
// other than 408, 409 and 429), or the server's context is done.
func (s *Server) report(rep api.StepReport) {
	log := s.log.With("job", rep.JobID, "step", rep.StepID)
	s.wg.Go(func() {
		for backoff := time.Duration(0); ; backoff = min(max(2*backoff, minBackoff), maxBackoff) {
			if backoff > 0 {
				select {
				case <-s.ctx.Done():
					log.Warn("step report not sent: the daemon is stopping", "report", rep)
					return
				case <-time.After(backoff):
				}
			}
			err := s.cfg.Controller.ReportStep(s.ctx, s.cfg.Node, rep)
			if err == nil {
				log.Debug("step reported", "exit_code", rep.ExitCode, "signal", rep.Signal)
				return
			}
			if permanent(err) {
				log.Error("the controller refused the step report", "err", err)
				return
			}
			log.Warn("cannot report step; retrying", "err", err, "in", max(2*backoff, minBackoff))
		}
	})
}

// permanent reports whether a controller's answer will not change on a
// retry.
func permanent(err error) bool {
	var e *client.Error
	if !errors.As(err, &e) || e.Status < 400 || e.Status >= 500 {
		return false
	}
	switch e.Status {
	case http.StatusRequestTimeout, http.StatusConflict, http.StatusTooManyRequests:
		return false
	}
	return true
}
