package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
	"github.com/kumopolicy/kumopolicy/modules/tsa/automation"
)

const crashDirEnv = "KUMOPOLICY_TSA_STORE_CRASH_DIR"

// TestHelperProcess is the child of TestKill9: it processes batches of
// records through an engine journaled to the store, forever, and after
// each batch prints "saved <tenant>" for every suspension the batch's
// events announced (what a websocket subscriber would have been shown).
func TestHelperProcess(t *testing.T) {
	dir := os.Getenv(crashDirEnv)
	if dir == "" {
		t.Skip("helper process for TestKill9")
	}
	fail := func(err error) {
		fmt.Println("error", err)
		os.Exit(3)
	}
	rs, err := compileRules(t.TempDir())
	if err != nil {
		fail(err)
	}
	s, err := Open(dir, Options{})
	if err != nil {
		fail(err)
	}
	e := automation.New(rs, nil)
	if _, err := s.Restore(e, at); err != nil {
		fail(err)
	}
	out := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(out, "ready")
	out.Flush()
	for n := 0; ; n++ {
		batch := make([]*logrecord.Record, 16)
		for i := range batch {
			if batch[i], err = newRecord(at, "tenant-me", fmt.Sprintf("t%d-%d@foo.example", n, i)); err != nil {
				fail(err)
			}
		}
		events, errs := e.Process(context.Background(), at.Add(time.Second), batch)
		if len(errs) != 0 {
			fail(errs[0])
		}
		for _, ev := range events {
			fmt.Fprintln(out, "saved", ev.SchedQ.Tenant)
		}
		out.Flush()
	}
}

// TestKill9 SIGKILLs a process in the middle of writing and finds, in the
// database it left, every entry it had reported as saved.
func TestKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a child process")
	}
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperProcess$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDirEnv+"="+dir)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || sc.Text() != "ready" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child did not start: %q", sc.Text())
	}
	// Read on while killing, so the child is busy writing, not blocked on
	// a full pipe, when SIGKILL lands.
	var mu sync.Mutex
	saved := map[string]bool{}
	bad := make(chan string, 1)
	readDone := make(chan struct{})
	go func() {
		defer close(readDone)
		for sc.Scan() {
			tenant, ok := strings.CutPrefix(sc.Text(), "saved ")
			if !ok {
				select {
				case bad <- sc.Text():
				default:
				}
				continue
			}
			mu.Lock()
			saved[tenant] = true
			mu.Unlock()
		}
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		mu.Lock()
		n := len(saved)
		mu.Unlock()
		if n >= 2000 || time.Now().After(deadline) {
			break
		}
		select {
		case line := <-bad:
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatalf("child: %s", line)
		case <-readDone:
			t.Fatalf("child stopped after %d entries", n)
		case <-time.After(time.Millisecond):
		}
	}
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-readDone // what it printed before dying was saved too
	err = cmd.Wait()
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, not by SIGKILL", err)
	}
	if len(saved) < 2000 {
		t.Fatalf("child reported only %d saved entries", len(saved))
	}

	s := open(t, dir)
	defer s.Close()
	e := automation.New(nil, nil)
	rep, err := s.Restore(e, at.Add(time.Second))
	if err != nil || len(rep.Warnings) != 0 {
		t.Fatalf("restore after kill -9: %+v %v", rep, err)
	}
	have := map[string]bool{}
	for _, x := range e.Snapshot(at.Add(time.Second)).SchedQ() {
		have[x.Tenant] = true
	}
	missing := 0
	for tenant := range saved {
		if !have[tenant] {
			missing++
			if missing <= 5 {
				t.Errorf("entry for tenant %s reported saved but not restored", tenant)
			}
		}
	}
	if missing > 0 {
		t.Fatalf("%d of %d reported entries lost", missing, len(saved))
	}
	t.Logf("%d entries reported, %d restored", len(saved), len(have))
}
