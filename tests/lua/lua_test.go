package lua_test

import (
	"context"
	"errors"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy"
	"github.com/kumopolicy/kumopolicy/internal/dnstest"
	"github.com/kumopolicy/kumopolicy/luart"
)

func TestLuaScripts(t *testing.T) {
	files, err := filepath.Glob("*.lua")
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(files)
	if len(files) == 0 {
		t.Fatal("no Lua test scripts found")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(file, ".lua"), func(t *testing.T) {
			t.Parallel()
			runScript(t, file)
		})
	}
}

func runScript(t *testing.T, file string) {
	// Every script resolves against a loopback test server, never the
	// machine's resolver: names it does not know are NXDOMAIN.
	srv := dnstest.New(t)
	// /opt/kumomta is an empty directory here, so a KumoMTA install on the
	// machine changes nothing: KumoMTA's default files are the embedded ones.
	rt, err := kumopolicy.New(kumopolicy.Config{Policy: file, ShareDir: t.TempDir(), EtcDir: t.TempDir(), Resolver: []string{srv.Addr}})
	if err != nil {
		t.Fatal(err)
	}
	defer rt.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	_, handled, err := rt.Fire(ctx, "main")
	if err != nil {
		t.Fatal(describe(file, err))
	}
	if !handled {
		t.Fatalf("%s registered no main handler", file)
	}
}

var frameRe = regexp.MustCompile(`(?m)^\s*(\S+\.lua:\d+):`)

// describe renders a Lua failure as "file:line: message", taking the
// position from the innermost frame of the test file when the message has
// none (Lua 5.4's assert adds no position).
func describe(file string, err error) string {
	var le *luart.LuaError
	if !errors.As(err, &le) {
		return err.Error()
	}
	msg := le.Message
	if !strings.HasPrefix(msg, file+":") {
		for _, m := range frameRe.FindAllStringSubmatch(le.Traceback, -1) {
			if strings.HasPrefix(m[1], file+":") {
				msg = m[1] + ": " + msg
				break
			}
		}
	}
	return msg + "\n" + le.Traceback
}
