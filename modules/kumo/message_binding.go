package kumo

import (
	"crypto"
	"crypto/sha256"
	"fmt"
	"strings"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/dkim"
	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
	"github.com/kumopolicy/kumopolicy/modules/kumo/loghook"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// kumo.make_message builds the Message userdata the log hooks use
// (loghook.Message) from an envelope and a body; the header methods below
// work on any Message. kumo.dkim.rsa_sha256_signer / ed25519_signer make
// Signer objects (modules/kumo/dkim) that msg:dkim_sign prepends a
// DKIM-Signature with. Key files follow kumopolicy.Config's ShareDir/EtcDir
// mapping, as kumo.secrets.load's do.

// openMessage installs kumo.make_message and kumo.dkim's signers.
func (svc *Services) openMessage(s *luart.State, mod *lua.LTable) {
	L := s.L
	mapPath := svc.Shaping.MapPath
	mod.RawSetString("make_message", L.NewFunction(makeMessage))
	t := subTable(L, mod, "dkim")
	t.RawSetString("rsa_sha256_signer", L.NewFunction(newSigner("rsa_sha256_signer", dkim.RSASHA256, mapPath, svc.DKIMKeys)))
	t.RawSetString("ed25519_signer", L.NewFunction(newSigner("ed25519_signer", dkim.Ed25519, mapPath, svc.DKIMKeys)))
}

func makeMessage(L *lua.LState) int {
	sender := L.CheckString(1)
	var rcpts []string
	switch v := L.Get(2).(type) {
	case lua.LString:
		rcpts = []string{string(v)}
	case *lua.LTable:
		g, err := luart.ToGo(v)
		if err == nil {
			rcpts, err = plain.DecodeStringList(g)
		}
		if err != nil {
			raise(L, fmt.Errorf("kumo.make_message: recipient: %v", err))
		}
	default:
		raise(L, fmt.Errorf("kumo.make_message: recipient: expected a string or a list of strings, got %s", luart.Describe(v)))
	}
	body := L.CheckString(3)
	L.Push(NewMessageUserData(L, loghook.MakeMessage(sender, rcpts, []byte(body))))
	return 1
}

const signerMetaKey = "kumopolicy.kumo.dkim.Signer"

// loadSigningKey returns the parsed key of p's KeySource: from keys when
// a file or key_data source loaded it within p's ttl (an event source is
// asked each time).
func loadSigningKey(s *luart.State, alg dkim.Algorithm, p *dkim.Params, mapPath func(string) string, keys *dkim.KeyCache) (crypto.Signer, error) {
	load := func() (crypto.Signer, error) {
		data, err := loadKeySource(s, p.Key, mapPath)
		if err != nil {
			return nil, err
		}
		source := "key_data"
		switch p.Key.Kind {
		case egress.KeyFile:
			source = p.Key.Path
		case egress.KeyEvent:
			source = "from event " + p.Key.EventName
		}
		return dkim.ParseKey(alg, []byte(data), source)
	}
	var id string
	switch p.Key.Kind {
	case egress.KeyFile:
		id = alg.String() + "\x00file\x00" + p.Key.Path
	case egress.KeyData:
		sum := sha256.Sum256([]byte(p.Key.Data))
		id = alg.String() + "\x00data\x00" + string(sum[:])
	default:
		return load()
	}
	return keys.Get(id, p.TTL, load)
}

func newSigner(fname string, alg dkim.Algorithm, mapPath func(string) string, keys *dkim.KeyCache) lua.LGFunction {
	return func(L *lua.LState) int {
		fail := func(err error) { raise(L, fmt.Errorf("kumo.dkim.%s: %v", fname, err)) }
		v, err := luart.ToGo(L.Get(1))
		if err != nil {
			fail(err)
		}
		p, err := dkim.DecodeParams(v)
		if err != nil {
			fail(err)
		}
		key, err := loadSigningKey(luart.StateOf(L), alg, p, mapPath, keys)
		if err != nil {
			fail(err)
		}
		ud := L.NewUserData()
		ud.Value = dkim.NewSigner(p, alg, key)
		mt, ok := L.G.Registry.RawGetString(signerMetaKey).(*lua.LTable)
		if !ok {
			mt = L.NewTable()
			mt.RawSetString("__name", lua.LString("Signer"))
			mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
				s, _ := L.CheckUserData(1).Value.(*dkim.Signer)
				L.Push(lua.LString(fmt.Sprintf("Signer %s %s/%s", s.Alg, s.Params.Domain, s.Params.Selector)))
				return 1
			}))
			L.G.Registry.RawSetString(signerMetaKey, mt)
		}
		L.SetMetatable(ud, mt)
		L.Push(ud)
		return 1
	}
}

// headerMessageMethods are the Message methods over its envelope and its
// header block.
var headerMessageMethods = map[string]lua.LGFunction{
	"dkim_sign": func(L *lua.LState) int {
		m := checkMessage(L)
		ud, ok := L.Get(2).(*lua.LUserData)
		var s *dkim.Signer
		if ok {
			s, _ = ud.Value.(*dkim.Signer)
		}
		if s == nil {
			raise(L, fmt.Errorf("message:dkim_sign: expected a Signer (kumo.dkim.rsa_sha256_signer or ed25519_signer), got %s", luart.Describe(L.Get(2))))
		}
		hdr, err := s.Sign(m.Data(), time.Now())
		if err != nil {
			raise(L, fmt.Errorf("message:dkim_sign: %v", err))
		}
		m.PrependRawHeader(hdr)
		return 0
	},
	"check_fix_conformance": checkFixConformance,
	"from_header":           addressHeaderMethod("From"),
	"to_header":             addressHeaderMethod("To"),
	"get_address_header":    addressHeaderMethod(""),
	"get_first_named_header_value": func(L *lua.LState) int {
		if v, ok := checkMessage(L).FirstNamedHeader(L.CheckString(2)); ok {
			L.Push(lua.LString(v))
		} else {
			L.Push(lua.LNil)
		}
		return 1
	},
	"get_all_named_header_values": func(L *lua.LState) int {
		vs := checkMessage(L).AllNamedHeaders(L.CheckString(2))
		t := L.CreateTable(len(vs), 0)
		for i, v := range vs {
			t.RawSetInt(i+1, lua.LString(v))
		}
		L.Push(t)
		return 1
	},
	"remove_all_named_headers": func(L *lua.LState) int {
		checkMessage(L).RemoveAllNamedHeaders(L.CheckString(2))
		return 0
	},
	"prepend_header": addHeaderMethod("prepend_header", true),
	"append_header":  addHeaderMethod("append_header", false),
	"set_sender": func(L *lua.LState) int {
		m := checkMessage(L)
		m.SetSender(envelopeArg(L, "set_sender"))
		return 0
	},
	"set_recipient": func(L *lua.LState) int {
		m := checkMessage(L)
		m.SetRecipients([]string{envelopeArg(L, "set_recipient")})
		return 0
	},
}

// envelopeArg is argument 2 as an envelope address: a string or an
// EnvelopeAddress.
func envelopeArg(L *lua.LState, fname string) string {
	switch v := L.Get(2).(type) {
	case lua.LString:
		return string(v)
	case *lua.LUserData:
		if a, ok := v.Value.(string); ok {
			return a
		}
	}
	raise(L, fmt.Errorf("message:%s: expected an address string or EnvelopeAddress, got %s", fname, luart.Describe(L.Get(2))))
	return ""
}

func addHeaderMethod(fname string, prepend bool) lua.LGFunction {
	return func(L *lua.LState) int {
		m := checkMessage(L)
		if err := m.AddHeader(L.CheckString(2), L.CheckString(3), prepend); err != nil {
			raise(L, fmt.Errorf("message:%s: %v", fname, err))
		}
		return 0
	}
}

func addressHeaderMethod(name string) lua.LGFunction {
	return func(L *lua.LState) int {
		m := checkMessage(L)
		hdr := name
		if hdr == "" {
			hdr = L.CheckString(2)
		}
		addrs, ok, err := m.AddressHeader(hdr)
		if err != nil {
			raise(L, err)
		}
		if !ok {
			L.Push(lua.LNil)
			return 1
		}
		L.Push(newAddressHeader(L, addrs))
		return 1
	}
}

const addressHeaderMetaKey = "kumopolicy.kumo.AddressHeader"

// newAddressHeader is an AddressHeader: fields user, domain, email and
// name for a single address (an error otherwise), list for all of them;
// tostring is JSON.
func newAddressHeader(L *lua.LState, addrs []loghook.Address) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = addrs
	mt, ok := L.G.Registry.RawGetString(addressHeaderMetaKey).(*lua.LTable)
	if !ok {
		mt = L.NewTable()
		mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
			as, _ := L.CheckUserData(1).Value.([]loghook.Address)
			field := L.CheckString(2)
			if field == "list" {
				t := L.CreateTable(len(as), 0)
				for i, a := range as {
					t.RawSetInt(i+1, newAddressHeader(L, []loghook.Address{a}))
				}
				L.Push(t)
				return 1
			}
			switch field {
			case "user", "domain", "email", "name":
			default:
				L.Push(lua.LNil)
				return 1
			}
			if len(as) != 1 {
				raise(L, fmt.Errorf("AddressHeader.%s: the header holds %d addresses, not a single simple address; use .list", field, len(as)))
			}
			a := as[0]
			var v string
			switch field {
			case "user":
				v = a.User()
			case "domain":
				v = a.Domain()
			case "email":
				v = a.Email
			case "name":
				v = a.Name
			}
			if v == "" && (field == "name" || field == "email") {
				L.Push(lua.LNil)
			} else {
				L.Push(lua.LString(v))
			}
			return 1
		}))
		mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
			as, _ := L.CheckUserData(1).Value.([]loghook.Address)
			var b strings.Builder
			one := func(a loghook.Address) {
				b.WriteString(`{"name":`)
				if a.Name == "" {
					b.WriteString("null")
				} else {
					b.Write(plain.AppendJSONString(nil, a.Name))
				}
				b.WriteString(`,"address":`)
				b.Write(plain.AppendJSONString(nil, a.Email))
				b.WriteString("}")
			}
			if len(as) == 1 {
				one(as[0])
			} else {
				b.WriteString("[")
				for i, a := range as {
					if i > 0 {
						b.WriteString(",")
					}
					one(a)
				}
				b.WriteString("]")
			}
			L.Push(lua.LString(b.String()))
			return 1
		}))
		mt.RawSetString("__name", lua.LString("AddressHeader"))
		L.G.Registry.RawSetString(addressHeaderMetaKey, mt)
	}
	L.SetMetatable(ud, mt)
	return ud
}

// checkFixConformance is message:check_fix_conformance(CHECKS, FIXES):
// the failure text, or nil after applying the fixes (see
// loghook.Message.CheckFixConformance).
func checkFixConformance(L *lua.LState) int {
	m := checkMessage(L)
	fail := func(err error) { raise(L, fmt.Errorf("message:check_fix_conformance: %v", err)) }
	checks, err := loghook.ParseConformanceSet(L.OptString(2, ""))
	if err != nil {
		fail(err)
	}
	fixes, err := loghook.ParseConformanceSet(L.OptString(3, ""))
	if err != nil {
		fail(err)
	}
	failed, err := m.CheckFixConformance(checks, fixes, time.Now())
	if err != nil {
		fail(err)
	}
	if failed == "" {
		L.Push(lua.LNil)
	} else {
		L.Push(lua.LString(failed))
	}
	return 1
}
