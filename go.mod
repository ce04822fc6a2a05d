module github.com/kumopolicy/kumopolicy

go 1.26.8

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/hashicorp/golang-lru/v2 v2.0.7
	github.com/yuin/gopher-lua v1.1.2
)

require (
	github.com/bmatcuk/doublestar/v4 v4.10.0
	github.com/coder/websocket v1.8.15
	github.com/dlclark/regexp2 v1.12.0
	github.com/miekg/dns v1.1.73
	go.etcd.io/bbolt v1.5.0
	golang.org/x/net v0.57.0
)

require (
	golang.org/x/sys v0.47.0 // indirect
	golang.org/x/text v0.40.0 // indirect
)

// gopher-lua v1.1.2 with a fix to how caught errors close upvalues; see
// third_party/gopher-lua/KUMOPOLICY.md.
replace github.com/yuin/gopher-lua => ./third_party/gopher-lua
