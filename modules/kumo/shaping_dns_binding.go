package kumo

import (
	"context"

	"github.com/kumopolicy/kumopolicy/modules/kumo/dns"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
)

// ShapingDNS adapts a resolver to what the shaping engine needs: site
// names for mx_rollup domains and MX hosts for provider matching. Both go
// through the resolver's cache.
func ShapingDNS(r *dns.Resolver) shaping.DNS { return resolverDNS{r} }

type resolverDNS struct{ r *dns.Resolver }

func (d resolverDNS) SiteName(ctx context.Context, domain string) (string, error) {
	mx, err := d.r.LookupMX(ctx, domain)
	if err != nil {
		return "", err
	}
	return mx.SiteName, nil
}

func (d resolverDNS) MXHosts(ctx context.Context, domain string) ([]string, error) {
	mx, err := d.r.LookupMX(ctx, domain)
	if err != nil {
		return nil, err
	}
	return mx.Hosts, nil
}
