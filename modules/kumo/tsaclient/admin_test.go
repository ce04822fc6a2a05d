package tsaclient

import (
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/admin"
)

func TestAdminApplierReplacesByKey(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	reg := admin.New(admin.WithClock(func() time.Time { return now }))
	a := AdminApplier{Registry: reg}
	tenant := "t1"
	exp := now.Add(time.Hour)
	for i, reason := range []string{"first (rule_hash=a)", "again (rule_hash=a)"} {
		if err := a.SuspendReadyQ(ReadyQSuspension{Name: "src->mx", Reason: reason, Expires: exp.Add(time.Duration(i) * time.Minute)}); err != nil {
			t.Fatal(err)
		}
		if err := a.Suspend(SchedQSuspension{Tenant: &tenant, Domain: "example.com", Reason: reason, Expires: exp}); err != nil {
			t.Fatal(err)
		}
		if err := a.Bounce(SchedQBounce{Domain: "example.com", Reason: reason, Expires: exp}); err != nil {
			t.Fatal(err)
		}
	}
	rq, _ := reg.ReadyQSuspensions()
	if len(rq) != 1 || rq[0].Name != "src->mx" || rq[0].Reason != "again (rule_hash=a)" || !rq[0].Expires.Equal(exp.Add(time.Minute)) {
		t.Fatalf("ready-q: %+v", rq)
	}
	ss, _ := reg.Suspensions()
	if len(ss) != 1 || ss[0].Domain == nil || *ss[0].Domain != "example.com" || ss[0].Tenant == nil || *ss[0].Tenant != "t1" ||
		ss[0].Campaign != nil || ss[0].Reason != "again (rule_hash=a)" || !ss[0].Expires.Equal(exp) {
		t.Fatalf("suspensions: %+v", ss)
	}
	bs, _ := reg.Bounces()
	if len(bs) != 1 || bs[0].Domain == nil || *bs[0].Domain != "example.com" || bs[0].Tenant != nil || bs[0].Reason != "again (rule_hash=a)" {
		t.Fatalf("bounces: %+v", bs)
	}
}
