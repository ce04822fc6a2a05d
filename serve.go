package kumopolicy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/adminapi"
	"github.com/kumopolicy/kumopolicy/modules/kumo/kumod"
	"github.com/kumopolicy/kumopolicy/modules/kumo/loghook"
	"github.com/kumopolicy/kumopolicy/modules/tsa/httpapi"
)

// ServeEvents are the events Serve fires at startup, in order.
var ServeEvents = []string{"pre_init", "init"}

// ServeOptions configure Serve.
type ServeOptions struct {
	// LogRecords receives POST /api/log-record/v1. Nil: the host's
	// log-hook pipeline (Services().LogHooks) through LogRecordSink; the
	// route answers 503 "no log hook is configured" only when there is no
	// pipeline.
	LogRecords adminapi.LogRecordSink
	// OnListen, when set, is called with each admin listener's protocol
	// ("http" or "https") and bound address once it serves.
	OnListen func(proto, addr string)
	// ShutdownTimeout bounds the graceful stop of the listeners (0: 10s).
	ShutdownTimeout time.Duration
}

// Serve runs the host as a long-running service until ctx ends: it fires
// ServeEvents in one state (spawned tasks start and run until shutdown),
// then binds every kumo.start_http_listener the policy made (recorded in
// Services().Recorder) and serves the admin API (modules/kumo/adminapi)
// there, on the host's admin registry, config epoch and resolver. It logs
// "http listener on ADDR" (with the bound port) for each listener, or
// that no admin listener is configured, then "initialization complete".
// When ctx ends, check-liveness
// answers 503 "shutting down", the listeners stop, and the host is closed
// (spawned tasks cancelled, states closed). Serve returns nil after a
// clean stop; a startup error (a failing handler, a listener that cannot
// bind) is returned after the same cleanup.
func (h *Host) Serve(ctx context.Context, opts ServeOptions) error {
	if h.Validating() {
		return errors.New("kumopolicy: Serve needs a host built without Config.Validating")
	}
	var down atomic.Bool
	var listeners []*httpapi.Listener
	stop := func() error {
		down.Store(true)
		timeout := opts.ShutdownTimeout
		if timeout <= 0 {
			timeout = 10 * time.Second
		}
		sctx, cancel := context.WithTimeout(context.Background(), timeout)
		defer cancel()
		var errs []error
		for _, l := range listeners {
			errs = append(errs, l.Shutdown(sctx))
		}
		// No record can arrive any more: stop the queues (their sessions
		// end) before the states go.
		if pipe := h.services.LogHooks; pipe != nil {
			errs = append(errs, pipe.Close())
		}
		errs = append(errs, h.Close())
		return errors.Join(errs...)
	}
	err := h.Call(ctx, func(s *luart.State) error {
		for _, ev := range ServeEvents {
			if _, _, err := s.Fire(ctx, ev); err != nil {
				return fmt.Errorf("%s: %w", ev, err)
			}
		}
		return nil
	})
	if err != nil {
		return errors.Join(err, stop())
	}
	sink := opts.LogRecords
	var stats func() loghook.Stats
	if pipe := h.services.LogHooks; pipe != nil {
		if sink == nil {
			sink = LogRecordSink(pipe)
		}
		stats = pipe.Stats
	}
	api, err := adminapi.New(adminapi.Config{
		Registry:     h.services.Admin,
		BumpEpoch:    func() { h.BumpEpoch() },
		Epoch:        h.Epoch,
		LogRecords:   sink,
		LogHookStats: stats,
		Resolve:      h.resolveForAPI,
		Live: func() error {
			if down.Load() {
				return errors.New("shutting down")
			}
			return nil
		},
	})
	if err != nil {
		return errors.Join(err, stop())
	}
	log := h.Logger()
	for _, rec := range h.services.Recorder.Records() {
		hl, ok := rec.Config.(*kumod.HTTPListener)
		if !ok {
			continue
		}
		p, err := httpapi.ListenerParamsOf(hl)
		p.Paths = h.services.Paths
		if err == nil {
			var l *httpapi.Listener
			l, err = httpapi.Listen(p, func(c httpapi.Config) (http.Handler, error) { return api.Handler(c) },
				func(msg string) { log.Error(msg) })
			if err == nil {
				listeners = append(listeners, l)
				log.Info(fmt.Sprintf("%s listener on %s", l.Proto, l.Addr))
				if opts.OnListen != nil {
					opts.OnListen(l.Proto, l.Addr)
				}
			}
		}
		if err != nil {
			return errors.Join(fmt.Errorf("%s: kumo.start_http_listener: %w", rec.Caller, err), stop())
		}
	}
	if len(listeners) == 0 {
		log.Info("no admin listener is configured (the policy does not call kumo.start_http_listener); running spawned tasks only")
	}
	log.Info("initialization complete")
	<-ctx.Done()
	log.Info("shutting down")
	return stop()
}

// LogRecordSink adapts a log-hook pipeline to the admin API's POST
// /api/log-record/v1: records that do not decode are answered 422
// (adminapi.ErrBadRecord); a closed pipeline or an ended request is 503.
func LogRecordSink(p *loghook.Pipeline) adminapi.LogRecordSink { return pipelineSink{p} }

type pipelineSink struct{ p *loghook.Pipeline }

func (s pipelineSink) SubmitLogRecords(ctx context.Context, body []byte) error {
	err := s.p.SubmitJSON(ctx, body)
	if err == nil || errors.Is(err, loghook.ErrClosed) || ctx.Err() != nil {
		return err
	}
	return fmt.Errorf("%w: %w", adminapi.ErrBadRecord, err)
}

// resolveForAPI answers the admin API's resolve-egress-path: an empty
// site is computed from the domain's MX hosts, as kumod does.
func (h *Host) resolveForAPI(ctx context.Context, domain, source, site string, explain bool) (*adminapi.Resolution, error) {
	resolve := h.Resolve
	if explain {
		resolve = h.Explain
	}
	res, err := resolve(ctx, domain, source, site)
	if err != nil {
		return nil, err
	}
	return &adminapi.Resolution{Config: res.Serialized, Data: res.Data()}, nil
}
