package kumopolicy

import (
	"context"
	"fmt"

	"github.com/kumopolicy/kumopolicy/luart"
)

// InitEvents are the events Init fires, in order, as kumod does at
// startup.
var InitEvents = []string{"pre_init", "init"}

// Init fires the policy's pre_init and init handlers once, in one state,
// as kumod does before it serves anything. What they configure for the
// whole process holds afterwards: the DNS resolver above all, so that a
// policy's kumo.dns.configure_test_resolver (or configure_resolver) in
// init applies to the MX lookups of Resolve and SiteOf, as it would in
// kumod. An error names the event whose handler failed.
func (h *Host) Init(ctx context.Context) error {
	return h.Call(ctx, func(s *luart.State) error {
		for _, ev := range InitEvents {
			if _, _, err := s.Fire(ctx, ev); err != nil {
				return fmt.Errorf("%s: %w", ev, err)
			}
		}
		return nil
	})
}
