package automation

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
)

// loadShaping loads TOML text with kumopolicy's own environment and no DNS.
func loadShaping(t *testing.T, text string) *shaping.Shaping {
	t.Helper()
	p := filepath.Join(t.TempDir(), "shaping.toml")
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return loadFiles(t, p)
}

func loadFiles(t *testing.T, paths ...string) *shaping.Shaping {
	t.Helper()
	s, err := shaping.Load(context.Background(), paths, shaping.DefaultOptions(), shaping.DefaultEnv(nil))
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return s
}

func newEngine(t *testing.T, s *shaping.Shaping) *Engine {
	t.Helper()
	rs, err := Compile(s)
	if err != nil {
		t.Fatal(err)
	}
	return New(rs, nil)
}

// record builds a log record with every required field; over replaces or
// adds fields.
func record(t *testing.T, over map[string]any) *logrecord.Record {
	t.Helper()
	m := map[string]any{
		"type": "TransientFailure", "id": "id1", "sender": "s@example.com",
		"recipient": "450-go-away@foo.mx-sink.wezfurlong.org", "queue": "foo.mx-sink.wezfurlong.org",
		"site": "unspecified->localhost@smtp_client", "size": 10,
		"response":  map[string]any{"code": 450, "content": "you said 450-go-away"},
		"timestamp": 0, "created": 0, "num_attempts": 0, "bounce_classification": "Uncategorized",
		"meta": map[string]any{}, "headers": map[string]any{}, "nodeid": "557f3ad4-2c8c-11ee-976e-782d7e12e173",
	}
	for k, v := range over {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	data, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	r, err := logrecord.ParseJSON(data)
	if err != nil {
		t.Fatalf("record: %v", err)
	}
	return r
}

// at is a record time with nanoseconds, like kumod's event_time.
var at = time.Date(2026, 8, 4, 13, 41, 30, 440526026, time.UTC)

func eventTime(t time.Time) string { return t.Format(time.RFC3339Nano) }

// fakeSite resolves every domain to the MX host localhost (site
// "localhost"), as the corpus's MX sink does; no network.
type fakeSite struct{}

func (fakeSite) MXHosts(context.Context, string) ([]string, error) {
	return []string{"localhost."}, nil
}
func (fakeSite) SiteName(context.Context, string) (string, error) { return "localhost", nil }
