package kumopolicy_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kumopolicy/kumopolicy"
	"github.com/kumopolicy/kumopolicy/luart"
)

// A Go program loads a policy and asks it a question through an event.
func ExampleNew() {
	rt := kumopolicy.New(kumopolicy.Config{
		Policy: "inline.lua",
		PolicySource: []byte(`
local kumo = require 'kumo'
kumo.on('get_egress_path_config', function(domain, source, site)
  if domain == 'example.com' then
    return { connection_limit = 2 }
  end
  return { connection_limit = 10 }
end)
`),
	})
	defer rt.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	results, handled, err := rt.Fire(ctx, "get_egress_path_config", "example.com", "unspecified", "example.com")
	if err != nil {
		panic(err)
	}
	fmt.Println(handled, results[0])
	// Output: true map[connection_limit:2]
}

// Lua errors come back as *luart.LuaError with the Lua position.
func ExampleNew_errors() {
	rt := kumopolicy.New(kumopolicy.Config{
		Policy:       "inline.lua",
		PolicySource: []byte("require('kumo').on('init', function() error('no spool configured') end)"),
	})
	defer rt.Close()

	_, _, err := rt.Fire(context.Background(), "init")
	var le *luart.LuaError
	fmt.Println(errors.As(err, &le), le.Message)
	// Output: true inline.lua:1: no spool configured
}
