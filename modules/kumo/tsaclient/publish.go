package tsaclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// PublishPath is the TSA daemon's ingest route.
const PublishPath = "/publish_log_v1"

// maxDispositionBody bounds how much of a response body is read into a
// disposition.
const maxDispositionBody = 64 << 10

// TransientError is a publish that did not succeed and is to be retried
// later: the daemon answered a status outside 2xx (StatusCode and
// Disposition set), or the request failed (StatusCode 0, Err set).
type TransientError struct {
	URL         string
	StatusCode  int
	Disposition string
	Err         error
}

func (e *TransientError) Error() string {
	if e.StatusCode != 0 {
		return e.Disposition
	}
	return fmt.Sprintf("POST %s: %v", e.URL, e.Err)
}

func (e *TransientError) Unwrap() error { return e.Err }

// Publisher posts log records to TSA daemons, one HTTP POST per record,
// over a pool of kept-alive connections. It is safe for concurrent use.
type Publisher struct {
	client *http.Client
}

// NewPublisher returns a Publisher whose requests time out after timeout
// (0: DefaultPublishTimeout) and whose idle pooled connections are closed
// after idle (0: DefaultPublishPoolIdleTimeout).
func NewPublisher(timeout, idle time.Duration) *Publisher {
	if timeout <= 0 {
		timeout = DefaultPublishTimeout
	}
	if idle <= 0 {
		idle = DefaultPublishPoolIdleTimeout
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.IdleConnTimeout = idle
	tr.MaxIdleConnsPerHost = 64
	return &Publisher{client: &http.Client{Timeout: timeout, Transport: tr}}
}

// Close closes the pooled idle connections.
func (p *Publisher) Close() { p.client.CloseIdleConnections() }

// Publish posts body (one JSON log record) to <baseURL>/publish_log_v1 with
// Content-Type application/json. On a 2xx answer it returns the
// disposition "<code> <reason>: <body>" (reason: the standard phrase of
// the code, "nil" for a code without one, as KumoMTA's formatting gives);
// any other answer, and any transport error, is a *TransientError.
func (p *Publisher) Publish(ctx context.Context, baseURL string, body []byte) (string, error) {
	target := strings.TrimSuffix(baseURL, "/") + PublishPath
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return "", &TransientError{URL: target, Err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return "", &TransientError{URL: target, Err: err}
	}
	defer resp.Body.Close()
	text, err := io.ReadAll(io.LimitReader(resp.Body, maxDispositionBody))
	if err != nil {
		return "", &TransientError{URL: target, Err: fmt.Errorf("reading the response: %w", err)}
	}
	// Drain what is left so the connection goes back to the pool.
	_, _ = io.Copy(io.Discard, resp.Body)
	reason := http.StatusText(resp.StatusCode)
	if reason == "" {
		reason = "nil"
	}
	disposition := fmt.Sprintf("%d %s: %s", resp.StatusCode, reason, text)
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return disposition, nil
	}
	return "", &TransientError{URL: target, StatusCode: resp.StatusCode, Disposition: disposition,
		Err: errors.New(disposition)}
}
