// Package tsaload is a load generator for a TSA daemon's
// POST /publish_log_v1: N concurrent keep-alive clients post a log record
// for a duration or a count and report requests per second and latency
// percentiles. It only talks to loopback addresses, and every run is
// bounded in clients, count and time.
package tsaload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Bounds of a run.
const (
	DefaultClients = 100
	MaxClients     = 2000
	MaxDuration    = 10 * time.Minute
	MaxCount       = 100_000_000
	// DefaultDuration applies when neither Duration nor Count is set.
	DefaultDuration = 10 * time.Second
)

// Config describes one run.
type Config struct {
	// URL is the publish URL, e.g. http://127.0.0.1:8008/publish_log_v1.
	// Its host must be a loopback address or "localhost".
	URL string
	// Clients is the number of concurrent keep-alive connections
	// (0: DefaultClients).
	Clients int
	// Duration ends the run after this long; Count ends it after this many
	// requests. With both, whichever comes first; with neither,
	// DefaultDuration. The run never lasts longer than MaxDuration.
	Duration time.Duration
	Count    int64
	// Body returns the request body of request seq (0-based, unique in the
	// run) at time now. Nil: TortureRecord(now, "").
	Body func(seq int64, now time.Time) []byte
	// OnSent, when set, is called just before request seq is sent, with its
	// send time (for matching the request with what it causes elsewhere).
	OnSent func(seq int64, sent time.Time)
	// Timeout bounds one request (0: 10 s).
	Timeout time.Duration
}

// Result is what a run measured.
type Result struct {
	Requests int64 // answered with 200
	Failures int64 // transport errors and non-200 answers
	// Status counts the answers by HTTP status (200 included).
	Status  map[int]int64
	Elapsed time.Duration
	// Latencies of the 200 answers.
	P50, P90, P99, Max time.Duration
	// FirstError is the first failure seen, for the report.
	FirstError string
}

// RPS is the rate of 200 answers over the run.
func (r Result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Requests) / r.Elapsed.Seconds()
}

func (r Result) String() string {
	s := fmt.Sprintf("%d ok, %d failed in %.2fs: %.0f req/s; latency p50 %v p90 %v p99 %v max %v",
		r.Requests, r.Failures, r.Elapsed.Seconds(), r.RPS(), r.P50, r.P90, r.P99, r.Max)
	if r.FirstError != "" {
		s += "; first failure: " + r.FirstError
	}
	return s
}

// CheckLoopback fails unless raw is an http URL whose host is a loopback
// IP address or "localhost".
func CheckLoopback(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("tsaload: bad URL %q: %w", raw, err)
	}
	if u.Scheme != "http" {
		return fmt.Errorf("tsaload: URL %q: only http:// is supported", raw)
	}
	host := u.Hostname()
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("tsaload: URL %q: the load generator only targets loopback addresses (127.0.0.0/8, ::1, localhost), not %q", raw, host)
	}
	return nil
}

// TortureRecord is the log record that KumoMTA's tsa-torture.js k6 script
// posts (a TransientFailure "421 4.7.0 [TSS04] ..." for a yahoo.com
// recipient), with timestamp and created set to now. A non-empty site
// replaces the record's site.
func TortureRecord(now time.Time, site string) []byte {
	if site == "" {
		site = "unspecified->(mta5|mta6|mta7).am0.yahoodns.net"
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	var b bytes.Buffer
	b.Grow(700)
	b.WriteString(`{"type":"TransientFailure","id":"1d98076abbbc11ed940250ebf67f93bd","sender":"user@example.com",`)
	b.WriteString(`"recipient":"user@yahoo.com","queue":"something","site":`)
	b.WriteString(strconv.Quote(site))
	b.WriteString(`,"size":1024,"response":{"code":421,"enhanced_code":{"class":4,"subject":7,"detail":0},`)
	b.WriteString(`"content":"[TSS04] Messages from a.b.c.d temporarily deferred due to user complaints","command":"."},`)
	b.WriteString(`"timestamp":` + ts + `,"created":` + ts + `,"num_attempts":1,"bounce_classification":"Uncategorized",`)
	b.WriteString(`"meta":{},"headers":{},"nodeid":"557f3ad4-2c8c-11ee-976e-782d7e12e173"}`)
	return b.Bytes()
}

// Run performs one run. It returns an error for a bad configuration or
// when ctx ends; failed requests are counted in the Result.
func Run(ctx context.Context, cfg Config) (Result, error) {
	if err := CheckLoopback(cfg.URL); err != nil {
		return Result{}, err
	}
	if cfg.Clients == 0 {
		cfg.Clients = DefaultClients
	}
	if cfg.Clients < 0 || cfg.Clients > MaxClients {
		return Result{}, fmt.Errorf("tsaload: %d clients: want 1 to %d", cfg.Clients, MaxClients)
	}
	if cfg.Count < 0 || cfg.Count > MaxCount {
		return Result{}, fmt.Errorf("tsaload: count %d: want 0 to %d", cfg.Count, MaxCount)
	}
	if cfg.Duration < 0 || cfg.Duration > MaxDuration {
		return Result{}, fmt.Errorf("tsaload: duration %v: want 0 to %v", cfg.Duration, MaxDuration)
	}
	if cfg.Duration == 0 && cfg.Count == 0 {
		cfg.Duration = DefaultDuration
	}
	limit := cfg.Duration
	if limit == 0 {
		limit = MaxDuration
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 10 * time.Second
	}
	body := cfg.Body
	if body == nil {
		body = func(_ int64, now time.Time) []byte { return TortureRecord(now, "") }
	}

	tr := &http.Transport{
		MaxIdleConns:        cfg.Clients,
		MaxIdleConnsPerHost: cfg.Clients,
		MaxConnsPerHost:     cfg.Clients,
		DisableCompression:  true,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
	}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: cfg.Timeout}

	runCtx, cancel := context.WithTimeout(ctx, limit)
	defer cancel()

	var seq atomic.Int64
	type clientStats struct {
		lat      []time.Duration
		status   map[int]int64
		failures int64
		firstErr string
	}
	stats := make([]*clientStats, cfg.Clients)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range cfg.Clients {
		cs := &clientStats{status: map[int]int64{}, lat: make([]time.Duration, 0, 4096)}
		stats[c] = cs
		wg.Add(1)
		go func() {
			defer wg.Done()
			for runCtx.Err() == nil {
				n := seq.Add(1) - 1
				if cfg.Count > 0 && n >= cfg.Count {
					return
				}
				now := time.Now()
				req, err := http.NewRequestWithContext(runCtx, http.MethodPost, cfg.URL, bytes.NewReader(body(n, now)))
				if err != nil {
					cs.failures++
					cs.firstErr = err.Error()
					return
				}
				req.Header.Set("Content-Type", "application/json")
				if cfg.OnSent != nil {
					cfg.OnSent(n, now)
				}
				t0 := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					if runCtx.Err() != nil {
						return // the run ended mid-request: not a failure
					}
					cs.failures++
					if cs.firstErr == "" {
						cs.firstErr = err.Error()
					}
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				d := time.Since(t0)
				cs.status[resp.StatusCode]++
				if resp.StatusCode == http.StatusOK {
					cs.lat = append(cs.lat, d)
				} else {
					cs.failures++
					if cs.firstErr == "" {
						cs.firstErr = "HTTP " + resp.Status
					}
				}
			}
		}()
	}
	wg.Wait()
	res := Result{Elapsed: time.Since(start), Status: map[int]int64{}}
	var all []time.Duration
	for _, cs := range stats {
		all = append(all, cs.lat...)
		res.Failures += cs.failures
		for k, v := range cs.status {
			res.Status[k] += v
		}
		if res.FirstError == "" {
			res.FirstError = cs.firstErr
		}
	}
	res.Requests = int64(len(all))
	if len(all) > 0 {
		sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
		res.P50 = Percentile(all, 50)
		res.P90 = Percentile(all, 90)
		res.P99 = Percentile(all, 99)
		res.Max = all[len(all)-1]
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	if res.Requests == 0 && res.Failures > 0 {
		return res, errors.New("tsaload: every request failed: " + res.FirstError)
	}
	return res, nil
}

// Percentile is the p-th percentile (nearest rank) of sorted durations.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted))*p/100+0.999999) - 1
	if i < 0 {
		i = 0
	}
	if i >= len(sorted) {
		i = len(sorted) - 1
	}
	return sorted[i]
}
