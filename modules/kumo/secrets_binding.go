package kumo

import (
	"fmt"
	"os"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// kumo.secrets.load(KEYSOURCE) returns the bytes a key source names (see
// egress.KeySource): a file (read through kumopolicy.Config's ShareDir and
// EtcDir mapping), inline key_data, or the string an event handler of this
// state returns. Vault sources raise a clear "not supported" error: a
// policy host has no Vault to ask.

// openSecrets installs kumo.secrets.load.
func (svc *Services) openSecrets(s *luart.State, mod *lua.LTable) {
	L := s.L
	mapPath := svc.Paths.Local
	t := subTable(L, mod, "secrets")
	t.RawSetString("load", L.NewFunction(func(L *lua.LState) int {
		data, err := luart.ToGo(L.Get(1))
		if err != nil {
			raise(L, fmt.Errorf("kumo.secrets.load: %v", err))
		}
		ks, err := egress.DecodeKeySource(data)
		if err != nil {
			raise(L, fmt.Errorf("kumo.secrets.load: %v", err))
		}
		b, err := loadKeySource(luart.StateOf(L), ks, mapPath)
		if err != nil {
			raise(L, err)
		}
		L.Push(lua.LString(b))
		return 1
	}))
}

// loadKeySource returns the bytes of ks, running an event source in s.
func loadKeySource(s *luart.State, ks *egress.KeySource, mapPath func(string) string) (string, error) {
	switch ks.Kind {
	case egress.KeyData:
		return ks.Data, nil
	case egress.KeyFile:
		file := ks.Path
		if mapPath != nil {
			file = mapPath(file)
		}
		b, err := os.ReadFile(file)
		if err != nil {
			return "", fmt.Errorf("KeySource failed to load data from file `%s`: %s", file, plain.IOErrorText(err))
		}
		return string(b), nil
	case egress.KeyEvent:
		L := s.L
		args := make([]lua.LValue, len(ks.EventArgs))
		for i, a := range ks.EventArgs {
			args[i] = luart.ToLua(L, a)
		}
		out, handled, err := s.Fire(s.Context(), ks.EventName, args...)
		if err != nil {
			return "", fmt.Errorf("KeySource event %s: %w", ks.EventName, err)
		}
		if !handled || len(out) == 0 {
			return "", fmt.Errorf("KeySource event %s: no handler is registered for it (kumo.on('%s', ...)) or it returned nothing", ks.EventName, ks.EventName)
		}
		str, ok := out[0].(lua.LString)
		if !ok {
			return "", fmt.Errorf("KeySource event %s: the handler returned %s, expected a string", ks.EventName, luart.Describe(out[0]))
		}
		return string(str), nil
	default:
		return "", fmt.Errorf("KeySource from Vault (vault_mount %q, vault_path %q) is not supported by kumopolicy: it has no Vault to ask; use a file or key_data", ks.VaultMount, ks.VaultPath)
	}
}
