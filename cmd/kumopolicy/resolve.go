package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"github.com/kumopolicy/kumopolicy"
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
	// resolve fires init (a resolver configured there must serve the MX
	// lookup) but starts none of the tasks init may ask for.
	cfg := kumopolicy.Config{Policy: *policy, SearchRoots: hf.searchRoots, ShareDir: hf.shareDir, EtcDir: hf.etcDir, Logger: logger, Resolver: hf.resolvers, Timeout: hf.timeout, NoBackgroundWork: true}
	if _, err := selectPolicy(&cfg, *policy); err != nil {
		fmt.Fprintf(stderr, "kumopolicy resolve: %v\n", err)
		return exitFailure
	}
	host, err := kumopolicy.New(cfg)
	if err != nil {
		fmt.Fprintln(stderr, "kumopolicy resolve:", err)
		return exitFailure
	}
	defer host.Close()
	ctx, cancel := hf.context()
	defer cancel()

	// kumod runs init before anything else: the resolver it configures
	// (kumo.dns.configure_test_resolver, for one) serves the MX lookup.
	if err := host.Init(ctx); err != nil {
		fmt.Fprintf(stderr, "warning: the policy's init failed, resolving without it: %v\n", err)
	}
	siteName := *site
	if siteName == "" {
		if siteName, err = host.SiteOf(ctx, domain); err != nil {
			// kumod would not deliver without MX; the answer below is what
			// the policy gives a domain whose site is itself.
			fmt.Fprintf(stderr, "warning: MX lookup for %s failed: %v; using the domain as the site name\n", domain, err)
		}
	}
	resolve := host.Resolve
	if *explain {
		resolve = host.Explain
	}
	res, err := resolve(ctx, domain, *source, siteName)
	if err != nil {
		reportError(stderr, err)
		return exitFailure
	}
	if res.PlainTable {
		fmt.Fprintln(stderr, "warning: get_egress_path_config returned a plain table; kumod requires kumo.make_egress_path(...)")
	}

	if *format == "json" {
		text, err := plain.EncodeJSONPretty(res.Serialized)
		if err != nil {
			fmt.Fprintln(stderr, "kumopolicy resolve:", err)
			return exitFailure
		}
		fmt.Fprintln(stdout, text)
	} else {
		text, err := plain.EncodeTOML(res.Serialized, plain.TOMLCompact)
		if err != nil {
			fmt.Fprintln(stderr, "kumopolicy resolve:", err)
			return exitFailure
		}
		fmt.Fprint(stdout, text)
	}
	if *explain {
		fmt.Fprintln(stdout)
		writeExplanation(stdout, res)
	}
	return exitOK
}

// writeExplanation prints, after each option, where its value came from
// (res.Explanation).
func writeExplanation(w io.Writer, res *kumopolicy.Resolution) {
	exp := res.Explanation
	fmt.Fprintf(w, "# where each value came from (domain %s, source %s, site %s)\n", res.Domain, res.Source, res.Site)
	if !exp.Shaped {
		fmt.Fprintln(w, "# the policy did not call Shaping:get_egress_path_config; every value is from its Lua code or a built-in default")
	}
	if len(exp.Problems) > 0 {
		fmt.Fprintln(w, "# problems in the shaping data:")
		for _, d := range exp.Problems {
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
	for _, opt := range exp.Options {
		fmt.Fprintf(w, "%s = %s\n", opt.Name, renderValue(opt.Value))
		switch opt.From {
		case kumopolicy.PerEntry:
			for _, e := range opt.Entries {
				if len(e.Setters) > 0 {
					writeSetters(w, "    "+renderValue(e.Key)+" ", "        ", e.Setters)
				} else {
					fmt.Fprintf(w, "    %s set by the policy's Lua code: %s\n", renderValue(e.Key), renderValue(e.Value))
				}
			}
		case kumopolicy.FromShaping:
			writeSetters(w, "    ", "    ", opt.Setters)
		case kumopolicy.FromLuaEpoch:
			fmt.Fprintln(w, "    set by the policy's Lua code (the shaping helper uses Epoch when no file sets it)")
		case kumopolicy.FromDefault:
			fmt.Fprintln(w, "    built-in default")
		default:
			fmt.Fprintln(w, "    set by the policy's Lua code")
		}
	}
}

// writeSetters prints, after lead, the setter of the final value and then,
// indented by cont, every value it overrode, oldest first: those of lower
// layers and those of earlier definitions of the same block in other files.
func writeSetters(w io.Writer, lead, cont string, setters []kumopolicy.Setter) {
	last := setters[len(setters)-1]
	fmt.Fprintf(w, "%sset by %s: %s\n", lead, describeSetter(last), renderValue(last.Value))
	if d := last.Setting.Discarded; len(d) > 0 {
		names := make([]string, len(d))
		for i, o := range d {
			names[i] = o.String()
		}
		fmt.Fprintf(w, "%s(its replace_base discarded what %s set)\n", cont, strings.Join(names, ", "))
	}
	var over []string
	for i, s := range setters {
		if n := s.Setting.Omitted; n > 0 {
			over = append(over, fmt.Sprintf("%d older values from earlier files of %s (not kept)", n, layerName(s.Layer)))
		}
		for _, o := range s.Setting.Overrode {
			over = append(over, fmt.Sprintf("%s from %s in %s", renderValue(o.Value), layerName(s.Layer), o.Origin))
		}
		if i < len(setters)-1 {
			over = append(over, fmt.Sprintf("%s from %s", renderValue(s.Value), describeSetter(s)))
		}
	}
	if len(over) > 0 {
		fmt.Fprintf(w, "%soverrode %s\n", cont, strings.Join(over, "; "))
	}
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
func describeSetter(s kumopolicy.Setter) string {
	if s.Setting.Origin.File == "" {
		return layerName(s.Layer)
	}
	return layerName(s.Layer) + " in " + s.Setting.Origin.String()
}

// renderValue writes a value as compact JSON (tables in their order).
func renderValue(v any) string {
	text, err := plain.EncodeJSON(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return text
}
