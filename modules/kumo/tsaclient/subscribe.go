package tsaclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// The daemon's websocket routes.
const (
	SubscribeEventPath  = "/subscribe_event_v1"
	SubscribeLegacyPath = "/subscribe_suspension_v1"
)

// DefaultDialTimeout bounds a websocket handshake.
const DefaultDialTimeout = time.Minute

// maxFrame bounds one websocket message (tungstenite's default).
const maxFrame = 64 << 20

// ReadyQSuspension is a ready-queue suspension to apply
// (kumo.api.admin.suspend_ready_q.suspend{name, reason, expires}).
type ReadyQSuspension struct {
	Name     string // the ready queue: the daemon's site_name
	Reason   string // "<reason> (rule_hash=<rule_hash>)"
	Expires  time.Time
	RuleHash string // as the daemon sent it
}

// SchedQSuspension is a scheduled-queue suspension to apply
// (kumo.api.admin.suspend.suspend{campaign, tenant, domain, reason, expires}).
type SchedQSuspension struct {
	Tenant   *string
	Domain   string
	Campaign *string
	Reason   string // "<reason> (rule_hash=<rule_hash>)"
	Expires  time.Time
	RuleHash string
}

// SchedQBounce is an admin bounce to apply
// (kumo.api.admin.bounce.bounce{campaign, tenant, domain, reason, expires}).
type SchedQBounce struct {
	Tenant   *string
	Domain   string
	Campaign *string
	Reason   string // "<reason> (rule_hash=<rule_hash>)"
	Expires  time.Time
	RuleHash string
}

// Applier receives what the daemon tells the subscriber. Every reconnect
// replays the daemon's current set, and the live stream may repeat what
// the snapshot held: an Applier must be idempotent by key (the ready
// queue name; campaign, tenant and domain), a later entry replacing the
// earlier, as kumo.api.admin's registry is. An error ends the connection;
// the subscriber reconnects after its retry delay.
type Applier interface {
	SuspendReadyQ(ReadyQSuspension) error
	Suspend(SchedQSuspension) error
	Bounce(SchedQBounce) error
}

// Subscriber follows one TSA daemon's event stream: a websocket on
// <URL>/subscribe_event_v1 (http becomes ws, https wss), falling back to
// the legacy <URL>/subscribe_suspension_v1 when the daemon answers the
// handshake with 404. Each suspension or bounce is handed to Applier as
// it arrives. On any error, or when the daemon closes the stream, it
// logs "TSA Error, will retry in ..." and reconnects after RetryDelay.
type Subscriber struct {
	URL     string
	Applier Applier
	// RetryDelay: 0 means DefaultRetryDelay.
	RetryDelay time.Duration
	// DialTimeout bounds a handshake (0: DefaultDialTimeout).
	DialTimeout time.Duration
	// HTTPClient makes the handshakes (nil: http.DefaultClient).
	HTTPClient *http.Client
	// Logger: nil means slog.Default().
	Logger *slog.Logger
	// OnConnect, when set, is called after each successful handshake with
	// the websocket URL connected to.
	OnConnect func(endpoint string)

	connections atomic.Uint64
}

// Connections counts the successful handshakes so far.
func (s *Subscriber) Connections() uint64 { return s.connections.Load() }

// WebsocketURL turns a daemon's http(s) base URL into its ws(s) form.
func WebsocketURL(base string) string {
	if strings.HasPrefix(base, "http") {
		return "ws" + base[len("http"):]
	}
	return base
}

func (s *Subscriber) logger() *slog.Logger {
	if s.Logger != nil {
		return s.Logger
	}
	return slog.Default()
}

// Run follows the daemon until ctx is done, then returns ctx.Err().
func (s *Subscriber) Run(ctx context.Context) error {
	delay := s.RetryDelay
	if delay <= 0 {
		delay = DefaultRetryDelay
	}
	for {
		err := s.session(ctx)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		s.logger().Error(fmt.Sprintf("TSA Error, will retry in %s", humanSeconds(delay)), "url", s.URL, "error", err)
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
	}
}

// handshakeError is a handshake the daemon answered with a status other
// than 101, worded as KumoMTA's websocket client words it.
type handshakeError struct {
	code int
}

func (e *handshakeError) Error() string {
	return fmt.Sprintf("HTTP error: %d %s", e.code, http.StatusText(e.code))
}

func (s *Subscriber) dial(ctx context.Context, endpoint string) (*websocket.Conn, error) {
	timeout := s.DialTimeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	conn, resp, err := websocket.Dial(dctx, endpoint, &websocket.DialOptions{HTTPClient: s.HTTPClient})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			if resp.Body != nil {
				resp.Body.Close()
			}
			return nil, &handshakeError{code: resp.StatusCode}
		}
		return nil, err
	}
	conn.SetReadLimit(maxFrame)
	s.connections.Add(1)
	if s.OnConnect != nil {
		s.OnConnect(endpoint)
	}
	return conn, nil
}

// session is one connection: it returns when the stream ends or fails.
func (s *Subscriber) session(ctx context.Context) error {
	base := strings.TrimSuffix(WebsocketURL(s.URL), "/")
	event := base + SubscribeEventPath
	conn, err := s.dial(ctx, event)
	legacy := false
	if err != nil {
		var he *handshakeError
		if !errors.As(err, &he) || he.code != http.StatusNotFound {
			return fmt.Errorf("Request to %s failed: %w", event, err)
		}
		endpoint := base + SubscribeLegacyPath
		s.logger().Warn(fmt.Sprintf("NOTE: Your TSA daemon doesn't support %s, falling back to %s. "+
			"Please upgrade and restart your TSA daemon to enable full functionality!", event, endpoint))
		if conn, err = s.dial(ctx, endpoint); err != nil {
			return fmt.Errorf("Request to %s failed: %w", endpoint, err)
		}
		legacy = true
	}
	defer conn.CloseNow()
	for {
		_, data, err := conn.Read(ctx)
		if err != nil {
			if websocket.CloseStatus(err) != -1 {
				return fmt.Errorf("websocket closed: %w", err)
			}
			return err
		}
		if err := s.apply(data, legacy); err != nil {
			conn.Close(websocket.StatusInternalError, "")
			return err
		}
	}
}

// wireItem is the union of the daemon's three item objects.
type wireItem struct {
	RuleHash *string `json:"rule_hash"`
	SiteName *string `json:"site_name"`
	Tenant   *string `json:"tenant"`
	Domain   *string `json:"domain"`
	Campaign *string `json:"campaign"`
	Reason   *string `json:"reason"`
	Expires  *string `json:"expires"`
}

func (w *wireItem) common(kind string, needSite bool) (reason string, expires time.Time, err error) {
	missing := ""
	switch {
	case w.RuleHash == nil:
		missing = "rule_hash"
	case w.Reason == nil:
		missing = "reason"
	case w.Expires == nil:
		missing = "expires"
	case needSite && w.SiteName == nil:
		missing = "site_name"
	case !needSite && w.Domain == nil:
		missing = "domain"
	}
	if missing != "" {
		return "", time.Time{}, fmt.Errorf("%s from TSA: missing field `%s`", kind, missing)
	}
	expires, err = time.Parse(time.RFC3339Nano, *w.Expires)
	if err != nil {
		return "", time.Time{}, fmt.Errorf("%s from TSA: expires %q is not an RFC 3339 timestamp", kind, *w.Expires)
	}
	return fmt.Sprintf("%s (rule_hash=%s)", *w.Reason, *w.RuleHash), expires, nil
}

// apply decodes one frame and hands it to the Applier.
func (s *Subscriber) apply(data []byte, legacy bool) error {
	var frame map[string]json.RawMessage
	if err := json.Unmarshal(data, &frame); err != nil {
		return fmt.Errorf("frame from TSA is not a JSON object: %v", err)
	}
	readyTag, schedTag, bounceTag := "ReadyQSuspension", "SchedQSuspension", "SchedQBounce"
	if legacy {
		readyTag, schedTag, bounceTag = "ReadyQ", "SchedQ", ""
	}
	decode := func(tag string) (*wireItem, bool, error) {
		raw, ok := frame[tag]
		if !ok || tag == "" {
			return nil, false, nil
		}
		var w wireItem
		if err := json.Unmarshal(raw, &w); err != nil {
			return nil, true, fmt.Errorf("%s from TSA: %v", tag, err)
		}
		return &w, true, nil
	}
	if w, ok, err := decode(readyTag); ok {
		if err != nil {
			return err
		}
		reason, expires, err := w.common(readyTag, true)
		if err != nil {
			return err
		}
		return s.Applier.SuspendReadyQ(ReadyQSuspension{Name: *w.SiteName, Reason: reason, Expires: expires, RuleHash: *w.RuleHash})
	}
	if w, ok, err := decode(schedTag); ok {
		if err != nil {
			return err
		}
		reason, expires, err := w.common(schedTag, false)
		if err != nil {
			return err
		}
		return s.Applier.Suspend(SchedQSuspension{Tenant: w.Tenant, Domain: *w.Domain, Campaign: w.Campaign,
			Reason: reason, Expires: expires, RuleHash: *w.RuleHash})
	}
	if w, ok, err := decode(bounceTag); ok {
		if err != nil {
			return err
		}
		reason, expires, err := w.common(bounceTag, false)
		if err != nil {
			return err
		}
		return s.Applier.Bounce(SchedQBounce{Tenant: w.Tenant, Domain: *w.Domain, Campaign: w.Campaign,
			Reason: reason, Expires: expires, RuleHash: *w.RuleHash})
	}
	if !legacy {
		s.logger().Error(fmt.Sprintf("Received unsupported record type %s from TSA. "+
			"Do you need to upgrade kumod on this instance?", data))
	}
	return nil
}
