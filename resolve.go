package kumopolicy

import (
	"context"
	"fmt"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// Resolution is the egress path configuration a policy gives a domain, as
// kumod would ask for it (get_egress_path_config(domain, source, site)).
type Resolution struct {
	Domain, Source, Site string
	// SiteError, when the site was computed from the domain's MX hosts, is
	// why that lookup failed; Site is then the domain itself (kumod would
	// not deliver without MX: the answer is what the policy gives a domain
	// whose site is itself).
	SiteError error
	// Config is the effective configuration, every default filled in.
	Config *egress.EgressPathConfig
	// Serialized is Config's serialized form: every option, in the
	// config's declaration order.
	Serialized *plain.Map
	// PlainTable is true when the handler returned a plain Lua table
	// rather than kumo.make_egress_path(...), which kumod requires.
	PlainTable bool
	// Explanation says where each option's value came from; nil unless
	// the Resolution comes from Explain.
	Explanation *Explanation
}

// Resolve fires the policy's get_egress_path_config handler for domain and
// source, and returns the configuration it gives. An empty site is
// computed from the domain's MX hosts through the host's resolver (and
// its cache), as kumod does; a failed lookup is reported in SiteError, not
// as an error. Resolve records no explanation: use Explain for that.
func (h *Host) Resolve(ctx context.Context, domain, source, site string) (*Resolution, error) {
	return h.resolve(ctx, domain, source, site, false)
}

// Explain is Resolve plus the Explanation of every option: the shaping
// layer, file and block that set it and the values it overrode, and the
// problems of the shaping data the policy used.
func (h *Host) Explain(ctx context.Context, domain, source, site string) (*Resolution, error) {
	return h.resolve(ctx, domain, source, site, true)
}

// SiteOf returns domain's ready-queue site name, computed from its MX
// hosts through the host's resolver (and its cache) as kumod does. When
// the lookup fails it returns the domain itself, and the error.
func (h *Host) SiteOf(ctx context.Context, domain string) (string, error) {
	mx, err := h.services.Resolver.LookupMX(ctx, domain)
	if err != nil {
		return domain, err
	}
	return mx.SiteName, nil
}

func (h *Host) resolve(ctx context.Context, domain, source, site string, explain bool) (*Resolution, error) {
	res := &Resolution{Domain: domain, Source: source, Site: site}
	if site == "" {
		res.Site, res.SiteError = h.SiteOf(ctx, domain)
	}
	var exp *kumo.Explanation
	err := h.Call(ctx, func(s *luart.State) error {
		if explain {
			exp = new(kumo.Explanation)
			defer kumo.Explain(s, exp)()
		}
		out, handled, err := s.Fire(ctx, "get_egress_path_config", lua.LString(domain), lua.LString(source), lua.LString(res.Site))
		if err != nil {
			return err
		}
		if !handled || len(out) == 0 {
			return fmt.Errorf("%s registered no get_egress_path_config handler (or it returned nothing)", h.policy)
		}
		if c, ok := kumo.EgressPathFromLua(out[0]); ok {
			res.Config = c
			return nil
		}
		if _, ok := out[0].(*lua.LTable); ok {
			g, err := luart.ToGo(out[0])
			if err != nil {
				return err
			}
			c, err := egress.DecodeEgressPathConfig(g)
			if err != nil {
				return fmt.Errorf("get_egress_path_config returned a table that is not a valid egress path config: %w", err)
			}
			res.Config, res.PlainTable = c, true
			return nil
		}
		return fmt.Errorf("get_egress_path_config returned a %s, expected the result of kumo.make_egress_path", out[0].Type())
	})
	if err != nil {
		return nil, err
	}
	res.Serialized = res.Config.Serialize()
	if explain {
		res.Explanation = explainOptions(res.Serialized, exp)
	}
	return res, nil
}
