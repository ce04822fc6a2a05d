package kumopolicy

import "testing"

func TestMapInstallPath(t *testing.T) {
	c := Config{ShareDir: "/checkout/assets", EtcDir: "/tmp/etc"}
	cases := map[string]string{
		"/opt/kumomta/share/policy-extras/shaping.toml": "/checkout/assets/policy-extras/shaping.toml",
		"/opt/kumomta/share":                            "/checkout/assets",
		"/opt/kumomta/etc/policy/init.lua":              "/tmp/etc/policy/init.lua",
		"/opt/kumomta/shared/x.toml":                    "/opt/kumomta/shared/x.toml", // not under share/
		"/opt/kumomta/sbin/kumod":                       "/opt/kumomta/sbin/kumod",
		"relative/opt/kumomta/share/x":                  "relative/opt/kumomta/share/x",
	}
	for in, want := range cases {
		if got := c.MapInstallPath(in); got != want {
			t.Errorf("MapInstallPath(%q) = %q, want %q", in, got, want)
		}
	}
	if got := (Config{}).MapInstallPath("/opt/kumomta/etc/policy/init.lua"); got != DefaultPolicyPath {
		t.Errorf("no dirs: %q", got)
	}
	if got := c.InstalledPolicy(); got != "/tmp/etc/policy/init.lua" {
		t.Errorf("InstalledPolicy = %q", got)
	}
}
