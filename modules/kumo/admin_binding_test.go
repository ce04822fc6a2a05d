package kumo_test

import (
	"context"
	"strings"
	"testing"

	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/admin"
)

func TestAdminBindingSharesRegistry(t *testing.T) {
	rt, svc := newRuntimeWith(t, `
local kumo = require 'kumo'
kumo.on('create', function()
  local a = kumo.api.admin.suspend_ready_q.suspend{name='unspecified->localhost@smtp_client', reason='r1', duration='1h', extra='ignored'}
  local b = kumo.api.admin.suspend_ready_q.suspend{name='unspecified->localhost@smtp_client', reason='r2'}
  assert(a ~= b, 'a new id on replace')
  local s = kumo.api.admin.suspend.suspend{domain='example.com', reason='s'}
  local x = kumo.api.admin.bounce.bounce{tenant='t', reason='b', suppress_logging=true}
  return b, s, x
end)
kumo.on('list', function()
  local l = kumo.api.admin.suspend_ready_q.list()
  local s = kumo.api.admin.suspend.list()
  local b = kumo.api.admin.bounce.list()
  return #l, l[1].reason, l[1].duration, s[1].domain, s[1].tenant == nil, b[1].tenant, b[1].total_bounced
end)
kumo.on('delete', function(id) return kumo.api.admin.bounce.delete(id), kumo.api.admin.bounce.delete(id) end)
kumo.on('bad_bounce', function() return kumo.api.admin.bounce.bounce{reason='x', nope=1} end)
`, kumo.Services{})
	ctx := context.Background()
	out, _, err := rt.Fire(ctx, "create")
	if err != nil {
		t.Fatal(err)
	}
	if es, _ := svc.Admin.ReadyQSuspensions(); len(es) != 1 || es[0].ID != out[0] || es[0].Reason != "r2" {
		t.Fatalf("Go side sees %+v, Lua returned %v", es, out)
	}
	svc.Admin.SuspendReadyQ(admin.ReadyQRequest{Name: "other", Reason: "from Go"})
	l, _, err := rt.Fire(ctx, "list")
	if err != nil {
		t.Fatal(err)
	}
	if l[0] != int64(2) || l[1] != "r2" || !strings.HasPrefix(l[2].(string), "4m 59s") || l[3] != "example.com" || l[4] != true || l[5] != "t" || l[6] != int64(0) {
		t.Fatalf("list: %#v", l)
	}
	d, _, err := rt.Fire(ctx, "delete", out[2])
	if err != nil || d[0] != true || d[1] != false {
		t.Fatalf("delete: %v %v", d, err)
	}
	_, _, err = rt.Fire(ctx, "bad_bounce")
	if err == nil || !strings.Contains(err.Error(), "kumo.api.admin.bounce.bounce: unknown field `nope`") {
		t.Fatalf("bounce with an unknown key: %v", err)
	}
}
