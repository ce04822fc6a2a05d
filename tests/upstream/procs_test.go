package upstream

import (
	"bufio"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// proc is a running kumopolicy command whose stderr is collected.
type proc struct {
	name  string
	cmd   *exec.Cmd
	mu    sync.Mutex
	log   strings.Builder
	addr  string // from its "http listener on ADDR" line
	done  chan struct{}
	once  sync.Once
	exitE error
}

// startProc runs `kumopolicy ARGS...` in dir, waits for its "initialization
// complete" line and records the address it announced with "http listener
// on ADDR". It is stopped (SIGTERM) when the test ends.
func startProc(t testing.TB, name, dir string, env []string, args ...string) *proc {
	t.Helper()
	p := &proc{name: name, done: make(chan struct{})}
	p.cmd = exec.Command(binary(t), args...)
	p.cmd.Dir = dir
	p.cmd.Env = append(os.Environ(), env...)
	p.cmd.Stdout = io.Discard
	stderr, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
		signalled := false
		for sc.Scan() {
			line := sc.Text()
			p.mu.Lock()
			p.log.WriteString(line + "\n")
			if _, a, found := strings.Cut(line, "http listener on "); found && p.addr == "" {
				p.addr = strings.Fields(a)[0]
			}
			p.mu.Unlock()
			if !signalled && strings.Contains(line, "initialization complete") {
				signalled = true
				close(ready)
			}
		}
		io.Copy(io.Discard, stderr)
		p.exitE = p.cmd.Wait()
		close(p.done)
	}()
	select {
	case <-ready:
	case <-p.done:
		t.Fatalf("%s exited before initializing: %v\n%s", name, p.exitE, p.Log())
	case <-time.After(60 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("%s did not initialize within 60s:\n%s", name, p.Log())
	}
	t.Cleanup(func() { p.Stop() })
	return p
}

// Log is everything the process wrote to stderr so far.
func (p *proc) Log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Addr is the announced listener address, with a wildcard host made
// 127.0.0.1.
func (p *proc) Addr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	host, port, err := net.SplitHostPort(p.addr)
	if err != nil {
		return p.addr
	}
	if host == "0.0.0.0" || host == "::" || host == "" {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

// Stop sends SIGTERM, waits for the exit and returns its error.
func (p *proc) Stop() error {
	p.once.Do(func() {
		p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(30 * time.Second):
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p.exitE
}

// forwarder is a loopback TCP forwarder with a fixed address whose target
// can change: it stands in front of a daemon whose port changes on
// restart, so the URLs a policy was given stay valid.
type forwarder struct {
	ln     net.Listener
	mu     sync.Mutex
	target string
	conns  map[net.Conn]struct{}
	// refusedPublishes counts the POST /publish_log_v1 requests that
	// arrived while there was no target.
	refusedPublishes int
}

func newForwarder(t testing.TB) *forwarder {
	t.Helper()
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	f := &forwarder{ln: ln, conns: map[net.Conn]struct{}{}}
	go f.serve()
	t.Cleanup(f.close)
	return f
}

func (f *forwarder) Addr() string { return f.ln.Addr().String() }

// Point sends new connections to target ("" refuses them: they are
// closed at once) and drops the open ones.
func (f *forwarder) Point(target string) {
	f.mu.Lock()
	f.target = target
	for c := range f.conns {
		c.Close()
	}
	f.mu.Unlock()
}

// PublishAttempts is how many POST /publish_log_v1 requests found no
// target.
func (f *forwarder) PublishAttempts() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refusedPublishes
}

func (f *forwarder) track(c net.Conn) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.conns == nil {
		return false
	}
	f.conns[c] = struct{}{}
	return true
}

func (f *forwarder) untrack(c net.Conn) {
	f.mu.Lock()
	delete(f.conns, c)
	f.mu.Unlock()
	c.Close()
}

func (f *forwarder) serve() {
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		go f.pipe(c)
	}
}

func (f *forwarder) pipe(c net.Conn) {
	f.mu.Lock()
	target := f.target
	f.mu.Unlock()
	if target == "" {
		// Nobody behind: note what was tried, then hang up.
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		buf := make([]byte, len("POST /publish_log_v1"))
		if _, err := io.ReadFull(c, buf); err == nil && string(buf) == "POST /publish_log_v1" {
			f.mu.Lock()
			f.refusedPublishes++
			f.mu.Unlock()
		}
		c.Close()
		return
	}
	u, err := net.DialTimeout("tcp", target, 5*time.Second)
	if err != nil {
		c.Close()
		return
	}
	if !f.track(c) || !f.track(u) {
		c.Close()
		u.Close()
		return
	}
	var wg sync.WaitGroup
	wg.Add(2)
	cp := func(dst, src net.Conn) {
		defer wg.Done()
		io.Copy(dst, src)
		f.untrack(dst)
		f.untrack(src)
	}
	go cp(u, c)
	go cp(c, u)
	wg.Wait()
}

func (f *forwarder) close() {
	f.ln.Close()
	f.mu.Lock()
	for c := range f.conns {
		c.Close()
	}
	f.conns = nil
	f.mu.Unlock()
}
