package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/internal/sharedref"
	"github.com/kumopolicy/kumopolicy/modules/tsa/daemon"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// kumopolicyBinary builds this command once per test run.
func kumopolicyBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "kumopolicy-bin")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "kumopolicy")
		out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// tsaProc is a running `kumopolicy tsa-daemon`.
type tsaProc struct {
	cmd    *exec.Cmd
	addrs  []string // from the "listener on" lines, as KumoMTA's harness reads them
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{}
}

func (p *tsaProc) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// startTSA runs the daemon in dir with args and waits, as KumoMTA's
// integration harness does, for "initialization complete" on stderr.
func startTSA(t *testing.T, dir string, env []string, args ...string) *tsaProc {
	t.Helper()
	return startProc(t, dir, env, "tsa-daemon", args...)
}

// startProc runs `kumopolicy COMMAND args...` in dir and waits for
// "initialization complete" on stderr.
func startProc(t *testing.T, dir string, env []string, command string, args ...string) *tsaProc {
	t.Helper()
	cmd := exec.Command(kumopolicyBinary(t), append([]string{command}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	pipe, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &tsaProc{cmd: cmd, done: make(chan struct{})}
	ready := make(chan bool, 1)
	go func() {
		defer close(p.done)
		sc := bufio.NewScanner(pipe)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.stderr.WriteString(line + "\n")
			p.mu.Unlock()
			if strings.Contains(line, "listener on") {
				f := strings.Split(line, " ")
				p.addrs = append(p.addrs, f[len(f)-1])
			}
			if !signalled && strings.Contains(line, "initialization complete") {
				signalled = true
				ready <- true
			}
		}
		if !signalled {
			ready <- false
		}
		io.Copy(io.Discard, pipe)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	select {
	case ok := <-ready:
		if !ok {
			cmd.Wait()
			t.Fatalf("the daemon ended before initialization complete:\n%s", p.log())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("no initialization complete in 30s:\n%s", p.log())
	}
	return p
}

// stop sends SIGTERM and returns the exit code.
func (p *tsaProc) stop(t *testing.T) int {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	<-p.done
	err := p.cmd.Wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		t.Fatal(err)
	}
	return 0
}

func httpDo(t *testing.T, method, url, ctype, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func transientFailure(content string, ts time.Time) string {
	return fmt.Sprintf(`{"type":"TransientFailure","id":"1d98076abbbc11ed940250ebf67f93bd","sender":"sender@example.com",`+
		`"recipient":"recip@example.com","queue":"example.com","site":"source2->example.com@smtp_client","size":1024,`+
		`"response":{"code":450,"enhanced_code":null,"content":%q,"command":null},"peer_address":null,`+
		`"timestamp":%d,"created":%d,"num_attempts":1,"bounce_classification":"Uncategorized","egress_pool":null,`+
		`"egress_source":"source2","feedback_report":null,"meta":{},"headers":{},"delivery_protocol":"ESMTP",`+
		`"reception_protocol":"ESMTP","nodeid":"557f3ad4-2c8c-11ee-976e-782d1c8d2d5d"}`, content, ts.Unix(), ts.Unix())
}

// TestTSADaemonBinaryIntegrationFixture runs KumoMTA's unmodified
// integration-test tsa_init.lua under the built binary, posts a record
// that its shaping.toml suspends, and stops the daemon with SIGTERM.
func TestTSADaemonBinaryIntegrationFixture(t *testing.T) {
	policy := sharedref.CorpusFile(t, "crates/integration-tests/tsa_init.lua")
	shaping, err := os.ReadFile(sharedref.CorpusFile(t, "crates/integration-tests/shaping.toml"))
	if err != nil {
		t.Fatal(err)
	}
	work, empty, db := t.TempDir(), t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(work, "shaping.toml"), shaping, 0o644); err != nil {
		t.Fatal(err)
	}
	p := startTSA(t, work, []string{"KUMO_TSA_TEST_DIR=" + db}, "--policy", policy, "--etc-dir", empty, "--share-dir", empty)
	if len(p.addrs) != 1 || strings.HasSuffix(p.addrs[0], ":0") || !strings.HasPrefix(p.addrs[0], "127.0.0.1:") {
		t.Fatalf("listeners %v:\n%s", p.addrs, p.log())
	}
	base := "http://" + p.addrs[0]
	if code, body := httpDo(t, "GET", base+"/tsa/status", "", ""); code != 200 || body != "TSA Daemon OK" {
		t.Errorf("status: %d %q", code, body)
	}
	if code, body := httpDo(t, "POST", base+"/publish_log_v1", "application/json", transientFailure("you said 450-go-away", time.Now())); code != 200 || body != "" {
		t.Fatalf("publish: %d %q", code, body)
	}
	if code, _ := httpDo(t, "POST", base+"/publish_log_v1", "application/json", "[]"); code != 422 {
		t.Errorf("array body: %d, want 422", code)
	}
	var susp string
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		_, susp = httpDo(t, "GET", base+"/get_suspension_v1/suspended.json", "", "")
		if strings.Contains(susp, "site_name") {
			break
		}
	}
	if strings.Count(susp, `"site_name":"source2->example.com@smtp_client"`) != 1 || !strings.HasSuffix(susp, `"sched_q":[]}`) {
		t.Errorf("suspended.json: %s", susp)
	}
	_, toml := httpDo(t, "GET", base+"/get_config_v1/shaping.toml", "", "")
	if !strings.Contains(toml, `max_message_rate = "3/m"`) || !strings.Contains(toml, "max_deliveries_per_connection = 1") {
		t.Errorf("shaping.toml:\n%s", toml)
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("exit %d after SIGTERM:\n%s", code, p.log())
	}
	for _, want := range []string{"state database " + db + "/tsa.db/tsa-state.bbolt: restored 0 entries", "shutting down", "Shutdown completed OK!"} {
		if !strings.Contains(p.log(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, p.log())
		}
	}
}

// TestTSADaemonDefaultPolicyOrder: without --policy the daemon runs
// etc/tsa/init.lua, else etc/policy/tsa_init.lua (under --etc-dir).
func TestTSADaemonDefaultPolicyOrder(t *testing.T) {
	etc, share := t.TempDir(), t.TempDir()
	policy := func(marker string) string {
		return `local kumo = require 'kumo'
local tsa = require 'tsa'
kumo.on('tsa_init', function()
  kumo.log_info('` + marker + `')
  tsa.start_http_listener { listen = '127.0.0.1:0' }
end)
kumo.on('tsa_load_shaping_data', function() return kumo.shaping.load {} end)
`
	}
	for _, d := range []string{"tsa", "policy"} {
		if err := os.MkdirAll(filepath.Join(etc, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	second := filepath.Join(etc, "policy", "tsa_init.lua")
	first := filepath.Join(etc, "tsa", "init.lua")
	os.WriteFile(second, []byte(policy("packaged unit policy")), 0o644)
	p := startTSA(t, t.TempDir(), nil, "--etc-dir", etc, "--share-dir", share, "--db-path", ":memory:")
	if !strings.Contains(p.log(), "using policy "+second) || !strings.Contains(p.log(), "packaged unit policy") {
		t.Errorf("with only policy/tsa_init.lua:\n%s", p.log())
	}
	p.stop(t)
	os.WriteFile(first, []byte(policy("kumomta default policy")), 0o644)
	p = startTSA(t, t.TempDir(), nil, "--etc-dir", etc, "--share-dir", share, "--db-path", ":memory:")
	if !strings.Contains(p.log(), "using policy "+first) || !strings.Contains(p.log(), "kumomta default policy") {
		t.Errorf("with tsa/init.lua:\n%s", p.log())
	}
	p.stop(t)
}

// port8008Free reports whether 8008 can be bound on addr.
func port8008Free(addr string) error {
	ln, err := net.Listen("tcp4", addr)
	if err != nil {
		return err
	}
	return ln.Close()
}

// TestTSADaemonStockAndEmbeddedPolicies: the corpus's stock
// assets/tsa_init.lua starts with no /opt/kumomta (the embedded default
// shaping data stands in) and listens on 0.0.0.0:8008 as it asks; with
// no policy at all, the embedded one listens on 127.0.0.1:8008. Both need
// port 8008 free; the test is skipped when it is not.
func TestTSADaemonStockAndEmbeddedPolicies(t *testing.T) {
	stock := sharedref.CorpusFile(t, "assets/tsa_init.lua")
	sharedref.LockPort(t, 8008) // tests/upstream runs the stock policy too, maybe at the same time
	if err := port8008Free("0.0.0.0:8008"); err != nil {
		t.Skipf("port 8008 is in use on this machine, so the stock policy cannot listen where it asks: %v", err)
	}
	etc, share := t.TempDir(), t.TempDir()
	p := startTSA(t, t.TempDir(), nil, "--policy", stock, "--etc-dir", etc, "--share-dir", share, "--db-path", t.TempDir())
	if len(p.addrs) != 1 || p.addrs[0] != "0.0.0.0:8008" {
		t.Errorf("stock policy listeners %v:\n%s", p.addrs, p.log())
	}
	if !strings.Contains(p.log(), "embedded default data") {
		t.Errorf("no note about the embedded shaping data:\n%s", p.log())
	}
	if code, body := httpDo(t, "GET", "http://127.0.0.1:8008/get_config_v1/shaping.toml", "", ""); code != 200 || !strings.HasPrefix(body, "# Generated by tsa-daemon\n") {
		t.Errorf("stock policy shaping.toml: %d %q", code, body)
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("stock policy exit %d:\n%s", code, p.log())
	}

	p = startTSA(t, t.TempDir(), nil, "--etc-dir", etc, "--share-dir", share)
	if !strings.Contains(p.log(), "using policy [embedded]/etc/policy/tsa_init.lua") {
		t.Errorf("embedded policy not named:\n%s", p.log())
	}
	if len(p.addrs) != 1 || p.addrs[0] != "127.0.0.1:8008" {
		t.Errorf("embedded policy listeners %v:\n%s", p.addrs, p.log())
	}
	if code, body := httpDo(t, "GET", "http://127.0.0.1:8008/tsa/status", "", ""); code != 200 || body != "TSA Daemon OK" {
		t.Errorf("embedded policy status: %d %q", code, body)
	}
	if code := p.stop(t); code != 0 {
		t.Errorf("embedded policy exit %d:\n%s", code, p.log())
	}
}

func TestTSADaemonDumpOpenAPISpec(t *testing.T) {
	code, out, errs := runCLI("tsa-daemon", "--dump-openapi-spec")
	if code != exitOK || errs != "" {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Info    struct{ Version string }  `json:"info"`
		Paths   map[string]map[string]any `json:"paths"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not JSON: %v\n%.200s", err, out)
	}
	if doc.OpenAPI != "3.1.0" || doc.Info.Version != version() || doc.Paths["/publish_log_v1"]["post"] == nil {
		t.Errorf("document: openapi %q, version %q, paths %d", doc.OpenAPI, doc.Info.Version, len(doc.Paths))
	}
	served, err := daemon.OpenAPIDocument(version())
	if err != nil || out != string(served)+"\n" {
		t.Errorf("the printed document differs from the served one (%v)", err)
	}
}
