package tsaclient

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

func TestPublish(t *testing.T) {
	var gotType, gotPath string
	var gotBody []byte
	status := http.StatusOK
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotType, gotPath = r.Header.Get("Content-Type"), r.URL.Path
		gotBody, _ = io.ReadAll(r.Body)
		w.WriteHeader(status)
		if status != http.StatusOK {
			io.WriteString(w, "nope")
		}
	}))
	defer srv.Close()
	p := NewPublisher(0, 0)
	defer p.Close()
	ctx := context.Background()

	disp, err := p.Publish(ctx, srv.URL, []byte(`{"a":1}`+"\n"))
	if err != nil || disp != "200 OK: " {
		t.Fatalf("2xx: %q %v", disp, err)
	}
	if gotType != "application/json" || gotPath != "/publish_log_v1" || string(gotBody) != "{\"a\":1}\n" {
		t.Errorf("request: %q %q %q", gotType, gotPath, gotBody)
	}
	status = http.StatusAccepted
	if disp, err = p.Publish(ctx, srv.URL+"/", nil); err != nil || disp != "202 Accepted: nope" {
		t.Errorf("202: %q %v", disp, err)
	}

	for _, c := range []struct {
		code int
		want string
	}{
		{http.StatusUnprocessableEntity, "422 Unprocessable Entity: nope"},
		{http.StatusServiceUnavailable, "503 Service Unavailable: nope"},
		{599, "599 nil: nope"},
	} {
		status = c.code
		_, err := p.Publish(ctx, srv.URL, nil)
		var te *TransientError
		if !errors.As(err, &te) || te.StatusCode != c.code || te.Error() != c.want {
			t.Errorf("%d: %v", c.code, err)
		}
	}
}

func TestPublishConnectionRefused(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	_, err = NewPublisher(time.Second, 0).Publish(context.Background(), "http://"+addr, nil)
	var te *TransientError
	if !errors.As(err, &te) || te.StatusCode != 0 || te.Err == nil {
		t.Fatalf("refused: %#v", err)
	}
	if want := "POST http://" + addr + "/publish_log_v1: "; len(err.Error()) <= len(want) || err.Error()[:len(want)] != want {
		t.Errorf("message %q", err)
	}
}

func TestPublishTimeout(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	_, err := NewPublisher(50*time.Millisecond, 0).Publish(context.Background(), srv.URL, nil)
	var te *TransientError
	if !errors.As(err, &te) || te.StatusCode != 0 {
		t.Fatalf("timeout: %v", err)
	}
}
