package daemon_test

import (
	"compress/gzip"
	"compress/zlib"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/kumopolicy/kumopolicy/internal/sharedref"
	"github.com/kumopolicy/kumopolicy/modules/tsa/daemon"
	"github.com/kumopolicy/kumopolicy/modules/tsa/httpapi"
)

type openAPIDoc struct {
	OpenAPI string                               `json:"openapi"`
	Paths   map[string]map[string]map[string]any `json:"paths"`
}

// operations lists "METHOD path" of a document.
func operations(doc openAPIDoc) []string {
	var out []string
	for path, item := range doc.Paths {
		for m := range item {
			out = append(out, strings.ToUpper(m)+" "+path)
		}
	}
	sort.Strings(out)
	return out
}

func TestOpenAPIDocumentMatchesRoutes(t *testing.T) {
	dir := t.TempDir()
	// The listener trusts nobody local: the document is for anyone.
	f := start(t, minimalPolicy(t, dir, `tsa.start_http_listener { listen = '127.0.0.1:0', trusted_hosts = { '192.0.2.0/24' } }`),
		daemon.Options{Version: "1.2.3-test"})
	code, body, hdr := do(t, http.MethodGet, f.base+daemon.OpenAPIPath, "", nil)
	if code != 200 || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("GET %s from an untrusted peer: %d %v", daemon.OpenAPIPath, code, hdr)
	}
	var doc openAPIDoc
	if err := json.Unmarshal([]byte(body), &doc); err != nil {
		t.Fatalf("not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	var info struct {
		Info struct{ Version string } `json:"info"`
	}
	json.Unmarshal([]byte(body), &info)
	if info.Info.Version != "1.2.3-test" {
		t.Errorf("info.version %q", info.Info.Version)
	}

	routes, err := daemon.RouteTable(f.d)
	if err != nil {
		t.Fatal(err)
	}
	var registered []string
	for _, r := range routes {
		op := doc.Paths[r.Path][strings.ToLower(r.Method)]
		registered = append(registered, r.Method+" "+r.Path)
		if op == nil {
			t.Errorf("route %s %s is not in the document", r.Method, r.Path)
			continue
		}
		want := "trusted"
		if r.Access == httpapi.Anyone {
			want = "anyone"
		}
		if got := op[daemon.AccessExtension]; got != want {
			t.Errorf("%s %s: %s %v, the route table says %s", r.Method, r.Path, daemon.AccessExtension, got, want)
		}
		if _, ok := op["responses"].(map[string]any)["200"]; !ok && r.Path != daemon.SubscribeEventPath && r.Path != daemon.SubscribeLegacyPath {
			t.Errorf("%s %s documents no 200 answer", r.Method, r.Path)
		}
	}
	sort.Strings(registered)
	if got := operations(doc); strings.Join(got, "\n") != strings.Join(registered, "\n") {
		t.Errorf("document operations:\n%s\nregistered routes:\n%s", strings.Join(got, "\n"), strings.Join(registered, "\n"))
	}
	// Every $ref resolves.
	var all map[string]any
	json.Unmarshal([]byte(body), &all)
	schemas := all["components"].(map[string]any)["schemas"].(map[string]any)
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if r, ok := v["$ref"].(string); ok {
				if _, ok := schemas[strings.TrimPrefix(r, "#/components/schemas/")]; !ok || !strings.HasPrefix(r, "#/components/schemas/") {
					t.Errorf("dangling $ref %s", r)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	walk(all)
}

// upstreamNotServed are the routes of KumoMTA's tsa-daemon document that
// kumopolicy does not serve (they answer 404); each is checked to be 404,
// so this list cannot hide a served route missing from the document.
var upstreamNotServed = map[string]string{
	"POST /api/admin/bump-config-epoch":            "generic kumo-server-common admin route",
	"GET /api/admin/memory/stats":                  "Rust allocator statistics",
	"POST /api/admin/set_diagnostic_log_filter/v1": "generic kumo-server-common admin route",
	"GET /api/admin/task-dump":                     "Rust async task dump",
	"GET /api/machine-info":                        "generic kumo-server-common route",
	"GET /metrics.json":                            "JSON form of the metrics; /metrics serves the Prometheus text",
}

func TestOpenAPICoversUpstream(t *testing.T) {
	data, err := os.ReadFile(sharedref.UpstreamData(t, "tsa-daemon.openapi.json"))
	if err != nil {
		t.Fatal(err)
	}
	var upstream openAPIDoc
	if err := json.Unmarshal(data, &upstream); err != nil {
		t.Fatalf("KumoMTA's document: %v", err)
	}
	ours, err := daemon.OpenAPIDocument("test")
	if err != nil {
		t.Fatal(err)
	}
	var doc openAPIDoc
	if err := json.Unmarshal(ours, &doc); err != nil {
		t.Fatal(err)
	}
	have := map[string]bool{}
	for _, op := range operations(doc) {
		have[op] = true
	}
	f := start(t, minimalPolicy(t, t.TempDir(), `tsa.start_http_listener { listen = '127.0.0.1:0' }`), daemon.Options{})
	covered := 0
	for _, op := range operations(upstream) {
		if have[op] {
			covered++
			continue
		}
		if _, ok := upstreamNotServed[op]; !ok {
			t.Errorf("KumoMTA's %s is missing from our document", op)
			continue
		}
		method, path, _ := strings.Cut(op, " ")
		if code, _, _ := do(t, method, f.base+path, "application/json", []byte("{}")); code != 404 {
			t.Errorf("%s is listed as not served but answers %d", op, code)
		}
	}
	if covered < 8 {
		t.Errorf("only %d of KumoMTA's operations are in our document", covered)
	}
}

// rawGet fetches url with Accept-Encoding set by hand, so the client
// does not decode the body.
func rawGet(t *testing.T, url, accept string) (http.Header, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	req.Header.Set("Accept-Encoding", accept)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %d", url, resp.StatusCode)
	}
	var r io.Reader = resp.Body
	switch resp.Header.Get("Content-Encoding") {
	case "gzip":
		r, err = gzip.NewReader(r)
	case "deflate":
		r, err = zlib.NewReader(r)
	}
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil {
		t.Fatal(err)
	}
	return resp.Header, string(b)
}

func TestDaemonCompressesResponses(t *testing.T) {
	f := start(t, minimalPolicy(t, t.TempDir(), `tsa.start_http_listener { listen = '127.0.0.1:0' }`), daemon.Options{})
	// A websocket upgrade offered gzip still upgrades, and its frames are
	// plain.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(f.base, "http")+daemon.SubscribeEventPath,
		&websocket.DialOptions{HTTPHeader: http.Header{"Accept-Encoding": {"gzip, deflate"}}})
	if err != nil {
		t.Fatalf("websocket with Accept-Encoding: %v", err)
	}
	defer ws.CloseNow()
	if code, _, _ := do(t, http.MethodPost, f.base+httpapi.PublishPath, "application/json",
		record("TransientFailure", "you said 450-go-away", 450, time.Now())); code != 200 {
		t.Fatalf("publish: %d", code)
	}
	if frame := readFrame(t, ws); !strings.HasPrefix(frame, `{"ReadyQSuspension":`) {
		t.Errorf("frame %q", frame)
	}
	plainSusp := poll(t, f.base+daemon.SuspendedPath, func(b string) bool { return strings.Contains(b, "site_name") })

	for _, c := range []struct {
		path, accept, wantEnc string
	}{
		{daemon.SuspendedPath, "gzip", "gzip"},
		{daemon.SuspendedPath, "deflate", "deflate"},
		{daemon.SuspendedPath, "br", ""},
		{daemon.SuspendedPath, "identity", ""},
		{daemon.BouncedPath, "gzip", ""}, // "[]": too short
		{httpapi.StatusPath, "gzip", ""}, // "TSA Daemon OK": too short
		{daemon.ShapingPath, "gzip", "gzip"},
		{daemon.OpenAPIPath, "deflate", "deflate"},
		{daemon.MetricsPath, "deflate", "deflate"},
		{daemon.MetricsPath, "gzip", "gzip"},
	} {
		h, body := rawGet(t, f.base+c.path, c.accept)
		if got := h.Get("Content-Encoding"); got != c.wantEnc {
			t.Errorf("%s, Accept-Encoding %s: Content-Encoding %q, want %q", c.path, c.accept, got, c.wantEnc)
		}
		switch c.path {
		case daemon.SuspendedPath:
			if body != plainSusp {
				t.Errorf("%s decoded %q, want %q", c.path, body, plainSusp)
			}
		case daemon.BouncedPath:
			if body != "[]" {
				t.Errorf("bounced.json %q", body)
			}
		case httpapi.StatusPath:
			if body != httpapi.StatusBody {
				t.Errorf("status %q", body)
			}
		case daemon.MetricsPath:
			if !strings.Contains(body, "tsa_records_received_total") && !strings.Contains(body, "# TYPE") {
				t.Errorf("metrics body %.100q", body)
			}
		}
	}
}
