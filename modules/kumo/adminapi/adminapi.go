// Package adminapi is `kumopolicy serve`'s admin HTTP API, free of Lua:
// kumod's admin routes that a policy host can answer (suspensions and
// bounces on the admin registry, bump-config-epoch, check-liveness,
// /metrics, POST /api/log-record/v1) and its own resolve-egress-path.
//
// The route table, trusted_hosts, the order of answers, compression and
// the JSON body rules are the TSA daemon's (modules/tsa/httpapi): 401
// "… not permitted <METHOD> on http_listener/<addr>/<path>" to untrusted
// peers (check-liveness is open to anyone), 415 without a JSON
// Content-Type, 413 over the body limit (2 MiB by default), 400 on a JSON
// syntax error, 422 on a body of the wrong shape.
package adminapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kumopolicy/kumopolicy/modules/kumo/admin"
	"github.com/kumopolicy/kumopolicy/modules/kumo/loghook"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
	"github.com/kumopolicy/kumopolicy/modules/tsa/httpapi"
)

// Route paths.
const (
	ResolvePath      = "/api/admin/resolve-egress-path/v1"
	SuspendReadyPath = "/api/admin/suspend-ready-q/v1"
	SuspendPath      = "/api/admin/suspend/v1"
	BouncePath       = "/api/admin/bounce/v1"
	BumpEpochPath    = "/api/admin/bump-config-epoch"
	LivenessPath     = "/api/check-liveness/v1"
	MetricsPath      = "/metrics"
	LogRecordPath    = "/api/log-record/v1"
)

// NoLogHookText answers POST /api/log-record/v1 when no sink is
// configured.
const NoLogHookText = "no log hook is configured"

// LogRecordSink takes the KumoMTA JSON log records posted to
// /api/log-record/v1: body is one record object or an array of them, as
// posted (decompressed, checked to be JSON). An error is answered 422
// when it wraps ErrBadRecord, else 503.
type LogRecordSink interface {
	SubmitLogRecords(ctx context.Context, body []byte) error
}

// ErrBadRecord marks a LogRecordSink error about the records themselves.
var ErrBadRecord = errors.New("bad log record")

// Resolution is what Resolve returns for resolve-egress-path: the
// effective egress path config and, with explain, the resolution with its
// attribution (plain data, e.g. kumopolicy.Resolution.Data()).
type Resolution struct {
	Config any
	Data   any
}

// Config configures an API.
type Config struct {
	// Registry is the admin registry (kumo.Services.Admin). Required.
	Registry *admin.Registry
	// BumpEpoch bumps the config epoch. Required.
	BumpEpoch func()
	// Epoch reports the config epoch for /metrics. Nil: not reported.
	Epoch func() uint64
	// Resolve answers resolve-egress-path (site "": computed from the
	// domain's MX hosts). Nil: the route answers 503.
	Resolve func(ctx context.Context, domain, source, site string, explain bool) (*Resolution, error)
	// LogRecords receives POST /api/log-record/v1. Nil: 503 NoLogHookText.
	LogRecords LogRecordSink
	// Live reports liveness: nil for live, else the reason for a 503
	// (for example "shutting down"). Nil: always live.
	Live func() error
	// LogHookStats reports the log-hook pipeline's counters for /metrics
	// (see loghook_metrics.go for the metric names). Nil: not reported.
	LogHookStats func() loghook.Stats
}

// API builds the admin route table for each listener.
type API struct {
	cfg      Config
	registry *prometheus.Registry
	requests *prometheus.CounterVec
}

// New checks cfg and returns an API.
func New(cfg Config) (*API, error) {
	if cfg.Registry == nil || cfg.BumpEpoch == nil {
		return nil, errors.New("adminapi: Registry and BumpEpoch are required")
	}
	a := &API{cfg: cfg, registry: prometheus.NewRegistry()}
	a.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "kumopolicy_admin_requests_total", Help: "admin API requests answered, by route and status code",
	}, []string{"route", "code"})
	gauge := func(name, help string, fn func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn)
	}
	a.registry.MustRegister(a.requests,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		gauge("kumopolicy_admin_ready_q_suspensions", "active ready-queue suspensions", func() float64 {
			es, _ := cfg.Registry.ReadyQSuspensions()
			return float64(len(es))
		}),
		gauge("kumopolicy_admin_suspensions", "active scheduled-queue suspensions", func() float64 {
			es, _ := cfg.Registry.Suspensions()
			return float64(len(es))
		}),
		gauge("kumopolicy_admin_bounces", "active admin bounces", func() float64 {
			es, _ := cfg.Registry.Bounces()
			return float64(len(es))
		}),
	)
	if cfg.LogHookStats != nil {
		a.registry.MustRegister(logHookCollector{cfg.LogHookStats})
	}
	if cfg.Epoch != nil {
		a.registry.MustRegister(gauge("kumopolicy_config_epoch", "the config epoch", func() float64 { return float64(cfg.Epoch()) }))
	}
	return a, nil
}

// Handler returns the route table for one listener (hc: its address,
// trusted hosts and body limit, as httpapi.Listen gives them).
func (a *API) Handler(hc httpapi.Config) (http.Handler, error) {
	s, err := httpapi.NewRouter(hc)
	if err != nil {
		return nil, err
	}
	limit := s.RequestBodyLimit()
	routes := []struct {
		method, path string
		access       httpapi.Access
		h            http.HandlerFunc
	}{
		{http.MethodGet, ResolvePath, httpapi.TrustedOnly, a.resolve},
		{http.MethodGet, SuspendReadyPath, httpapi.TrustedOnly, a.list(func() any { return a.cfg.Registry.ListReadyQ() })},
		{http.MethodPost, SuspendReadyPath, httpapi.TrustedOnly, a.create(limit, func(v any) (any, error) {
			req, err := admin.DecodeReadyQRequest(v)
			if err != nil {
				return nil, err
			}
			return map[string]string{"id": a.cfg.Registry.SuspendReadyQ(req)}, nil
		})},
		{http.MethodDelete, SuspendReadyPath, httpapi.TrustedOnly, a.delete(limit, admin.ReadyQ)},
		{http.MethodGet, SuspendPath, httpapi.TrustedOnly, a.list(func() any { return a.cfg.Registry.ListSuspend() })},
		{http.MethodPost, SuspendPath, httpapi.TrustedOnly, a.create(limit, func(v any) (any, error) {
			req, err := admin.DecodeSuspendRequest(v)
			if err != nil {
				return nil, err
			}
			return map[string]string{"id": a.cfg.Registry.Suspend(req)}, nil
		})},
		{http.MethodDelete, SuspendPath, httpapi.TrustedOnly, a.delete(limit, admin.Suspend)},
		{http.MethodGet, BouncePath, httpapi.TrustedOnly, a.list(func() any { return a.cfg.Registry.ListBounce() })},
		{http.MethodPost, BouncePath, httpapi.TrustedOnly, a.create(limit, func(v any) (any, error) {
			req, err := admin.DecodeBounceRequest(v)
			if err != nil {
				return nil, err
			}
			return map[string]any{"id": a.cfg.Registry.Bounce(req), "bounced": map[string]int{}, "total_bounced": 0}, nil
		})},
		{http.MethodDelete, BouncePath, httpapi.TrustedOnly, a.delete(limit, admin.Bounce)},
		{http.MethodPost, BumpEpochPath, httpapi.TrustedOnly, a.bump},
		{http.MethodGet, LivenessPath, httpapi.Anyone, a.liveness},
		{http.MethodGet, MetricsPath, httpapi.TrustedOnly, promhttp.HandlerFor(a.registry, promhttp.HandlerOpts{}).ServeHTTP},
		{http.MethodPost, LogRecordPath, httpapi.TrustedOnly, a.logRecord(limit)},
	}
	for _, rt := range routes {
		if err := s.Handle(rt.method, rt.path, rt.access, a.count(rt.path, rt.h)); err != nil {
			return nil, err
		}
	}
	return s, nil
}

type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(p []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(p)
}

func (a *API) count(route string, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		sr := &statusRecorder{ResponseWriter: w}
		h(sr, r)
		if sr.code == 0 {
			sr.code = http.StatusOK
		}
		a.requests.WithLabelValues(route, fmt.Sprint(sr.code)).Inc()
	}
}

func writeJSON(w http.ResponseWriter, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		httpapi.WriteText(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(data)
}

func (a *API) list(fn func() any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { writeJSON(w, fn()) }
}

func (a *API) create(limit int64, fn func(any) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, _, ok := httpapi.ReadJSON(w, r, limit)
		if !ok {
			return
		}
		out, err := fn(v)
		if err != nil {
			httpapi.WriteText(w, http.StatusUnprocessableEntity, httpapi.DecodePrefix+err.Error())
			return
		}
		writeJSON(w, out)
	}
}

func (a *API) delete(limit int64, kind admin.Kind) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		v, _, ok := httpapi.ReadJSON(w, r, limit)
		if !ok {
			return
		}
		id, err := admin.DecodeID(v)
		if err != nil {
			httpapi.WriteText(w, http.StatusUnprocessableEntity, httpapi.DecodePrefix+err.Error())
			return
		}
		if !a.cfg.Registry.Delete(kind, id) {
			httpapi.WriteText(w, http.StatusNotFound, fmt.Sprintf("%s entry %s not found", kind, id))
			return
		}
		httpapi.WriteText(w, http.StatusOK, "removed "+id)
	}
}

func (a *API) bump(w http.ResponseWriter, r *http.Request) {
	io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	a.cfg.BumpEpoch()
	w.WriteHeader(http.StatusOK)
}

func (a *API) liveness(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Live != nil {
		if err := a.cfg.Live(); err != nil {
			httpapi.WriteText(w, http.StatusServiceUnavailable, err.Error())
			return
		}
	}
	httpapi.WriteText(w, http.StatusOK, "OK")
}

func (a *API) resolve(w http.ResponseWriter, r *http.Request) {
	if a.cfg.Resolve == nil {
		httpapi.WriteText(w, http.StatusServiceUnavailable, "resolve-egress-path is not available on this listener")
		return
	}
	q := r.URL.Query()
	domain := q.Get("domain")
	if domain == "" {
		httpapi.WriteText(w, http.StatusBadRequest, "missing query parameter `domain`")
		return
	}
	source := q.Get("source")
	if source == "" {
		source = "unspecified"
	}
	explain := false
	switch q.Get("explain") {
	case "", "false":
	case "true":
		explain = true
	default:
		httpapi.WriteText(w, http.StatusBadRequest, fmt.Sprintf("invalid query parameter `explain` %q: want true or false", q.Get("explain")))
		return
	}
	res, err := a.cfg.Resolve(r.Context(), domain, source, q.Get("site"), explain)
	if err != nil {
		httpapi.WriteText(w, http.StatusInternalServerError, err.Error())
		return
	}
	out := res.Config
	if explain {
		out = res.Data
	}
	data, err := plain.AppendJSON(nil, out, plain.JSONOptions{})
	if err != nil {
		httpapi.WriteText(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	w.Write(data)
}

func (a *API) logRecord(limit int64) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if a.cfg.LogRecords == nil {
			httpapi.WriteText(w, http.StatusServiceUnavailable, NoLogHookText)
			return
		}
		v, body, ok := httpapi.ReadJSON(w, r, limit)
		if !ok {
			return
		}
		if err := checkRecords(v); err != nil {
			httpapi.WriteText(w, http.StatusUnprocessableEntity, httpapi.DecodePrefix+err.Error())
			return
		}
		if err := a.cfg.LogRecords.SubmitLogRecords(r.Context(), body); err != nil {
			code := http.StatusServiceUnavailable
			if errors.Is(err, ErrBadRecord) {
				code = http.StatusUnprocessableEntity
			}
			httpapi.WriteText(w, code, err.Error())
			return
		}
		w.WriteHeader(http.StatusOK)
	}
}

// checkRecords accepts one object or an array of objects.
func checkRecords(v any) error {
	switch x := v.(type) {
	case map[string]any:
		return nil
	case []any:
		for i, e := range x {
			if _, ok := e.(map[string]any); !ok {
				return plain.AtIndex(plain.InvalidType(e, "a log record object"), i+1)
			}
		}
		return nil
	}
	return plain.InvalidType(v, "a log record object or an array of them")
}
