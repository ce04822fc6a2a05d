package httpclient

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// MaxMessageSize bounds one websocket message (tungstenite's default).
const MaxMessageSize = 64 << 20

// Stream is a websocket client connection. A goroutine reads messages
// into a channel, so waiting for them with a deadline never disturbs the
// connection (a cancelled websocket read would close it). The reader ends
// when the peer closes, on a read error, on Close, or when the lifetime
// context given to Dial is done.
type Stream struct {
	conn   *websocket.Conn
	msgs   chan []byte
	cancel context.CancelFunc

	mu      sync.Mutex
	readErr error // why the reader ended; set before msgs is closed
	closed  bool
}

// Dial connects to rawURL (ws:// or wss://). ctx bounds the handshake;
// lifetime bounds the connection. A handshake answered with anything but
// 101 fails with "HTTP error: <code> <reason>". The handshake response is
// returned too (status, headers, empty body).
func Dial(ctx, lifetime context.Context, rawURL string) (*Stream, *Response, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, fmt.Errorf("URL error: %v", err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return nil, nil, fmt.Errorf("URL error: URL scheme not supported (use ws:// or wss://): %q", rawURL)
	}
	if u.Host == "" {
		return nil, nil, fmt.Errorf("URL error: no host name in the URL %q", rawURL)
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	defer tr.CloseIdleConnections()
	conn, resp, err := websocket.Dial(ctx, rawURL, &websocket.DialOptions{
		HTTPClient:      &http.Client{Transport: tr},
		CompressionMode: websocket.CompressionDisabled,
	})
	if err != nil {
		if resp != nil && resp.StatusCode != http.StatusSwitchingProtocols {
			return nil, nil, &HandshakeError{Status: resp.StatusCode}
		}
		if cerr := ctx.Err(); cerr != nil {
			return nil, nil, fmt.Errorf("websocket connect to %s interrupted: %w", rawURL, cerr)
		}
		return nil, nil, fmt.Errorf("IO error: %w", unwrapDial(err))
	}
	conn.SetReadLimit(MaxMessageSize)
	lctx, cancel := context.WithCancel(lifetime)
	s := &Stream{conn: conn, msgs: make(chan []byte, 64), cancel: cancel}
	go s.read(lctx)
	return s, &Response{status: resp.StatusCode, header: resp.Header, contentLength: -1}, nil
}

// unwrapDial drops coder/websocket's "failed to WebSocket dial: " wrapping.
func unwrapDial(err error) error {
	if inner := errors.Unwrap(err); inner != nil {
		return inner
	}
	return err
}

// HandshakeError is a websocket handshake answered with status Status.
type HandshakeError struct{ Status int }

func (e *HandshakeError) Error() string { return "HTTP error: " + StatusLine(e.Status) }

func (s *Stream) read(ctx context.Context) {
	defer close(s.msgs)
	for {
		_, data, err := s.conn.Read(ctx)
		if err != nil {
			s.mu.Lock()
			s.readErr = err
			s.mu.Unlock()
			return
		}
		select {
		case s.msgs <- data:
		case <-ctx.Done():
			s.mu.Lock()
			s.readErr = ctx.Err()
			s.mu.Unlock()
			return
		}
	}
}

// Recv waits for the next message (text and binary alike). ok is false
// once the connection is closed and every message was handed out; err is
// ctx's error if ctx ends first.
func (s *Stream) Recv(ctx context.Context) (msg []byte, ok bool, err error) {
	select {
	case m, open := <-s.msgs:
		return m, open, nil
	case <-ctx.Done():
		return nil, false, ctx.Err()
	}
}

// RecvBatch collects the messages that arrive within d: it waits the
// whole interval unless the connection closes first, when it returns what
// it has. It fails with ErrStreamClosed if the connection was closed
// before any message arrived, and with ctx's error if ctx ends first.
func (s *Stream) RecvBatch(ctx context.Context, d time.Duration) ([][]byte, error) {
	batch := [][]byte{}
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		select {
		case m, open := <-s.msgs:
			if !open {
				if len(batch) == 0 {
					return nil, ErrStreamClosed
				}
				return batch, nil
			}
			batch = append(batch, m)
		case <-timer.C:
			return batch, nil
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Send writes a text message. It fails with ErrStreamClosed once the
// stream was closed or its reader ended (the peer closed, the connection
// broke, or the lifetime context ended).
func (s *Stream) Send(ctx context.Context, text []byte) error {
	s.mu.Lock()
	closed, readErr := s.closed, s.readErr
	s.mu.Unlock()
	if closed {
		return ErrStreamClosed
	}
	if readErr != nil {
		return fmt.Errorf("%w: %v", ErrStreamClosed, readErr)
	}
	if err := s.conn.Write(ctx, websocket.MessageText, text); err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w: %v", ErrStreamClosed, err)
	}
	return nil
}

// Close closes the connection with a normal closure and stops the reader.
// Messages already received stay readable.
func (s *Stream) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	err := s.conn.Close(websocket.StatusNormalClosure, "")
	s.cancel()
	return err
}

// ReadError returns why the reader ended (nil while it runs). A normal
// closure by the peer is a websocket.CloseError.
func (s *Stream) ReadError() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.readErr
}
