package luart

import (
	"context"
	"errors"
	"strings"

	lua "github.com/yuin/gopher-lua"
)

// LuaError is an error raised by Lua code (or a Go function called from
// Lua) during a dispatch.
type LuaError struct {
	// Message is the error value as Lua's tostring renders it, including
	// the `file:line:` position Lua adds to string errors.
	Message string
	// Traceback is the Lua stack at the point of the error.
	Traceback string
	// Cause is the Go error carried by a userdata error value (for example
	// the structured error raised by kumo.reject), or nil.
	Cause error
}

func (e *LuaError) Error() string { return e.Message }

// Unwrap returns the structured Go error the Lua error carried, if any.
func (e *LuaError) Unwrap() error { return e.Cause }

// luaError converts an error from PCall into a *LuaError. Errors that are
// not *lua.ApiError (which gopher-lua never returns from PCall) pass through.
func luaError(err error) error {
	var api *lua.ApiError
	if !errors.As(err, &api) {
		return err
	}
	le := &LuaError{Traceback: api.StackTrace}
	if api.Cause != nil {
		le.Cause = api.Cause
	}
	switch obj := api.Object.(type) {
	case *lua.LUserData:
		if ce, ok := obj.Value.(error); ok {
			le.Cause = ce
			le.Message = ce.Error()
		} else {
			le.Message = lua.LVAsString(toStringMeta(obj))
		}
	case nil:
		le.Message = "nil"
	default:
		le.Message = obj.String()
	}
	if le.Message == "" {
		le.Message = "(error object is not a string)"
	}
	return le
}

// toStringMeta renders a value the way Lua's tostring does, honouring
// __tostring on userdata and tables without needing a state.
func toStringMeta(v lua.LValue) lua.LValue {
	return lua.LString(v.String())
}

// isContextError reports whether a Lua error came from the dispatch context
// being cancelled or timing out (gopher-lua raises the context's error text).
func isContextError(ctx context.Context, err error) bool {
	if ctx == nil || ctx.Err() == nil {
		return false
	}
	return strings.Contains(err.Error(), ctx.Err().Error())
}
