package kumod

import "github.com/kumopolicy/kumopolicy/modules/kumo/plain"

// SpawnTask is kumo.spawn_task's parameter table: the event whose handler
// runs in a new task, and the arguments it is called with. The call is
// made anywhere in a policy, not only at setup, and it is not recorded;
// its schema lives here with KumoMTA's other call schemas.
type SpawnTask struct {
	EventName string
	Args      []any
}

var spawnTaskFields = []string{"event_name", "args"}

// DecodeSpawnTask decodes kumo.spawn_task's parameters strictly: both
// fields are required, args is a sequence (an empty table is an empty
// one). Errors are *plain.Error values with the field's path.
func DecodeSpawnTask(v any) (SpawnTask, error) {
	var t SpawnTask
	m, err := plain.AsMap(v, "a table of parameters")
	if err != nil {
		return t, err
	}
	o := plain.NewObject(m)
	if err := o.Unknown(spawnTaskFields); err != nil {
		return t, err
	}
	if err := o.Required("event_name", func(v any) (err error) {
		t.EventName, err = plain.DecodeString(v)
		return err
	}); err != nil {
		return t, err
	}
	err = o.Required("args", func(v any) (err error) {
		t.Args, err = plain.AsSequence(v)
		return err
	})
	if err == nil && t.Args == nil {
		t.Args = []any{}
	}
	return t, err
}
