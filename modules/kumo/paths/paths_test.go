package paths

import "testing"

func TestLocalAndPolicy(t *testing.T) {
	m := New([2]string{"/opt/kumomta/share", "/src/kumo/assets"}, [2]string{"/opt/kumomta/etc", "/tmp/etc/"}, [2]string{"/unused", ""})
	for _, tc := range []struct{ policy, local string }{
		{"/opt/kumomta/share/policy-extras/shaping.toml", "/src/kumo/assets/policy-extras/shaping.toml"},
		{"/opt/kumomta/share", "/src/kumo/assets"},
		{"/opt/kumomta/etc/policy/init.lua", "/tmp/etc/policy/init.lua"},
		{"/opt/kumomta/etcetera/x", "/opt/kumomta/etcetera/x"},
		{"/var/log/kumo", "/var/log/kumo"},
		{"relative/file.toml", "relative/file.toml"},
	} {
		if got := m.Local(tc.policy); got != tc.local {
			t.Errorf("Local(%q) = %q, want %q", tc.policy, got, tc.local)
		}
		if got := m.Policy(tc.local); got != tc.policy {
			t.Errorf("Policy(%q) = %q, want %q", tc.local, got, tc.policy)
		}
	}
	var none *Map
	if none.Local("/opt/kumomta/etc/x") != "/opt/kumomta/etc/x" || none.Policy("/a") != "/a" || !none.Empty() {
		t.Error("a nil Map must move nothing")
	}
	if New([2]string{"/opt/kumomta/etc", ""}).Empty() != true {
		t.Error("a Map of empty targets is empty")
	}
}
