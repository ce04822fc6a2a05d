package daemon

import (
	"fmt"
	"net/http"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/tsa/httpapi"
)

// DefaultListen is start_http_listener's default listen address.
const DefaultListen = httpapi.DefaultListen

// ListenerParams are tsa.start_http_listener's parameters (shared with
// kumo.start_http_listener: httpapi.ListenerParams).
type ListenerParams = httpapi.ListenerParams

func (d *Daemon) openModule(s *luart.State) lua.LValue {
	L := s.L
	mod := L.NewTable()
	mod.RawSetString("start_http_listener", L.NewFunction(d.luaStartListener))
	mod.RawSetString("configure_tsa_db_path", L.NewFunction(d.luaConfigureDBPath))
	return mod
}

func (d *Daemon) luaConfigureDBPath(L *lua.LState) int {
	path := L.CheckString(1)
	d.mu.Lock()
	d.dbPath = path
	d.mu.Unlock()
	return 0
}

func (d *Daemon) luaStartListener(L *lua.LState) int {
	p, err := parseListenerParams(L.Get(1))
	if err != nil {
		L.RaiseError("tsa.start_http_listener: %s", err.Error())
	}
	p.Paths = d.opts.Paths
	if _, err := d.StartListener(p); err != nil {
		L.RaiseError("tsa.start_http_listener: %s", err.Error())
	}
	return 0
}

// parseListenerParams decodes start_http_listener's table with the schema
// kumod's start_http_listener shares (KumoMTA's HttpListenerParams):
// unknown keys and wrongly typed values are errors naming them.
func parseListenerParams(v lua.LValue) (ListenerParams, error) {
	if _, ok := v.(*lua.LTable); !ok {
		return ListenerParams{}, fmt.Errorf("expected a table of parameters, got %s", v.Type())
	}
	data, err := luart.ToGo(v)
	if err != nil {
		return ListenerParams{}, err
	}
	return httpapi.DecodeListenerParams(data)
}

// StartListener binds p.Listen and serves the API on it. It returns the
// bound address (the real port when p.Listen asked for port 0) and logs
// "http listener on ADDR" ("https ..." with TLS).
func (d *Daemon) StartListener(p ListenerParams) (string, error) {
	l, err := httpapi.Listen(p, func(cfg httpapi.Config) (http.Handler, error) {
		return d.newAPI(cfg)
	}, func(msg string) { d.log.Error(msg) })
	if err != nil {
		return "", err
	}
	d.mu.Lock()
	d.listeners = append(d.listeners, l)
	d.mu.Unlock()
	d.log.Info(fmt.Sprintf("%s listener on %s", l.Proto, l.Addr))
	return l.Addr, nil
}

// newAPI is the route table every listener serves: httpapi's publish and
// status routes, the engine's outputs and websockets, the admin routes,
// /metrics and the OpenAPI document. cfg's Ingester and Metrics are the
// daemon's.
func (d *Daemon) newAPI(cfg httpapi.Config) (*httpapi.Server, error) {
	cfg.Ingester = d.queue
	cfg.Metrics = d.metrics
	api, err := httpapi.NewServer(cfg)
	if err != nil {
		return nil, err
	}
	for _, add := range []func(*httpapi.Server) error{d.addRoutes, d.addMetricsRoute, d.addOpenAPIRoute} {
		if err := add(api); err != nil {
			return nil, err
		}
	}
	return api, nil
}
