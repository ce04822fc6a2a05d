package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/internal/dnstest"
)

func TestResolverFlag(t *testing.T) {
	srv := dnstest.New(t)
	srv.AddMX("example.test", 10, "mx1.example.test", 300)
	srv.AddMX("example.test", 10, "mx2.example.test", 300)
	out := filepath.Join(t.TempDir(), "out")
	p := writePolicy(t, `
local kumo = require 'kumo'
kumo.on('main', function(domain)
  local f = assert(io.open('`+out+`', 'w'))
  f:write(kumo.dns.lookup_mx(domain).site_name)
  f:close()
end)
`)
	code, _, errs := runCLI("script", "--resolver", srv.Addr, p, "example.test")
	if code != exitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if got, _ := os.ReadFile(out); string(got) != "(mx1|mx2).example.test" {
		t.Fatalf("site_name %q", got)
	}

	for _, cmd := range []string{"script", "validate"} {
		code, _, errs = runCLI(cmd, "--resolver", "127.0.0.1", p)
		if code != exitUsage || !strings.Contains(errs, `invalid value "127.0.0.1" for flag -resolver: name server `+"`127.0.0.1`"+`: expected IP:PORT`) {
			t.Errorf("%s: exit %d: %q", cmd, code, errs)
		}
	}
}
