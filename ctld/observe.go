package ctld

import (
	"context"
	"net/http"
	"time"

	"github.com/fairway-hpc/fairway/api"
	"github.com/fairway-hpc/fairway/ctld/alerts"
	"github.com/fairway-hpc/fairway/ctld/dashboard"
	"github.com/fairway-hpc/fairway/ctld/history"
	"github.com/fairway-hpc/fairway/raftstore"
)

// explainPending is how many pending jobs of a queue page the dashboard
// explains (one GET /v1/jobs/{id}/explain each); the job page explains its
// own job.
const explainPending = 20

// observer holds what the dashboard reads besides the /v1 state: the
// history this controller samples from its replicated state, and the
// alerts it evaluates on the same ticker.
type observer struct {
	history *history.History
	alerts  *alerts.Tracker
}

func newObserver(cfg Config) *observer {
	return &observer{history: history.New(), alerts: alerts.NewTracker(cfg.Alerts)}
}

// runSampler measures the state into the history and evaluates the alerts
// every HistoryInterval until ctx is done. Every controller runs it on its
// own replica, so any controller serves the history.
func (c *Controller) runSampler(ctx context.Context) {
	s := &history.Sampler{
		History:  c.observe.history,
		Interval: c.cfg.HistoryInterval,
		Clock:    c.cfg.Clock,
		Measure: func(now time.Time) (api.HistoryPoint, bool) {
			if c.store.ReadyReason() != "" {
				return api.HistoryPoint{}, false
			}
			st := c.store.State()
			return measure(st, now), true
		},
		After: func(now time.Time) {
			if c.store.ReadyReason() == "" {
				c.observe.alerts.Update(alertInput(c.store.State(), now))
			}
		},
	}
	s.Run(ctx)
}

func measure(st *raftstore.State, now time.Time) api.HistoryPoint {
	cfg := st.Config()
	return history.Measure(&cfg, st.Nodes(), st.ActiveJobsShared(), now.Unix())
}

func alertInput(st *raftstore.State, now time.Time) alerts.Input {
	cfg := st.Config()
	return alerts.Input{Config: &cfg, Nodes: st.Nodes(), Jobs: st.ActiveJobsShared(), Now: now}
}

// History returns the figures now and the recent history this controller
// kept. Every authenticated caller may read it: it holds what the job and
// node lists show, summed.
func (s *Service) History(ctx context.Context, caller Identity, q Query) (api.HistoryResponse, error) {
	st, err := s.read(ctx, q, raftstore.TopicAll)
	if err != nil {
		return api.HistoryResponse{}, err
	}
	return api.HistoryResponse{
		Index:      st.Index(),
		Now:        measure(st, s.now()),
		Series:     s.observe.history.Series(),
		Controller: s.id,
	}, nil
}

// Alerts evaluates the alert rules on the state now; since when each
// condition holds is this controller's memory of it.
func (s *Service) Alerts(ctx context.Context, caller Identity, q Query) (api.AlertsResponse, error) {
	st, err := s.read(ctx, q, raftstore.TopicAll)
	if err != nil {
		return api.AlertsResponse{}, err
	}
	now := s.now()
	return api.AlertsResponse{Index: st.Index(), Now: now.Unix(), Alerts: s.observe.alerts.Update(alertInput(st, now))}, nil
}

func (c *Controller) handleHistory(w http.ResponseWriter, r *http.Request) {
	q, err := query(r)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	resp, err := c.svc.History(r.Context(), callerOf(r), q)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeRead(w, resp.Index, resp)
}

func (c *Controller) handleAlerts(w http.ResponseWriter, r *http.Request) {
	q, err := query(r)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	resp, err := c.svc.Alerts(r.Context(), callerOf(r), q)
	if err != nil {
		c.writeErr(w, r, err)
		return
	}
	writeRead(w, resp.Index, resp)
}

func (c *Controller) handleDashboardInfo(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, api.DashboardInfo{
		Controller:          c.cfg.ID,
		PrometheusURL:       c.cfg.PrometheusURL,
		GrafanaURL:          c.cfg.GrafanaURL,
		HistoryIntervalSecs: int64(c.cfg.HistoryInterval / time.Second),
		ExplainPending:      explainPending,
	})
}

// dashboardRoutes adds the dashboard's reads and its static pages (served
// without authentication: they hold no data and sign in with a token).
func (c *Controller) dashboardRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /v1/history", c.authn(c.handleHistory))
	mux.HandleFunc("GET /v1/alerts", c.authn(c.handleAlerts))
	mux.HandleFunc("GET /v1/dashboard", c.authn(c.handleDashboardInfo))
	mux.Handle("GET /ui/", http.StripPrefix("/ui", dashboard.Handler()))
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ui/", http.StatusFound)
	})
}
