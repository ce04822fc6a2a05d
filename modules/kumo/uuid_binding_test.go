package kumo_test

import "testing"

func TestUUIDModule(t *testing.T) {
	rt, _ := newKumodRuntime(t, false, `
local kumo = require 'kumo'
kumo.on('main', function()
  local u = kumo.uuid.parse '{69994630-3E27-11EF-91FC-CC28AA0A5C5A}'
  assert(tostring(u) == '69994630-3e27-11ef-91fc-cc28aa0a5c5a', tostring(u))
  assert(u.hyphenated == '69994630-3e27-11ef-91fc-cc28aa0a5c5a')
  assert(u.simple == '699946303e2711ef91fccc28aa0a5c5a')
  assert(u.braced == '{69994630-3e27-11ef-91fc-cc28aa0a5c5a}')
  assert(u.urn == 'urn:uuid:69994630-3e27-11ef-91fc-cc28aa0a5c5a')
  assert(u.bytes == '\x69\x99\x46\x30\x3e\x27\x11\xef\x91\xfc\xcc\x28\xaa\x0a\x5c\x5a')
  assert(kumo.uuid.parse(u.urn) == u)
  local versions = {}
  for _, v in ipairs { 'new_v1', 'new_v4', 'new_v6', 'new_v7' } do
    local id = kumo.uuid[v]()
    assert(id ~= kumo.uuid[v](), v .. ' repeated itself')
    versions[#versions + 1] = id.simple:sub(13, 13)
  end
  local ok, err = pcall(kumo.uuid.parse, 'not-a-uuid')
  assert(not ok)
  local ok2, err2 = pcall(function() return u.nope end)
  return table.concat(versions, ','), tostring(err), tostring(err2)
end)
`)
	out := fire(t, rt, "main")
	if out[0] != "1,4,6,7" {
		t.Errorf("versions: %v", out[0])
	}
	wantContains(t, out[1].(string), `kumo.uuid.parse: "not-a-uuid" is not a UUID`)
	wantContains(t, out[2].(string), `Uuid has no field "nope"`)
}
