package tsaload

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRunCountsEveryRequest posts a fixed count to an httptest server on
// 127.0.0.1 that checks each body is the torture record.
func TestRunCountsEveryRequest(t *testing.T) {
	var got, bad atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var rec struct {
			Type      string `json:"type"`
			Recipient string `json:"recipient"`
			Timestamp int64  `json:"timestamp"`
		}
		if r.Header.Get("Content-Type") != "application/json" || json.NewDecoder(r.Body).Decode(&rec) != nil ||
			rec.Type != "TransientFailure" || rec.Recipient != "user@yahoo.com" || rec.Timestamp == 0 {
			bad.Add(1)
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		got.Add(1)
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Config{URL: srv.URL + "/publish_log_v1", Clients: 8, Count: 500})
	if err != nil {
		t.Fatal(err)
	}
	if res.Requests != 500 || res.Failures != 0 || got.Load() != 500 || bad.Load() != 0 {
		t.Fatalf("result %v; server saw %d good, %d bad", res, got.Load(), bad.Load())
	}
	if res.Status[200] != 500 || res.P50 <= 0 || res.P50 > res.P99 || res.P99 > res.Max {
		t.Errorf("result %+v", res)
	}
}

func TestRunCountsFailures(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	res, err := Run(context.Background(), Config{URL: srv.URL, Clients: 2, Count: 10})
	if err == nil || res.Failures != 10 || res.Status[503] != 10 || !strings.Contains(res.FirstError, "503") {
		t.Fatalf("result %+v, err %v", res, err)
	}
}

func TestRunDurationBound(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	res, err := Run(context.Background(), Config{URL: srv.URL, Clients: 4, Duration: 200 * time.Millisecond})
	if err != nil || res.Requests == 0 || res.Failures != 0 {
		t.Fatalf("result %+v, err %v", res, err)
	}
}

func TestRefusesNonLoopbackAndBadBounds(t *testing.T) {
	for _, u := range []string{"http://192.0.2.1:8008/publish_log_v1", "http://example.com/", "https://127.0.0.1/", "http://10.0.0.1/"} {
		if _, err := Run(context.Background(), Config{URL: u, Count: 1}); err == nil || !strings.Contains(err.Error(), "tsaload") {
			t.Errorf("%s: err %v", u, err)
		}
	}
	for _, u := range []string{"http://127.0.0.1:8008/x", "http://[::1]:8008/x", "http://localhost:8008/x", "http://127.1.2.3/"} {
		if err := CheckLoopback(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, c := range []Config{{Clients: MaxClients + 1}, {Count: -1}, {Duration: MaxDuration + time.Second}} {
		c.URL = "http://127.0.0.1:1/"
		if _, err := Run(context.Background(), c); err == nil {
			t.Errorf("%+v accepted", c)
		}
	}
}

func TestTortureRecordSite(t *testing.T) {
	var m map[string]any
	if err := json.Unmarshal(TortureRecord(time.Unix(1700000000, 0), `a"b`), &m); err != nil {
		t.Fatal(err)
	}
	if m["site"] != `a"b` || m["timestamp"] != float64(1700000000) || m["created"] != float64(1700000000) {
		t.Errorf("record %v", m)
	}
}
