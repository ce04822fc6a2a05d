package upstream

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/internal/sharedref"
)

// runTSA starts `kumopolicy tsa-daemon --policy POLICY` in dir with args,
// waits for its "initialization complete" line and returns the address it
// announced with "http listener on ADDR", and a stop function that sends
// SIGTERM and returns the exit error and everything it wrote.
func runTSA(t *testing.T, dir, policy string, env []string, args ...string) (addr string, stop func() (string, error)) {
	t.Helper()
	cmd := exec.Command(binary(t), append([]string{"tsa-daemon", "--policy", policy}, args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var log strings.Builder
	lines := make(chan string, 256)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	deadline := time.After(30 * time.Second)
	ready := false
	for !ready {
		select {
		case line, ok := <-lines:
			if !ok {
				cmd.Wait()
				t.Fatalf("tsa-daemon exited before initializing:\n%s", log.String())
			}
			log.WriteString(line + "\n")
			if _, a, found := strings.Cut(line, "http listener on "); found {
				addr = strings.Fields(a)[0]
			}
			ready = strings.Contains(line, "initialization complete")
		case <-deadline:
			cmd.Process.Kill()
			t.Fatalf("tsa-daemon did not initialize within 30s:\n%s", log.String())
		}
	}
	stopped := false
	stop = func() (string, error) {
		if stopped {
			return log.String(), nil
		}
		stopped = true
		cmd.Process.Signal(syscall.SIGTERM)
		for line := range lines {
			log.WriteString(line + "\n")
		}
		err := cmd.Wait()
		return log.String(), err
	}
	t.Cleanup(func() { stop() })
	return addr, stop
}

// statusOK checks that the daemon at addr answers /tsa/status.
func statusOK(t *testing.T, addr string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("announced address %q: %v", addr, err)
	}
	if host == "0.0.0.0" || host == "::" || host == "" {
		host = "127.0.0.1"
	}
	resp, err := http.Get("http://" + net.JoinHostPort(host, port) + "/tsa/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || string(body) != "TSA Daemon OK" {
		t.Fatalf("/tsa/status: %d %q", resp.StatusCode, body)
	}
}

// KumoMTA's integration-test tsa_init.lua, unmodified, with its
// shaping.toml in the working directory: the daemon starts, serves and
// stops cleanly. (cmd/kumopolicy's tsa tests exercise what it computes.)
func TestIntegrationTSAInit(t *testing.T) {
	policy := sharedref.CorpusFile(t, "crates/integration-tests/tsa_init.lua")
	shapingData := sharedref.CorpusFile(t, "crates/integration-tests/shaping.toml")
	ran(t, "crates/integration-tests/tsa_init.lua (tsa-daemon starts, serves, stops)")
	dir := t.TempDir()
	data, err := os.ReadFile(shapingData)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "shaping.toml"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	addr, stop := runTSA(t, dir, policy, []string{"KUMO_TSA_TEST_DIR=" + dir})
	statusOK(t, addr)
	if log, err := stop(); err != nil {
		t.Fatalf("tsa-daemon did not exit cleanly on SIGTERM: %v\n%s", err, log)
	}
}

// KumoMTA's stock assets/tsa_init.lua, unmodified, with no KumoMTA install
// (empty stand-ins for /opt/kumomta): it loads the embedded default
// shaping data and listens on 0.0.0.0:8008 as it asks.
func TestStockTSAInit(t *testing.T) {
	policy := sharedref.CorpusFile(t, "assets/tsa_init.lua")
	sharedref.LockPort(t, 8008)
	if l, err := net.Listen("tcp4", "0.0.0.0:8008"); err != nil {
		t.Skipf("port 8008 is taken on this machine, which the stock policy needs: %v", err)
	} else {
		l.Close()
	}
	ran(t, "assets/tsa_init.lua (tsa-daemon starts on 0.0.0.0:8008, serves, stops)")
	dir := t.TempDir()
	share, etc := filepath.Join(dir, "share"), filepath.Join(dir, "etc")
	for _, d := range []string{share, etc} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	addr, stop := runTSA(t, dir, policy, nil, "--share-dir", share, "--etc-dir", etc, "--db-path", filepath.Join(dir, "db"))
	if addr != "0.0.0.0:8008" {
		t.Errorf("listening on %q, want 0.0.0.0:8008", addr)
	}
	statusOK(t, addr)
	if log, err := stop(); err != nil {
		t.Fatalf("tsa-daemon did not exit cleanly on SIGTERM: %v\n%s", err, log)
	}
}
