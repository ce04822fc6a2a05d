package kumopolicy

import "github.com/kumopolicy/kumopolicy/luart"

// TSAPolicyPaths are where KumoMTA's TSA daemon policy is looked for when
// `kumopolicy tsa-daemon` has no --policy, in order: KumoMTA's default,
// then what its packaged systemd unit passes. Config.MapInstallPath moves
// them with EtcDir.
var TSAPolicyPaths = []string{"/opt/kumomta/etc/tsa/init.lua", "/opt/kumomta/etc/policy/tsa_init.lua"}

// EmbeddedTSAPolicyName names the embedded default TSA policy in messages.
const EmbeddedTSAPolicyName = luart.EmbeddedChunkPrefix + "etc/policy/tsa_init.lua"

// DefaultTSAPolicy returns the embedded default TSA daemon policy's text.
func DefaultTSAPolicy() []byte {
	b, err := embedded.ReadFile("etc/policy/tsa_init.lua")
	if err != nil {
		panic("kumopolicy: embedded default TSA policy missing: " + err.Error())
	}
	return b
}
