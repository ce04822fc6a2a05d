package daemon

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"github.com/kumopolicy/kumopolicy/modules/tsa/automation"
	"github.com/kumopolicy/kumopolicy/modules/tsa/httpapi"
)

// Paths of the routes this package adds to the httpapi route table.
const (
	ShapingPath         = "/get_config_v1/shaping.toml"
	SuspendedPath       = "/get_suspension_v1/suspended.json"
	BouncedPath         = "/get_bounce_v1/bounced.json"
	SubscribeEventPath  = "/subscribe_event_v1"
	SubscribeLegacyPath = "/subscribe_suspension_v1"
)

// wsWriteTimeout bounds one websocket frame write: a peer that stops
// reading is dropped instead of holding its handler forever.
const wsWriteTimeout = 30 * time.Second

// addRoutes adds the engine's outputs, the subscriber websockets and the
// admin routes.
func (d *Daemon) addRoutes(api *httpapi.Server) error {
	get := func(path string, h http.HandlerFunc) error {
		return api.Handle(http.MethodGet, path, httpapi.TrustedOnly, d.afterRestore(h))
	}
	for _, r := range []struct {
		path string
		h    http.HandlerFunc
	}{
		{ShapingPath, func(w http.ResponseWriter, r *http.Request) {
			write(w, "text/plain; charset=utf-8", d.engine.ShapingTOML(d.now()))
		}},
		{SuspendedPath, func(w http.ResponseWriter, r *http.Request) {
			write(w, "application/json", string(d.engine.SuspendedJSON(d.now())))
		}},
		{BouncedPath, func(w http.ResponseWriter, r *http.Request) {
			write(w, "application/json", string(d.engine.BouncedJSON(d.now())))
		}},
		{SubscribeEventPath, d.subscribe(false)},
		{SubscribeLegacyPath, d.subscribe(true)},
	} {
		if err := get(r.path, r.h); err != nil {
			return err
		}
	}
	return d.addAdminRoutes(api)
}

// afterRestore makes h wait for the state restore: listeners start in
// tsa_init, before it, and a state read in between would show (and a
// subscriber snapshot would miss) what the restore brings back.
func (d *Daemon) afterRestore(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-d.restored:
			h(w, r)
		case <-r.Context().Done():
		}
	}
}

func write(w http.ResponseWriter, contentType, body string) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(http.StatusOK)
	io.WriteString(w, body)
}

func writeText(w http.ResponseWriter, code int, body string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	io.WriteString(w, body)
}

// headerHasToken reports whether a comma-separated header holds token,
// case-insensitively.
func headerHasToken(r *http.Request, name, token string) bool {
	for _, v := range r.Header.Values(name) {
		for _, t := range strings.Split(v, ",") {
			if strings.EqualFold(strings.TrimSpace(t), token) {
				return true
			}
		}
	}
	return false
}

// wsRejection is the answer KumoMTA gives a request to a websocket path
// that is not a websocket upgrade, in its order of checks; "" when the
// request may be upgraded.
func wsRejection(r *http.Request) string {
	switch {
	case !headerHasToken(r, "Connection", "upgrade"):
		return "Connection header did not include 'upgrade'"
	case !headerHasToken(r, "Upgrade", "websocket"):
		return "`Upgrade` header did not include 'websocket'"
	case r.Header.Get("Sec-WebSocket-Key") == "":
		return "`Sec-WebSocket-Key` header missing"
	case r.Header.Get("Sec-WebSocket-Version") != "13":
		return "`Sec-WebSocket-Version` header did not include '13'"
	}
	return ""
}

// subscribe serves /subscribe_event_v1 (legacy false) and
// /subscribe_suspension_v1: it subscribes before the upgrade, sends the
// snapshot, then every live event. A subscriber that falls
// SubscriberBuffer events behind, or whose writes fail, is dropped; it
// never slows ingest.
func (d *Daemon) subscribe(legacy bool) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if msg := wsRejection(r); msg != "" {
			writeText(w, http.StatusBadRequest, msg)
			return
		}
		start := time.Now()
		sub := d.hub.subscribe()
		if sub == nil {
			writeText(w, http.StatusServiceUnavailable, "shutting down")
			return
		}
		defer d.hub.unsubscribe(sub)
		snap := d.engine.Snapshot(d.now())
		c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
		if err != nil {
			return // Accept has answered
		}
		defer c.CloseNow()
		ctx := c.CloseRead(sub.ctx) // ends when the peer closes, or the subscriber is dropped
		send := func(ev automation.Event) error {
			frame := ev.JSON()
			if legacy {
				var ok bool
				if frame, ok = ev.LegacyJSON(); !ok {
					return nil
				}
			}
			wctx, cancel := context.WithTimeout(ctx, wsWriteTimeout)
			defer cancel()
			return c.Write(wctx, websocket.MessageText, frame)
		}
		// end logs why the subscription ends and closes the socket.
		end := func(err error) {
			switch {
			case sub.lagged():
				d.log.Info(fmt.Sprintf("error in websocket: subscriber lagged more than %d events behind; dropped", d.opts.SubscriberBuffer))
				c.Close(websocket.StatusPolicyViolation, "lagged")
			case sub.ctx.Err() != nil:
				c.Close(websocket.StatusGoingAway, "shutting down")
			case err != nil:
				d.log.Info(fmt.Sprintf("error in websocket: %v", err))
			}
		}
		for _, ev := range snap.Events() {
			if err := send(ev); err != nil {
				end(err)
				return
			}
		}
		d.log.Info(fmt.Sprintf("new sub, took %v (%d readyq suspensions, %d schedq suspensions, %d bounces). waiting for data to pass on",
			time.Since(start), len(snap.Ready), len(snap.Sched), len(snap.Bounces)))
		for {
			select {
			case <-ctx.Done():
				end(nil)
				return
			case ev := <-sub.ch:
				if err := send(ev); err != nil {
					end(err)
					return
				}
			}
		}
	}
}

// hub broadcasts events to subscribers without ever blocking the
// publisher: a subscriber whose buffer is full is dropped.
type hub struct {
	mu     sync.Mutex
	buf    int
	subs   map[*subscriber]struct{}
	closed bool
}

type subscriber struct {
	ch     chan automation.Event
	ctx    context.Context
	cancel context.CancelFunc
	mu     sync.Mutex
	lag    bool
}

func (s *subscriber) lagged() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.lag
}

func newHub(buf int) *hub { return &hub{buf: buf, subs: map[*subscriber]struct{}{}} }

// subscribe returns a new subscriber, or nil once the hub is closed.
func (h *hub) subscribe() *subscriber {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &subscriber{ch: make(chan automation.Event, h.buf), ctx: ctx, cancel: cancel}
	h.subs[s] = struct{}{}
	return s
}

func (h *hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
	s.cancel()
}

// publish hands events to every subscriber, in order; one that has no
// room is dropped.
func (h *hub) publish(events []automation.Event) {
	if len(events) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
	send:
		for _, ev := range events {
			select {
			case s.ch <- ev:
			default:
				s.mu.Lock()
				s.lag = true
				s.mu.Unlock()
				s.cancel()
				delete(h.subs, s)
				break send
			}
		}
	}
}

// close ends every subscription; later subscribe calls get nil.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		s.cancel()
		delete(h.subs, s)
	}
}

// subscribers counts the live subscriptions.
func (h *hub) subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}
