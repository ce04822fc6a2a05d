// Command kumopolicy runs KumoMTA Lua policies on kumopolicy's Go host.
//
// Usage:
//
//	kumopolicy script [flags] FILE [ARG...]   run FILE and fire its `main` event
//	kumopolicy validate [flags]               KumoMTA's --validate for a policy
//	kumopolicy validate-shaping [flags] FILE... check shaping files
//	kumopolicy resolve [flags] DOMAIN          egress path config for a domain
//	kumopolicy serve [flags]                  run a policy as a service (admin API, log hooks, TSA automation)
//	kumopolicy tsa-daemon [flags]             KumoMTA's TSA daemon on a TSA policy
//	kumopolicy version                        print the version
//
// Exit codes: 0 success; 1 the policy failed (Lua error, failed
// validation, no handler); 2 usage error.
package main
