package kumo

import (
	"context"
	"errors"
	"fmt"
	"time"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
	"github.com/kumopolicy/kumopolicy/modules/kumo/loghook"
	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
	"github.com/kumopolicy/kumopolicy/modules/kumo/memoize"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
	"github.com/kumopolicy/kumopolicy/modules/kumo/tsaclient"
)

// kumo.shaping._automation(opts) is kumopolicy-internal: the native half
// of our policy-extras/shaping.lua's setup_with_automation. It is not part
// of KumoMTA's API and policies should not call it; its interface follows
// the helper's needs. It takes setup_with_automation's options (KumoMTA's
// names and defaults, decoded strictly by tsaclient.DecodeOptions) plus
// kumopolicy's AutomationExtensions, and returns an Automation userdata:
//
//	auto:load()                      the shaping data (memoized, see below)
//	auto:files()                     the shaping files, in load order
//	auto:constructors()              the publish hooks' constructor event names
//	auto:should_enqueue_log_record(msg, hook)  nil for a hook it does not own, else the decision
//	auto:queue_config(domain)        the publish queue's QueueConfig, or nil
//	auto:connect(domain)             a connection table whose send(msg) posts to the daemon
//	auto:setup_publish()             configures the log hooks, starts subscribers and the config monitor
//
// The shaping data is loaded natively through the memoize cache
// "shaping_data" (capacity 16, the config epoch, cache_ttl and the
// populate options), one entry per file list and load options: every
// state, the record filter and the config monitor read the same cached
// object.

// AutomationBundledData is the bundled shaping file the helper loads
// first unless no_default_files.
const AutomationBundledData = "/opt/kumomta/share/policy-extras/shaping.toml"

// AutomationExtensions are the option keys kumo.shaping._automation
// accepts besides KumoMTA's (its helper ignores unknown keys, so a policy
// may pass them to either helper): config_monitor_interval (default 30 s)
// and subscriber_retry_delay (default 30 s).
var AutomationExtensions = []string{"config_monitor_interval", "subscriber_retry_delay"}

const automationMetaKey = "kumopolicy.kumo.Automation"

// Automation is the Go value behind the userdata.
type Automation struct {
	svc             *Services
	rt              *luart.Runtime
	opts            *tsaclient.Options
	files           []string
	loadOpts        shaping.Options
	cache           memoize.Params
	key             string
	filter          *tsaclient.Filter
	hooks           map[string]tsaclient.Hook // by hook name
	monitorInterval time.Duration
	retryDelay      time.Duration
}

// NewAutomation decodes opts (plain data; nil for none).
func (svc *Services) NewAutomation(rt *luart.Runtime, v any) (*Automation, error) {
	a := &Automation{svc: svc, rt: rt, monitorInterval: tsaclient.DefaultMonitorInterval, retryDelay: tsaclient.DefaultRetryDelay}
	ext := map[string]*time.Duration{"config_monitor_interval": &a.monitorInterval, "subscriber_retry_delay": &a.retryDelay}
	take := func(key string, val any) error {
		d, err := plain.DecodeDuration(val)
		if err == nil && d <= 0 {
			err = fmt.Errorf("must be positive")
		}
		if err != nil {
			return plain.AtField(err, key)
		}
		*ext[key] = d
		return nil
	}
	switch m := v.(type) {
	case map[string]any:
		m = plain.Unordered(m, false).(map[string]any)
		for key := range ext {
			if val, ok := m[key]; ok {
				if err := take(key, val); err != nil {
					return nil, err
				}
				delete(m, key)
			}
		}
		v = m
	case *plain.Map:
		m = m.Clone()
		for key := range ext {
			if val, ok := m.Get(key); ok {
				if err := take(key, val); err != nil {
					return nil, err
				}
				m.Delete(key)
			}
		}
		v = m
	}
	opts, err := tsaclient.DecodeOptions(v)
	if err != nil {
		return nil, err
	}
	a.opts = opts
	a.files = opts.ShapingFiles(AutomationBundledData)
	a.loadOpts = shaping.DefaultOptions()
	if opts.LoadValidationOptions != nil {
		if a.loadOpts, err = shaping.DecodeOptions(opts.LoadValidationOptions); err != nil {
			return nil, plain.AtField(err, "load_validation_options")
		}
	}
	a.cache = memoize.Params{Name: "shaping_data", TTL: opts.CacheTTL, Capacity: 16, InvalidateWithEpoch: true,
		AllowStaleReads: opts.AllowStaleShapingData, RetryOnPopulateTimeout: opts.RetryShapingDataFetchOnPopulateTimeout}
	if p := opts.ShapingDataPopulateTimeout; p != nil {
		a.cache.PopulateTimeout, a.cache.PopulateTimeoutSet = *p, true
	}
	if _, err := svc.Memoize.Define(a.cache); err != nil {
		return nil, err
	}
	key, err := plain.AppendJSON(nil, []any{a.files, opts.LoadValidationOptions}, plain.JSONOptions{})
	if err != nil {
		return nil, err
	}
	a.key = string(key)
	a.hooks = map[string]tsaclient.Hook{}
	for _, h := range opts.Hooks() {
		a.hooks[h.Name] = h
	}
	a.filter = tsaclient.NewFilter(opts, tsaclient.ShapingMatcher{
		Current: func(ctx context.Context) (*shaping.Shaping, error) {
			o, err := a.Current(ctx)
			if err != nil {
				return nil, err
			}
			return o.Shaping, nil
		},
		MX: svc.Shaping.DNS,
	})
	return a, nil
}

// Options returns the decoded options.
func (a *Automation) Options() *tsaclient.Options { return a.opts }

// Current returns the shaping data through the memoize cache, loading it
// (and logging what the loader reported) on a miss.
func (a *Automation) Current(ctx context.Context) (*ShapingObject, error) {
	v, err := a.svc.Memoize.Get(ctx, a.cache.Name, a.key, func() (any, error) {
		loaded, err := shaping.Load(ctx, a.files, a.loadOpts, a.svc.Shaping)
		if err != nil {
			return nil, err
		}
		log := a.rt.Logger()
		for _, text := range loaded.Errors() {
			log.Error(text)
		}
		for _, text := range loaded.Warnings() {
			log.Warn(text)
		}
		return &ShapingObject{Shaping: loaded, DNS: a.svc.Shaping.DNS}, nil
	})
	if err != nil {
		return nil, err
	}
	o, ok := v.(*ShapingObject)
	if !ok {
		return nil, fmt.Errorf("memoize cache %q holds %T, not shaping data (another memoized function shares its name)", a.cache.Name, v)
	}
	return o, nil
}

// ShouldEnqueue is should_enqueue_log_record for hook: owned reports
// whether hook is a publish hook; when accepted the caller sets the
// message's `queue` meta to hook.
func (a *Automation) ShouldEnqueue(ctx context.Context, hook string, rec *logrecord.Record) (owned, accept bool) {
	if !a.filter.Owns(hook) {
		return false, false
	}
	return true, a.filter.Accept(ctx, hook, rec)
}

// Start starts, as the runtime's background work (luart.Runtime.Go: not
// in validate mode nor in one-shot hosts; cancelled and awaited by
// Close), one subscriber per subscribe URL applying to the admin
// registry, and the config monitor when subscribe was given.
func (a *Automation) Start() {
	log := a.rt.Logger()
	for _, u := range a.opts.Subscribe {
		sub := &tsaclient.Subscriber{URL: u, Applier: tsaclient.AdminApplier{Registry: a.svc.Admin}, RetryDelay: a.retryDelay, Logger: log}
		a.rt.Go(func(ctx context.Context) { sub.Run(ctx) })
	}
	if a.opts.SubscribeSet {
		m := &tsaclient.ConfigMonitor{
			Load: func(ctx context.Context) (string, error) {
				o, err := a.Current(ctx)
				if err != nil {
					return "", err
				}
				return o.Shaping.Hash(), nil
			},
			Bump:     func() { a.rt.BumpEpoch() },
			Interval: a.monitorInterval,
			Logger:   log,
		}
		a.rt.Go(func(ctx context.Context) { m.Run(ctx) })
	}
}

func (svc *Services) openAutomation(s *luart.State, mod *lua.LTable) {
	L := s.L
	t := subTable(L, mod, "shaping")
	t.RawSetString("_automation", L.NewFunction(func(L *lua.LState) int {
		v, err := luart.ToGo(L.Get(1))
		if err == nil {
			var a *Automation
			if a, err = svc.NewAutomation(luart.StateOf(L).Runtime(), v); err == nil {
				ud := L.NewUserData()
				ud.Value = a
				L.SetMetatable(ud, automationMetatable(L))
				L.Push(ud)
				return 1
			}
		}
		raise(L, fmt.Errorf("setup_with_automation: %w", err))
		return 0
	}))
}

func checkAutomation(L *lua.LState) *Automation {
	if ud, ok := L.Get(1).(*lua.LUserData); ok {
		if a, ok := ud.Value.(*Automation); ok {
			return a
		}
	}
	L.ArgError(1, "Automation object expected (call it as auto:method(...))")
	return nil
}

func automationMetatable(L *lua.LState) *lua.LTable {
	if mt, ok := L.G.Registry.RawGetString(automationMetaKey).(*lua.LTable); ok {
		return mt
	}
	mt := L.NewTable()
	mt.RawSetString("__index", L.SetFuncs(L.NewTable(), map[string]lua.LGFunction{
		"load":                      automationLoad,
		"files":                     automationFiles,
		"constructors":              automationConstructors,
		"should_enqueue_log_record": automationShouldEnqueue,
		"queue_config":              automationQueueConfig,
		"connect":                   automationConnect,
		"setup_publish":             automationSetupPublish,
	}))
	mt.RawSetString("__name", lua.LString("Automation"))
	L.G.Registry.RawSetString(automationMetaKey, mt)
	return mt
}

func automationLoad(L *lua.LState) int {
	a := checkAutomation(L)
	o, err := a.Current(luart.StateOf(L).Context())
	if err != nil {
		raise(L, err)
	}
	L.Push(o.NewLuaUserData(L))
	return 1
}

func stringList(L *lua.LState, list []string) *lua.LTable {
	t := L.CreateTable(len(list), 0)
	for i, s := range list {
		t.RawSetInt(i+1, lua.LString(s))
	}
	return t
}

func automationFiles(L *lua.LState) int {
	L.Push(stringList(L, checkAutomation(L).files))
	return 1
}

func automationConstructors(L *lua.LState) int {
	a := checkAutomation(L)
	var names []string
	for _, h := range a.opts.Hooks() {
		names = append(names, h.Constructor)
	}
	L.Push(stringList(L, names))
	return 1
}

// callMethod calls obj:name(args...) and returns its first result.
func callMethod(L *lua.LState, obj lua.LValue, name string, args ...lua.LValue) lua.LValue {
	fn := L.GetField(obj, name)
	L.Push(fn)
	L.Push(obj)
	for _, a := range args {
		L.Push(a)
	}
	L.Call(1+len(args), 1)
	v := L.Get(-1)
	L.Pop(1)
	return v
}

// automationShouldEnqueue takes a log-hook Message, or any object with
// get_meta and set_meta (whose log_record meta is then decoded; a record
// that does not decode is refused, as a failing match_rules is).
func automationShouldEnqueue(L *lua.LState) int {
	a := checkAutomation(L)
	msgV := L.Get(2)
	hook := L.CheckString(3)
	ctx := luart.StateOf(L).Context()
	if !a.filter.Owns(hook) {
		L.Push(lua.LNil)
		return 1
	}
	var rec *logrecord.Record
	msg, native := messageOf(msgV)
	if native {
		rec = msg.Record()
	} else {
		g, err := luart.ToGo(callMethod(L, msgV, "get_meta", lua.LString("log_record")))
		if err == nil {
			rec, err = logrecord.Decode(g)
		}
		if err != nil {
			L.Push(lua.LFalse)
			return 1
		}
	}
	_, ok := a.ShouldEnqueue(ctx, hook, rec)
	if ok {
		if native {
			if err := msg.SetMeta("queue", hook); err != nil {
				raise(L, err)
			}
		} else {
			callMethod(L, msgV, "set_meta", lua.LString("queue"), lua.LString(hook))
		}
	}
	L.Push(lua.LBool(ok))
	return 1
}

func messageOf(v lua.LValue) (*loghook.Message, bool) {
	if ud, ok := v.(*lua.LUserData); ok {
		m, ok := ud.Value.(*loghook.Message)
		return m, ok
	}
	return nil, false
}

func automationQueueConfig(L *lua.LState) int {
	a := checkAutomation(L)
	params, ok := a.opts.QueueConfigParams(L.CheckString(2))
	if !ok {
		L.Push(lua.LNil)
		return 1
	}
	cfg, err := egress.DecodeQueueConfig(params)
	if err != nil {
		raise(L, fmt.Errorf("tsa_queue_config: %w", err))
	}
	L.Push(NewQueueConfigUserData(L, cfg))
	return 1
}

// automationConnect returns the publish connection of hook domain: send
// posts the message's data to the daemon with tsaclient.Publisher; a
// failure is kumo.reject(400, text), so the queue retries it.
func automationConnect(L *lua.LState) int {
	a := checkAutomation(L)
	name := L.CheckString(2)
	h, ok := a.hooks[name]
	if !ok {
		raise(L, fmt.Errorf("%s is not a publish hook of setup_with_automation", name))
	}
	pub := tsaclient.NewPublisher(a.opts.PublishTimeout, a.opts.PublishPoolIdleTimeout)
	conn := L.NewTable()
	conn.RawSetString("send", L.NewFunction(func(L *lua.LState) int {
		var data []byte
		if m, ok := messageOf(L.Get(2)); ok {
			data = m.Data()
		} else {
			data = []byte(lua.LVAsString(callMethod(L, L.Get(2), "get_data")))
		}
		disp, err := pub.Publish(luart.StateOf(L).Context(), h.URL, data)
		if err != nil {
			var te *tsaclient.TransientError
			if errors.As(err, &te) {
				raiseReject(L, 400, te.Error(), 1)
			}
			raise(L, err)
		}
		L.Push(lua.LString(disp))
		return 1
	}))
	conn.RawSetString("close", L.NewFunction(func(L *lua.LState) int {
		pub.Close()
		return 0
	}))
	L.Push(conn)
	return 1
}

// automationSetupPublish configures one log hook per publish URL with the
// skipped types disabled and the back_pressure option, then, outside
// validate mode, starts the subscribers and the config monitor bound to
// the runtime's context.
func automationSetupPublish(L *lua.LState) int {
	a := checkAutomation(L)
	for _, h := range a.opts.Hooks() {
		perRecord := map[string]any{}
		for _, t := range a.opts.SkipLogRecordTypes {
			perRecord[t] = map[string]any{"enable": false}
		}
		params := map[string]any{"name": h.Name, "per_record": perRecord}
		if bp := a.opts.BackPressure; bp != nil {
			params["back_pressure"] = int64(*bp)
		}
		a.svc.configureLogHook(L, params)
	}
	a.Start()
	return 0
}
