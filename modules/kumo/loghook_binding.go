package kumo

import (
	"context"
	"errors"
	"fmt"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
	"github.com/kumopolicy/kumopolicy/modules/kumo/kumod"
	"github.com/kumopolicy/kumopolicy/modules/kumo/loghook"
)

// Log hooks: kumo.configure_log_hook is decoded strictly and recorded (as
// every kumod setup call is) and, outside validate mode, registers the hook
// with the runtime's pipeline (Services.LogHooks). The pipeline fires
// should_enqueue_log_record on a pooled state with a Message userdata,
// get_queue_config for each new queue, and runs each delivery session of a
// custom_lua queue in a dedicated state: the constructor event returns the
// connection table, conn:send(msg) delivers.

// openLogHook installs kumo.configure_log_hook over the recording-only one.
func (svc *Services) openLogHook(s *luart.State, mod *lua.LTable) {
	mod.RawSetString("configure_log_hook", s.L.NewFunction(func(L *lua.LState) int {
		v, err := luart.ToGo(L.Get(1))
		if err != nil {
			raise(L, fmt.Errorf("kumo.configure_log_hook: %w", err))
		}
		svc.configureLogHook(L, v)
		return 0
	}))
}

// configureLogHook is kumo.configure_log_hook(v) on plain data: decoded
// strictly, recorded, and registered with the pipeline outside validate
// mode. Errors are raised in L.
func (svc *Services) configureLogHook(L *lua.LState, v any) {
	cfg, err := kumod.DecodeLogHook(v)
	if err != nil {
		raise(L, err)
	}
	record(L, svc.Recorder, "configure_log_hook", cfg)
	if svc.LogHooks != nil && !luart.StateOf(L).Runtime().Validating() {
		if err := svc.LogHooks.AddHook(cfg); err != nil {
			raise(L, fmt.Errorf("kumo.configure_log_hook: %w", err))
		}
	}
}

// LogHookPolicy returns the loghook.Policy that answers with rt's events,
// for a pipeline given to Install as Services.LogHooks.
func LogHookPolicy(rt *luart.Runtime) loghook.Policy { return &luaLogPolicy{rt: rt} }

type luaLogPolicy struct{ rt *luart.Runtime }

func (p *luaLogPolicy) ShouldEnqueue(ctx context.Context, msg *loghook.Message, hook string) (bool, error) {
	var ok bool
	err := p.rt.Call(ctx, func(s *luart.State) error {
		out, handled, err := s.Fire(ctx, "should_enqueue_log_record", NewMessageUserData(s.L, msg), lua.LString(hook))
		if err != nil || !handled || len(out) == 0 {
			return err
		}
		switch v := out[0].(type) {
		case lua.LBool:
			ok = bool(v)
		case *lua.LNilType:
		default:
			return fmt.Errorf("should_enqueue_log_record: invalid type: %s, expected a boolean", luart.Describe(v))
		}
		return nil
	})
	return ok, err
}

func optString(s string) lua.LValue {
	if s == "" {
		return lua.LNil
	}
	return lua.LString(s)
}

func (p *luaLogPolicy) QueueConfig(ctx context.Context, q loghook.QueueName) (*egress.QueueConfig, error) {
	var cfg *egress.QueueConfig
	err := p.rt.Call(ctx, func(s *luart.State) error {
		out, handled, err := s.Fire(ctx, "get_queue_config", lua.LString(q.Domain), optString(q.Tenant), optString(q.Campaign), optString(q.RoutingDomain))
		if err != nil || !handled || len(out) == 0 {
			return err
		}
		c, ok := QueueConfigFromLua(out[0])
		if !ok {
			return fmt.Errorf("invalid type: %s, expected a QueueConfig from kumo.make_queue_config", luart.Describe(out[0]))
		}
		cfg = c
		return nil
	})
	return cfg, err
}

// Connect builds a dedicated state (it runs the policy, as every state
// does) and fires the constructor event in it.
func (p *luaLogPolicy) Connect(ctx context.Context, q loghook.QueueName, proto egress.LuaDeliveryProtocol) (loghook.Session, error) {
	s, err := p.rt.NewStandaloneState()
	if err != nil {
		return nil, err
	}
	out, handled, err := s.Fire(ctx, proto.Constructor, lua.LString(q.Domain), optString(q.Tenant), optString(q.Campaign))
	if err == nil && !handled {
		err = &luart.NoHandlerError{Event: proto.Constructor}
	}
	if err != nil {
		s.Close()
		return nil, err
	}
	var first lua.LValue = lua.LNil
	if len(out) > 0 {
		first = out[0]
	}
	conn, ok := first.(*lua.LTable)
	if ok {
		_, ok = s.L.GetField(conn, "send").(*lua.LFunction)
	}
	if !ok {
		s.Close()
		return nil, fmt.Errorf("constructor event '%s' returned %s, expected a connection table with a send method", proto.Constructor, luart.Describe(first))
	}
	return &luaSession{s: s, conn: conn}, nil
}

type luaSession struct {
	s    *luart.State
	conn *lua.LTable
}

// call calls conn:<method>(args...) in protected mode under ctx.
func (ls *luaSession) call(ctx context.Context, method string, args ...lua.LValue) (lua.LValue, error) {
	L := ls.s.L
	fn, ok := L.GetField(ls.conn, method).(*lua.LFunction)
	if !ok {
		return lua.LNil, nil
	}
	if ctx != nil && ctx.Done() != nil {
		L.SetContext(ctx)
		defer L.RemoveContext()
	}
	err := L.CallByParam(lua.P{Fn: fn, NRet: 1, Protect: true}, append([]lua.LValue{ls.conn}, args...)...)
	if err != nil {
		return nil, err
	}
	v := L.Get(-1)
	L.Pop(1)
	return v, nil
}

func (ls *luaSession) Send(ctx context.Context, msg *loghook.Message) (string, error) {
	v, err := ls.call(ctx, "send", NewMessageUserData(ls.s.L, msg))
	if err != nil {
		if re, ok := rejectOf(err); ok {
			return "", &loghook.Rejection{Code: re.Code, Text: re.Message}
		}
		return "", errors.New(luaErrorText(err))
	}
	switch v.(type) {
	case lua.LString, lua.LNumber:
		return luart.ToString(ls.s.L, v), nil
	}
	return "", fmt.Errorf("send returned %s, expected a string disposition", luart.Describe(v))
}

func (ls *luaSession) Close() {
	if _, err := ls.call(nil, "close"); err != nil {
		ls.s.Runtime().Logger().Warn("log hook connection close: " + luaErrorText(err))
	}
	ls.s.Close()
}

// rejectOf finds the kumo.reject error a protected call raised.
func rejectOf(err error) (*RejectError, bool) {
	var api *lua.ApiError
	if errors.As(err, &api) {
		if ud, ok := api.Object.(*lua.LUserData); ok {
			if re, ok := ud.Value.(*RejectError); ok {
				return re, true
			}
		}
	}
	return AsReject(err)
}

func luaErrorText(err error) string {
	var api *lua.ApiError
	if errors.As(err, &api) && api.Object != nil {
		if ud, ok := api.Object.(*lua.LUserData); ok {
			if e, ok := ud.Value.(error); ok {
				return e.Error()
			}
		}
		return api.Object.String()
	}
	return err.Error()
}

const messageMetaKey = "kumopolicy.kumo.Message"

// messageMethods are the Message methods a log-hook message has.
var messageMethods = map[string]lua.LGFunction{
	"id": func(L *lua.LState) int {
		L.Push(lua.LString(checkMessage(L).ID()))
		return 1
	},
	"get_meta": func(L *lua.LState) int {
		m := checkMessage(L)
		v, ok := m.Meta(L.CheckString(2))
		if !ok {
			L.Push(lua.LNil)
		} else {
			L.Push(luart.ToLua(L, v))
		}
		return 1
	},
	"set_meta": func(L *lua.LState) int {
		m := checkMessage(L)
		key := L.CheckString(2)
		v, err := luart.ToGo(L.Get(3))
		if err == nil {
			err = m.SetMeta(key, v)
		}
		if err != nil {
			raise(L, fmt.Errorf("message:set_meta: %w", err))
		}
		return 0
	},
	"get_data": func(L *lua.LState) int {
		L.Push(lua.LString(checkMessage(L).Data()))
		return 1
	},
	"set_data": func(L *lua.LState) int {
		checkMessage(L).SetData([]byte(L.CheckString(2)))
		return 0
	},
	"sender": func(L *lua.LState) int {
		L.Push(newAddress(L, checkMessage(L).Sender()))
		return 1
	},
	"recipient": func(L *lua.LState) int {
		rs := checkMessage(L).Recipients()
		if len(rs) == 1 {
			L.Push(newAddress(L, rs[0]))
		} else {
			L.Push(addressList(L, rs))
		}
		return 1
	},
	"recipient_list": func(L *lua.LState) int {
		L.Push(addressList(L, checkMessage(L).Recipients()))
		return 1
	},
	"num_attempts": func(L *lua.LState) int {
		L.Push(lua.LNumber(checkMessage(L).NumAttempts()))
		return 1
	},
}

// unsupportedMessageMethods are KumoMTA's other Message methods: kumopolicy
// has no MIME tree to work on, and nothing is spooled or rescheduled from
// Lua. (The header methods are headerMessageMethods.)
var unsupportedMessageMethods = []string{
	"add_authentication_results", "append_text_html", "append_text_plain",
	"arc_seal", "arc_verify", "dkim_verify",
	"get_all_headers", "import_headers", "import_scheduling_header",
	"import_x_headers", "increment_num_attempts", "parse_mime", "parse_rfc3464",
	"queue_name", "remove_x_headers", "save",
	"set_due", "set_force_sync", "set_scheduling", "shrink",
	"shrink_data",
}

// NewMessageUserData returns the Message userdata for msg.
func NewMessageUserData(L *lua.LState, msg *loghook.Message) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = msg
	L.SetMetatable(ud, messageMetatable(L))
	return ud
}

func messageMetatable(L *lua.LState) lua.LValue {
	if mt, ok := L.G.Registry.RawGetString(messageMetaKey).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	methods := L.NewTable()
	for _, set := range []map[string]lua.LGFunction{messageMethods, headerMessageMethods} {
		for name, fn := range set {
			methods.RawSetString(name, L.NewFunction(fn))
		}
	}
	for _, name := range unsupportedMessageMethods {
		methods.RawSetString(name, L.NewFunction(func(L *lua.LState) int {
			raise(L, fmt.Errorf("message:%s is not supported by kumopolicy (it has no MIME tree, and messages are not spooled)", name))
			return 0
		}))
	}
	mt.RawSetString("__index", methods)
	mt.RawSetString("__name", lua.LString("Message"))
	mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
		L.Push(lua.LString("Message " + checkMessage(L).ID()))
		return 1
	}))
	L.G.Registry.RawSetString(messageMetaKey, mt)
	return mt
}

func checkMessage(L *lua.LState) *loghook.Message {
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		if m, ok := ud.Value.(*loghook.Message); ok {
			return m
		}
	}
	raise(L, fmt.Errorf("expected a Message as self (call it as msg:method(...)), got %s", luart.Describe(L.Get(1))))
	return nil
}

const addressMetaKey = "kumopolicy.kumo.EnvelopeAddress"

// newAddress is an EnvelopeAddress: fields user, domain, email; tostring
// is the address.
func newAddress(L *lua.LState, addr string) *lua.LUserData {
	ud := L.NewUserData()
	ud.Value = addr
	mt, ok := L.G.Registry.RawGetString(addressMetaKey).(*lua.LTable)
	if !ok {
		mt = L.NewTable()
		mt.RawSetString("__index", L.NewFunction(func(L *lua.LState) int {
			a, _ := L.CheckUserData(1).Value.(string)
			user, domain := a, ""
			if at := strings.LastIndexByte(a, '@'); at >= 0 {
				user, domain = a[:at], a[at+1:]
			}
			switch L.CheckString(2) {
			case "user":
				L.Push(lua.LString(user))
			case "domain":
				L.Push(lua.LString(domain))
			case "email":
				L.Push(lua.LString(a))
			default:
				L.Push(lua.LNil)
			}
			return 1
		}))
		mt.RawSetString("__tostring", L.NewFunction(func(L *lua.LState) int {
			a, _ := L.CheckUserData(1).Value.(string)
			L.Push(lua.LString(a))
			return 1
		}))
		mt.RawSetString("__name", lua.LString("EnvelopeAddress"))
		L.G.Registry.RawSetString(addressMetaKey, mt)
	}
	L.SetMetatable(ud, mt)
	return ud
}

func addressList(L *lua.LState, addrs []string) *lua.LTable {
	t := L.CreateTable(len(addrs), 0)
	for i, a := range addrs {
		t.RawSetInt(i+1, newAddress(L, a))
	}
	return t
}
