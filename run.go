package kumopolicy

import (
	"context"
	"errors"
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/kumod"
)

// RunMain runs the policy as kumod --script does: building one state runs
// the policy's top level (once), then its `main` handler, if it registered
// one, fires in that same state with args as separate string arguments. No
// main handler is success, as in kumod.
func (h *Host) RunMain(ctx context.Context, args ...string) error {
	mainArgs := make([]lua.LValue, len(args))
	for i, a := range args {
		mainArgs[i] = lua.LString(a)
	}
	return h.Call(ctx, func(s *luart.State) error {
		_, _, err := s.Fire(ctx, "main", mainArgs...)
		return err
	})
}

// ValidationEvents are the events Validate fires, in order, as kumod
// --validate does.
var ValidationEvents = []string{"pre_init", "init", "validate_config"}

// Validation is what Validate found.
type Validation struct {
	// Handlers counts the handlers of each of ValidationEvents.
	Handlers []int
	// Failed is true when a validate_config handler called
	// kumo.validation_failed().
	Failed bool
	// Configured lists the kumod setup calls the policy made, in call
	// order (kumopolicy records them and performs none of them).
	Configured []kumod.Record
}

// Validate checks the policy the way kumod --validate does: in one state,
// it fires ValidationEvents in order. The host must be built with
// Config.Validating, which makes _VALIDATING_CONFIG true and spawn_task do
// nothing. An error names the event whose handler failed; a policy that
// called kumo.validation_failed() is reported in Validation.Failed.
func (h *Host) Validate(ctx context.Context) (*Validation, error) {
	if !h.Validating() {
		return nil, errors.New("kumopolicy: Validate needs a host built with Config.Validating")
	}
	v := &Validation{Handlers: make([]int, len(ValidationEvents))}
	err := h.Call(ctx, func(s *luart.State) error {
		for i, ev := range ValidationEvents {
			v.Handlers[i] = s.HandlerCount(ev)
			if _, _, err := s.Fire(ctx, ev); err != nil {
				return fmt.Errorf("%s: %w", ev, err)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	v.Failed = h.ValidationFailed()
	v.Configured = h.services.Recorder.Records()
	return v, nil
}
