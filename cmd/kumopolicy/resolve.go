package main

import (
	"flag"
	"fmt"
	"io"
	"reflect"
	"strings"

	lua "github.com/yuin/gopher-lua"

	"github.com/kumopolicy/kumopolicy"
	"github.com/kumopolicy/kumopolicy/luart"
	"github.com/kumopolicy/kumopolicy/modules/kumo"
	"github.com/kumopolicy/kumopolicy/modules/kumo/egress"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
)

func runResolve(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("resolve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var hf hostFlags
	hf.register(fs)
	policy := fs.String("policy", "", "policy file (default "+kumopolicy.DefaultPolicyPath+" if it exists, else the embedded default policy, which uses the shaping helper)")
	source := fs.String("source", "unspecified", "egress source `NAME`")
	site := fs.String("site", "", "ready-queue site name (default: computed from the domain's MX hosts; the domain itself if that lookup fails)")
	format := fs.String("format", "toml", "output format: toml or json")
	explain := fs.Bool("explain", false, "show, for every option, the file and block that set its final value and the values it overrode")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `Usage: kumopolicy resolve [flags] DOMAIN

Fires the policy's get_egress_path_config handler for DOMAIN (with the
source and the site computed from MX, as kumod would) and prints the
resulting egress path configuration with every default filled in.

With --explain, each option is followed by where its value came from: the
layer (default, provider, site, domain, or their per-source tables), the
one file and block that set it, and the values it overrode, both from
lower layers and from the same block in earlier files. additional_*
tables, which merge entry by entry, are explained per entry. When a
block's definition has replace_base = true, what earlier files set for
that block is discarded: it is named as discarded, not as overridden.

Flags may come before or after DOMAIN.

Flags:`)
		fs.PrintDefaults()
	}
	pos, code, ok := parseInterspersed(fs, args)
	if !ok {
		return code
	}
	if len(pos) != 1 {
		fmt.Fprintln(stderr, "kumopolicy resolve: exactly one DOMAIN is required")
		fs.Usage()
		return exitUsage
	}
	domain := pos[0]
	if err := checkDomainArg(domain); err != nil {
		fmt.Fprintf(stderr, "kumopolicy resolve: %v\n", err)
		return exitUsage
	}
	if *format != "toml" && *format != "json" {
		fmt.Fprintf(stderr, "kumopolicy resolve: invalid --format %q: want toml or json\n", *format)
		return exitUsage
	}
	logger, err := hf.logger(stderr)
	if err != nil {
		fmt.Fprintln(stderr, "kumopolicy resolve:", err)
		return exitUsage
	}
	cfg := kumopolicy.Config{Policy: *policy, SearchRoots: hf.searchRoots, ShareDir: hf.shareDir, EtcDir: hf.etcDir, Logger: logger, Resolver: hf.resolvers, Timeout: hf.timeout}
	if _, err := selectPolicy(&cfg, *policy); err != nil {
		fmt.Fprintf(stderr, "kumopolicy resolve: %v\n", err)
		return exitFailure
	}
	rt := kumopolicy.New(cfg)
	defer rt.Close()
	ctx, cancel := hf.context()
	defer cancel()

	siteName := *site
	if siteName == "" {
		siteName = domain
		if mx, err := kumo.ResolverFor(rt).LookupMX(ctx, domain); err == nil {
			siteName = mx.SiteName
		} else {
			// kumod would not deliver without MX; the answer below is what
			// the policy gives a domain whose site is itself.
			fmt.Fprintf(stderr, "warning: MX lookup for %s failed: %v; using the domain as the site name\n", domain, err)
		}
	}

	var exp kumo.Explanation
	var result *egress.EgressPathConfig
	err = rt.Call(ctx, func(s *luart.State) error {
		stop := kumo.Explain(s, &exp)
		defer stop()
		out, handled, err := s.Fire(ctx, "get_egress_path_config", lua.LString(domain), lua.LString(*source), lua.LString(siteName))
		if err != nil {
			return err
		}
		if !handled || len(out) == 0 {
			return fmt.Errorf("%s registered no get_egress_path_config handler (or it returned nothing)", cfg.Policy)
		}
		if c, ok := kumo.EgressPathFromLua(out[0]); ok {
			result = c
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
			fmt.Fprintln(stderr, "warning: get_egress_path_config returned a plain table; kumod requires kumo.make_egress_path(...)")
			result = c
			return nil
		}
		return fmt.Errorf("get_egress_path_config returned a %s, expected the result of kumo.make_egress_path", out[0].Type())
	})
	if err != nil {
		reportError(stderr, err)
		return exitFailure
	}

	serialized := result.Serialize()
	if *format == "json" {
		text, err := plain.EncodeJSONPretty(serialized)
		if err != nil {
			fmt.Fprintln(stderr, "kumopolicy resolve:", err)
			return exitFailure
		}
		fmt.Fprintln(stdout, text)
	} else {
		text, err := plain.EncodeTOML(serialized, plain.TOMLCompact)
		if err != nil {
			fmt.Fprintln(stderr, "kumopolicy resolve:", err)
			return exitFailure
		}
		fmt.Fprint(stdout, text)
	}
	if *explain {
		fmt.Fprintln(stdout)
		writeExplanation(stdout, domain, *source, siteName, serialized, &exp)
	}
	return exitOK
}

// setter is one layer's value for an option (or for one entry of an
// additional_* table), with the file and block that set it.
type setter struct {
	layer   shaping.Layer
	value   any
	setting shaping.Setting
}

// additionalTables merge entry by entry; their explanation is per entry.
var additionalTables = map[string]bool{
	"additional_connection_limits":      true,
	"additional_message_rate_throttles": true,
	"additional_source_selection_rates": true,
}

func writeExplanation(w io.Writer, domain, source, site string, final *plain.Map, exp *kumo.Explanation) {
	fmt.Fprintf(w, "# where each value came from (domain %s, source %s, site %s)\n", domain, source, site)
	if exp.Shaping == nil {
		fmt.Fprintln(w, "# the policy did not call Shaping:get_egress_path_config; every value is from its Lua code or a built-in default")
	}
	if exp.Shaping != nil {
		problems := append(append(exp.Shaping.Diagnostics(), exp.Shaping.Lint()...), exp.Shaping.CompatWarnings()...)
		if len(problems) > 0 {
			fmt.Fprintln(w, "# problems in the shaping data:")
			for _, d := range problems {
				label := "WARNING"
				if d.Level == shaping.Error {
					label = "ERROR"
				}
				where := ""
				switch {
				case d.File != "" && d.Block != "":
					where = fmt.Sprintf(" (in %s [%s])", d.File, d.Block)
				case d.File != "":
					where = fmt.Sprintf(" (in %s)", d.File)
				}
				fmt.Fprintf(w, "#   %s: %s%s\n", label, d.Message, where)
			}
		}
	}
	defaults := egress.DefaultEgressPathConfig().Serialize()
	for _, key := range final.Keys() {
		val, _ := final.Get(key)
		fmt.Fprintf(w, "%s = %s\n", key, renderValue(val))
		if m, ok := val.(*plain.Map); ok && additionalTables[key] && m.Len() > 0 {
			for _, entry := range m.Keys() {
				ev, _ := m.Get(entry)
				if setters := entrySettersOf(key, entry, exp.Layers); len(setters) > 0 {
					writeSetters(w, "    "+renderValue(entry)+" ", "        ", setters)
				} else {
					fmt.Fprintf(w, "    %s set by the policy's Lua code: %s\n", renderValue(entry), renderValue(ev))
				}
			}
			continue
		}
		setters := settersOf(key, exp.Layers)
		switch {
		case len(setters) > 0:
			writeSetters(w, "    ", "    ", setters)
		case exp.Resolved != nil && key == "refresh_strategy" && !hasKey(exp.Resolved, key):
			fmt.Fprintln(w, "    set by the policy's Lua code (the shaping helper uses Epoch when no file sets it)")
		default:
			if dv, ok := defaults.Get(key); ok && reflect.DeepEqual(plainOf(dv), plainOf(val)) {
				fmt.Fprintln(w, "    built-in default")
			} else {
				fmt.Fprintln(w, "    set by the policy's Lua code")
			}
		}
	}
}

// writeSetters prints, after lead, the setter of the final value and then,
// indented by cont, every value it overrode, oldest first: those of lower
// layers and those of earlier definitions of the same block in other files.
func writeSetters(w io.Writer, lead, cont string, setters []setter) {
	last := setters[len(setters)-1]
	fmt.Fprintf(w, "%sset by %s: %s\n", lead, describeSetter(last), renderValue(last.value))
	if d := last.setting.Discarded; len(d) > 0 {
		names := make([]string, len(d))
		for i, o := range d {
			names[i] = o.String()
		}
		fmt.Fprintf(w, "%s(its replace_base discarded what %s set)\n", cont, strings.Join(names, ", "))
	}
	var over []string
	for i, s := range setters {
		if n := s.setting.Omitted; n > 0 {
			over = append(over, fmt.Sprintf("%d older values from earlier files of %s (not kept)", n, layerName(s.layer)))
		}
		for _, o := range s.setting.Overrode {
			over = append(over, fmt.Sprintf("%s from %s in %s", renderValue(o.Value), layerName(s.layer), o.Origin))
		}
		if i < len(setters)-1 {
			over = append(over, fmt.Sprintf("%s from %s", renderValue(s.value), describeSetter(s)))
		}
	}
	if len(over) > 0 {
		fmt.Fprintf(w, "%soverrode %s\n", cont, strings.Join(over, "; "))
	}
}

func hasKey(t *plain.Map, k string) bool {
	_, ok := t.Get(k)
	return ok
}

// settersOf lists the layers that set key, lowest first; a layer that
// replaced everything below it (replace_base) drops the earlier ones.
func settersOf(key string, layers []shaping.Layer) []setter {
	var out []setter
	for _, l := range layers {
		if l.Reset {
			out = nil
		}
		if v, ok := l.Params.Get(key); ok {
			out = addSetter(out, setter{l, v, l.Setting(key)})
		}
	}
	return out
}

// addSetter appends s, except that a provider's implied values, applied
// again after its per-source table, replace their identical first
// application instead of claiming to override it.
func addSetter(out []setter, s setter) []setter {
	if n := len(out); n > 0 && s.layer.Kind == "provider-implied" {
		prev := out[n-1]
		if prev.layer.Kind == s.layer.Kind && prev.layer.Name == s.layer.Name && reflect.DeepEqual(plainOf(prev.value), plainOf(s.value)) {
			out[n-1] = s
			return out
		}
	}
	return append(out, s)
}

// entrySettersOf is settersOf for one entry of an additional_* table. A
// layer whose value for key is not a table replaces the whole table.
func entrySettersOf(key, entry string, layers []shaping.Layer) []setter {
	var out []setter
	for _, l := range layers {
		if l.Reset {
			out = nil
		}
		v, ok := l.Params.Get(key)
		if !ok {
			continue
		}
		t, isTable := v.(*plain.Map)
		if !isTable {
			out = nil
			continue
		}
		if ev, ok := t.Get(entry); ok {
			out = addSetter(out, setter{l, ev, l.EntrySetting(key, entry)})
		}
	}
	return out
}

// layerName names a layer: "default", "provider gmail", "site source
// X/ip-1", ...
func layerName(l shaping.Layer) string {
	name := l.Kind
	switch l.Kind {
	case "default":
	case "provider-implied":
		name = "provider " + l.Name + " (implied by its provider_* settings)"
	default:
		name = strings.ReplaceAll(l.Kind, "-", " ") + " " + l.Name
	}
	if l.Reset {
		name += " (replace_base)"
	}
	return name
}

// describeSetter names the layer and the one file and block that set the
// value.
func describeSetter(s setter) string {
	if s.setting.Origin.File == "" {
		return layerName(s.layer)
	}
	return layerName(s.layer) + " in " + s.setting.Origin.String()
}

func plainOf(v any) any {
	if x, ok := v.(*plain.Map); ok {
		return x.Plain(false)
	}
	return v
}

// renderValue writes a value as compact JSON (tables in their order).
func renderValue(v any) string {
	text, err := plain.EncodeJSON(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return text
}
