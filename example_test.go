package kumopolicy_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/kumopolicy/kumopolicy"
)

// A Go program loads a policy and asks it a question through an event.
func ExampleNew() {
	host, err := kumopolicy.New(kumopolicy.Config{
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
	if err != nil {
		panic(err)
	}
	defer host.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	results, handled, err := host.Fire(ctx, "get_egress_path_config", "example.com", "unspecified", "example.com")
	if err != nil {
		panic(err)
	}
	fmt.Println(handled, results[0])
	// Output: true map[connection_limit:2]
}

// Lua errors come back as *kumopolicy.LuaError with the Lua position.
func ExampleNew_errors() {
	host, err := kumopolicy.New(kumopolicy.Config{
		Policy:       "inline.lua",
		PolicySource: []byte("require('kumo').on('init', function() error('no spool configured') end)"),
	})
	if err != nil {
		panic(err)
	}
	defer host.Close()

	_, _, err = host.Fire(context.Background(), "init")
	var le *kumopolicy.LuaError
	fmt.Println(errors.As(err, &le), le.Message)
	// Output: true inline.lua:1: no spool configured
}

// Resolve asks the policy for a domain's egress path configuration, as
// kumod would; Explain also says where each value came from.
func ExampleHost_Resolve() {
	host, err := kumopolicy.New(kumopolicy.Config{
		Policy: "inline.lua",
		PolicySource: []byte(`
local kumo = require 'kumo'
kumo.on('get_egress_path_config', function(domain, source, site)
  return kumo.make_egress_path { connection_limit = 2, enable_tls = 'Required' }
end)
`),
	})
	if err != nil {
		panic(err)
	}
	defer host.Close()

	res, err := host.Resolve(context.Background(), "example.com", "unspecified", "example.com")
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Config.ConnectionLimit.Limit, res.Config.EnableTLS, res.Serialized.Keys()[0])
	// Output: 2 Required connection_limit
}
