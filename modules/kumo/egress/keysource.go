package egress

import "github.com/kumopolicy/kumopolicy/modules/kumo/plain"

import "strings"

// KeySource says where a secret (a TLS key or certificate, a password)
// comes from. KumoMTA accepts four untagged forms, tried in this order:
//
//	"/path/to/file"                                  a file
//	{key_data = "..."}                               inline data
//	{vault_mount = "...", vault_path = "...",        a HashiCorp Vault secret
//	 vault_address = "...", vault_token = "...",     (address and token are
//	 vault_key = "key"}                               optional; key defaults to "key")
//	{event_name = "...", event_args = {...}}         the result of a Lua event
//
// As in KumoMTA, keys that belong to none of the fields of the matching
// form are ignored.
type KeySource struct {
	Kind KeySourceKind

	Path string // KeyFile

	Data string // KeyData: the bytes

	VaultAddress *string // KeyVault
	VaultToken   *string
	VaultMount   string
	VaultPath    string
	VaultKey     string

	EventName string // KeyEvent
	EventArgs []any  // plain data
}

// KeySourceKind is the form of a KeySource.
type KeySourceKind int

// The KeySource forms.
const (
	KeyFile KeySourceKind = iota
	KeyData
	KeyVault
	KeyEvent
)

// keySourceForms describes the accepted forms in error messages.
const keySourceForms = `expected a file path string, {key_data=...}, {vault_mount=..., vault_path=...} or {event_name=..., event_args={...}}`

// DecodeKeySource converts plain data to a KeySource.
func DecodeKeySource(v any) (*KeySource, error) {
	switch x := v.(type) {
	case string:
		return &KeySource{Kind: KeyFile, Path: x}, nil
	case map[string]any:
		var firstErr error
		note := func(err error) {
			if firstErr == nil {
				firstErr = err
			}
		}
		if raw, ok := x["key_data"]; ok {
			data, err := decodeBytes(raw)
			if err == nil {
				return &KeySource{Kind: KeyData, Data: data}, nil
			}
			note(plain.AtField(err, "key_data"))
		}
		if ks, err := decodeVault(x); err == nil {
			return ks, nil
		} else if _, has := x["vault_mount"]; has {
			note(err)
		} else if _, has := x["vault_path"]; has {
			note(err)
		}
		if ks, err := decodeEvent(x); err == nil {
			return ks, nil
		} else if _, has := x["event_name"]; has {
			note(err)
		}
		if firstErr != nil {
			return nil, plain.UntaggedMismatch("KeySource", firstErr.Error())
		}
	}
	return nil, plain.UntaggedMismatch("KeySource", keySourceForms)
}

// decodeBytes accepts a string, or a sequence of byte values.
func decodeBytes(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case []any:
		var b strings.Builder
		for i, e := range x {
			n, err := plain.DecodeUint(e, 8)
			if err != nil {
				return "", plain.AtIndex(err, i+1)
			}
			b.WriteByte(byte(n))
		}
		return b.String(), nil
	}
	return "", plain.InvalidType(v, "byte array")
}

func decodeVault(m map[string]any) (*KeySource, error) {
	ks := &KeySource{Kind: KeyVault, VaultKey: "key"}
	obj := plain.NewObject(m)
	str := func(dst *string) func(any) error {
		return func(v any) (err error) { *dst, err = plain.DecodeString(v); return }
	}
	optStr := func(dst **string) func(any) error {
		return func(v any) error {
			s, err := plain.DecodeString(v)
			*dst = &s
			return err
		}
	}
	for _, step := range []error{
		obj.Optional("vault_address", optStr(&ks.VaultAddress)),
		obj.Optional("vault_token", optStr(&ks.VaultToken)),
		obj.Required("vault_mount", str(&ks.VaultMount)),
		obj.Required("vault_path", str(&ks.VaultPath)),
		obj.Optional("vault_key", str(&ks.VaultKey)),
	} {
		if step != nil {
			return nil, step
		}
	}
	return ks, nil
}

func decodeEvent(m map[string]any) (*KeySource, error) {
	ks := &KeySource{Kind: KeyEvent}
	obj := plain.NewObject(m)
	if err := obj.Required("event_name", func(v any) (err error) { ks.EventName, err = plain.DecodeString(v); return }); err != nil {
		return nil, err
	}
	if err := obj.Required("event_args", func(v any) (err error) {
		args, err := plain.AsSequence(v)
		ks.EventArgs = append([]any{}, args...)
		return err
	}); err != nil {
		return nil, err
	}
	return ks, nil
}

// Serialize returns the serialized form: the path string for a file, a map
// for the other forms.
func (k *KeySource) Serialize() any {
	switch k.Kind {
	case KeyFile:
		return k.Path
	case KeyData:
		m := plain.NewMap(1)
		m.Set("key_data", k.Data)
		return m
	case KeyVault:
		m := plain.NewMap(5)
		m.Set("vault_address", plain.OptString(k.VaultAddress))
		m.Set("vault_token", plain.OptString(k.VaultToken))
		m.Set("vault_mount", k.VaultMount)
		m.Set("vault_path", k.VaultPath)
		m.Set("vault_key", k.VaultKey)
		return m
	default:
		m := plain.NewMap(2)
		m.Set("event_name", k.EventName)
		m.Set("event_args", append([]any{}, k.EventArgs...))
		return m
	}
}
