package shaping

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// CheckLevel decides where a load message goes: dropped, a warning, or an
// error (which is recorded but does not fail the load).
type CheckLevel int

const (
	Ignore CheckLevel = iota
	Warn
	Error
)

func (l CheckLevel) String() string {
	switch l {
	case Warn:
		return "Warn"
	case Error:
		return "Error"
	}
	return "Ignore"
}

// ParseCheckLevel accepts "Ignore", "Warn" or "Error"; with fold it ignores
// case (the validate-shaping command line does).
func ParseCheckLevel(s string, fold bool) (CheckLevel, error) {
	for _, l := range []CheckLevel{Ignore, Warn, Error} {
		if s == l.String() || fold && strings.EqualFold(s, l.String()) {
			return l, nil
		}
	}
	if fold {
		return Ignore, fmt.Errorf("Expected one of `Ignore`, `Warn` or `Error`, got `%s`", s)
	}
	return Ignore, fmt.Errorf("unknown variant `%s`, expected one of `Ignore`, `Warn`, `Error`", s)
}

// Options are kumo.shaping.load's options.
type Options struct {
	ProviderOverlap CheckLevel
	DNSFail         CheckLevel
	NullMX          CheckLevel
	AliasedSite     CheckLevel
	RemoteLoad      CheckLevel
	LocalLoad       CheckLevel
	SkipRemote      bool
	HTTPTimeout     time.Duration // 0 means 5 s
}

// DefaultOptions are kumo.shaping.load's defaults: everything Ignore except
// local_load, which is Error.
func DefaultOptions() Options { return Options{LocalLoad: Error} }

// ValidateShapingOptions are the validate-shaping command's defaults.
func ValidateShapingOptions() Options {
	return Options{ProviderOverlap: Warn, DNSFail: Warn, NullMX: Warn, AliasedSite: Warn, RemoteLoad: Warn, LocalLoad: Error}
}

// DNS is what loading and resolving need from the resolver.
type DNS interface {
	MXLookup
	// SiteName resolves domain's MX hosts and returns their site name; ""
	// means a NULL MX.
	SiteName(ctx context.Context, domain string) (string, error)
}

// Env supplies the loader with DNS, HTTP and the value grammars it checks
// parameters with. DefaultEnv (env.go) wires kumopolicy's own packages.
type Env struct {
	DNS DNS
	// HTTPClient fetches http(s) paths; nil means http.DefaultClient.
	HTTPClient *http.Client
	// ValidateParams parses params as a complete egress path config.
	ValidateParams func(params *plain.Map) error
	// LimitSpec renders provider_connection_limit ("10", "local:5").
	LimitSpec func(v any) (string, error)
	// ThrottleSpec returns the canonical form of a rate ("100/h").
	ThrottleSpec func(v any) (string, error)
	// Duration checks an automation rule's duration.
	Duration func(v any) (time.Duration, error)
	// CompileRegex checks and compiles an automation rule's regex.
	CompileRegex func(pattern string) (Matcher, error)
	// MaxConcurrentDNS bounds the MX pre-resolution; 0 means 64.
	MaxConcurrentDNS int
	// Fallback supplies a stand-in for a local path that does not exist
	// (kumopolicy's embedded defaults for KumoMTA's installed files): its
	// content, and the name that origins and messages use for it. The name
	// must say what the data is, not repeat path: the stand-in is not the
	// file at path.
	Fallback func(path string) (data []byte, name string, ok bool)
	// MapPath, when set, gives the file a local path is read from (a
	// KumoMTA installation directory found elsewhere); origins and
	// messages then name that file.
	MapPath func(path string) string
}

// Matcher is a compiled automation regex.
type Matcher interface {
	MatchString(s string) (bool, error)
}

// HardError is a load failure: a parse error of a .toml/.json file, a block
// that is not a valid egress path config, or invalid options.
type HardError struct {
	Path string // the file, when the error belongs to one
	Err  error
}

func (e *HardError) Error() string { return e.Err.Error() }
func (e *HardError) Unwrap() error { return e.Err }

// loaded is one file's parsed content.
type loaded struct {
	path string
	doc  *plain.Map
}

type loader struct {
	ctx  context.Context
	opts Options
	env  Env
	s    *Shaping
}

func (l *loader) push(level CheckLevel, msg string) { l.pushAt(level, msg, "", "") }

// pushAt records a message with the file and block it concerns, for tools
// that show where a problem is (validate-shaping).
func (l *loader) pushAt(level CheckLevel, msg, file, block string) {
	switch level {
	case Warn:
		l.s.warnings = append(l.s.warnings, msg)
	case Error:
		l.s.errors = append(l.s.errors, msg)
	default:
		return
	}
	l.s.diags = append(l.s.diags, Diagnostic{Level: level, Message: msg, File: file, Block: block})
}

// Load reads, merges and validates the shaping files at paths, in order.
// Problems the options govern become warnings or errors
// on the result; parse failures of .toml/.json files and invalid blocks
// return a *HardError.
func Load(ctx context.Context, paths []string, opts Options, env Env) (*Shaping, error) {
	l := &loader{ctx: ctx, opts: opts, env: env, s: newShaping()}
	var files []loaded
	for _, p := range paths {
		doc, name, err := l.loadPath(p)
		if err != nil {
			return nil, err
		}
		if doc != nil {
			files = append(files, loaded{name, doc})
		}
	}
	parsed := make([]*fileBlocks, 0, len(files))
	for _, f := range files {
		fb, err := l.parseFile(f)
		if err != nil {
			return nil, err
		}
		parsed = append(parsed, fb)
	}
	sites := l.preResolve(parsed)
	l.mergeFiles(parsed, sites)
	if err := l.finish(); err != nil {
		return nil, err
	}
	l.postChecks(parsed)
	return l.s, nil
}

// readLocal reads a local path as a load does: the file MapPath names, or,
// when that file does not exist, Fallback's stand-in. name is what origins
// and messages call what was read.
func (e Env) readLocal(path string) (data []byte, file, name string, err error) {
	file = path
	if e.MapPath != nil {
		file = e.MapPath(path)
	}
	data, err = os.ReadFile(file)
	if err != nil && errors.Is(err, os.ErrNotExist) && e.Fallback != nil {
		if fb, fbName, ok := e.Fallback(path); ok {
			return fb, file, fbName, nil
		}
	}
	return data, file, file, err
}

// SourceName is the name a load gives path in origins and messages: a URL
// itself; for a local path the file it reads (see Env.MapPath), or, when
// that file does not exist, the name of the stand-in Env.Fallback serves.
func (e Env) SourceName(path string) string {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return path
	}
	_, _, name, _ := e.readLocal(path)
	return name
}

// loadPath fetches or reads one path and parses it by its name. It returns
// the name the file goes by in origins and messages: path itself, or the
// name of the stand-in Env.Fallback served for it. A nil table with a nil
// error means the path counts as an empty file.
func (l *loader) loadPath(path string) (*plain.Map, string, error) {
	remote := strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://")
	name := path
	var data []byte
	if remote {
		if l.opts.SkipRemote {
			l.push(Warn, fmt.Sprintf("Ignoring %s because skip_remote is set to true", path))
			return nil, name, nil
		}
		b, err := l.fetch(path)
		if err != nil {
			l.pushAt(l.opts.RemoteLoad, fmt.Sprintf("remote shaping source %s error: %v", path, err), path, "")
			return nil, name, nil
		}
		data = b
	} else {
		b, file, fileName, err := l.env.readLocal(path)
		name = fileName
		if err != nil {
			l.pushAt(l.opts.LocalLoad, fmt.Sprintf("local shaping source %s error: loading data from file %s: %s", path, file, ioErrorText(err)), file, "")
			return nil, name, nil
		}
		data = b
	}

	switch {
	case strings.HasSuffix(path, ".toml"):
		doc, err := ParseTOML(data)
		if err != nil {
			return nil, name, &HardError{name, fmt.Errorf("parsing toml from file %s: %w", name, err)}
		}
		return doc, name, nil
	case strings.HasSuffix(path, ".json"):
		doc, lenient, err := ParseJSON(data)
		if err != nil {
			return nil, name, &HardError{name, fmt.Errorf("parsing json from file %s: %w", name, err)}
		}
		l.noteLenient(name, lenient)
		return doc, name, nil
	}
	doc, terr := ParseTOML(data)
	if terr == nil {
		return doc, name, nil
	}
	doc, lenient, jerr := ParseJSON(data)
	if jerr == nil {
		l.noteLenient(name, lenient)
		return doc, name, nil
	}
	level := l.opts.LocalLoad
	if remote {
		level = l.opts.RemoteLoad
	}
	l.pushAt(level, fmt.Sprintf("parsing %s: as toml: %v, as json: %v", name, terr, jerr), name, "")
	return nil, name, nil
}

func (l *loader) noteLenient(path string, lenient plain.Leniency) {
	if lenient.Any() {
		l.s.compat = append(l.s.compat, Diagnostic{Level: Warn, File: path, Message: fmt.Sprintf("%s: the JSON has %s; kumopolicy accepts them, but KumoMTA's shaping loader rejects this file", path, lenient)})
	}
}

// ioErrorText renders a file error as Rust's io::Error does.
func ioErrorText(err error) string { return plain.IOErrorText(err) }

func (l *loader) fetch(url string) ([]byte, error) {
	timeout := l.opts.HTTPTimeout
	if timeout <= 0 {
		timeout = 5 * time.Second
	}
	ctx, cancel := context.WithTimeout(l.ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, fmt.Errorf("making HTTP request to %s: %v", url, err)
	}
	client := l.env.HTTPClient
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("timeout making HTTP request to %s: deadline has elapsed", url)
		}
		return nil, fmt.Errorf("making HTTP request to %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, rerr := io.ReadAll(io.LimitReader(resp.Body, maxRemoteBytes+1))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		text := strings.TrimSpace(string(body))
		if rerr != nil {
			text = fmt.Sprintf("Additional error %v while reading response body", rerr)
		}
		return nil, fmt.Errorf("HTTP request to %s failed: status %d %s %s", url, resp.StatusCode, http.StatusText(resp.StatusCode), text)
	}
	if rerr != nil {
		return nil, fmt.Errorf("reading response from %s: %v", url, rerr)
	}
	if len(body) > maxRemoteBytes {
		return nil, fmt.Errorf("response from %s is larger than %d bytes", url, maxRemoteBytes)
	}
	return body, nil
}

// maxRemoteBytes bounds a remote shaping file.
const maxRemoteBytes = 64 << 20

// preResolve resolves the site of every mx_rollup=true domain of every file,
// concurrently, once per distinct domain.
func (l *loader) preResolve(files []*fileBlocks) map[string]siteResult {
	var domains []string
	seen := map[string]bool{}
	for _, f := range files {
		for _, d := range f.domains {
			if d.block.MxRollup && !seen[d.key] {
				seen[d.key] = true
				domains = append(domains, d.key)
			}
		}
	}
	out := make(map[string]siteResult, len(domains))
	if len(domains) == 0 {
		return out
	}
	if l.env.DNS == nil {
		for _, d := range domains {
			out[d] = siteResult{err: errors.New("no DNS resolver configured")}
		}
		return out
	}
	limit := l.env.MaxConcurrentDNS
	if limit <= 0 {
		limit = 64
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	sem := make(chan struct{}, limit)
	for _, d := range domains {
		wg.Add(1)
		sem <- struct{}{}
		go func(d string) {
			defer wg.Done()
			defer func() { <-sem }()
			site, err := l.env.DNS.SiteName(l.ctx, d)
			mu.Lock()
			out[d] = siteResult{site, err}
			mu.Unlock()
		}(d)
	}
	wg.Wait()
	return out
}

type siteResult struct {
	site string
	err  error
}

// mergeFiles processes the files in order.
func (l *loader) mergeFiles(files []*fileBlocks, sites map[string]siteResult) {
	for _, f := range files {
		if f.def != nil {
			l.s.byDomain.mergeOrInsert("default", f.def)
		}
		for _, d := range f.domains {
			at := func(level CheckLevel, msg string) { l.pushAt(level, msg, f.path, quoteKey(d.key)) }
			if isSingleLabel(d.key) {
				at(Warn, fmt.Sprintf("Entry for domain '%s' consists of a single DNS label. Domain names in TOML sections need to be quoted like '[\"%s.com\"]` otherwise the '.' will create a nested table rather than being added to the domain name.", d.key, d.key))
			}
			if !d.block.MxRollup {
				l.s.byDomain.mergeOrInsert(d.key, d.block)
				continue
			}
			res, ok := sites[d.key]
			switch {
			case !ok:
				at(l.opts.DNSFail, fmt.Sprintf("We didn't try to resolve the MX for %s for some reason!?. Ignoring the shaping config for that domain.", d.key))
			case res.err != nil:
				at(l.opts.DNSFail, fmt.Sprintf("error resolving MX for %s: %v. Ignoring the shaping config for that domain.", d.key, res.err))
			case res.site == "":
				at(l.opts.NullMX, fmt.Sprintf("domain %s has a NULL MX and cannot be used with mx_rollup=true. Ignoring the shaping config for that domain.", d.key))
			default:
				l.s.siteAliases[res.site] = append(l.s.siteAliases[res.site], d.key)
				l.s.siteOf[d.key] = res.site
				l.s.bySite.mergeOrInsert(res.site, d.block)
			}
		}
		for _, p := range f.providers {
			l.s.mergeProvider(p)
		}
	}
}

// isSingleLabel reports whether key is a valid DNS name with one label.
func isSingleLabel(key string) bool {
	k := strings.TrimSuffix(key, ".")
	return k != "" && !strings.Contains(k, ".") && IsDNSName(k)
}

// finish validates every stored block's parameters, and each of its
// sources, as a complete egress path config. The first
// failure fails the load; the error names the file and block that hold
// the offending option (see blame).
func (l *loader) finish() error {
	if l.env.ValidateParams == nil {
		return nil
	}
	fail := func(origins []Origin, prov *provenance, prefix string, params *plain.Map, err error, format string, args ...any) error {
		at := l.blame(origins, prov, prefix, params, err)
		return &HardError{originFile(at), fmt.Errorf(format+": %w%s", append(args, err, definedIn(at))...)}
	}
	check := func(kind, key, label string, blk *Block) error {
		if err := l.env.ValidateParams(blk.Params); err != nil {
			return fail(blk.Origin, &blk.prov, "", blk.Params, err, "%s: %s: interpreting %s params as EgressPathConfig", kind, key, label)
		}
		for _, name := range blk.Sources.Keys() {
			src := blk.Sources.Value(name).(*plain.Map)
			if err := l.env.ValidateParams(src); err != nil {
				return fail(blk.Origin, &blk.prov, sourcePath(name), src, err, "%s: %s: interpreting %s source '%s' as EgressPathConfig", kind, key, label, name)
			}
		}
		return nil
	}
	for _, site := range l.s.bySite.keys {
		blk := l.s.bySite.m[site]
		if err := check("site", site, fmt.Sprintf("domain '%s'", blk.Name), blk); err != nil {
			return err
		}
	}
	for _, d := range l.s.byDomain.keys {
		blk := l.s.byDomain.m[d]
		if err := check("domain", d, fmt.Sprintf("domain '%s'", d), blk); err != nil {
			return err
		}
	}
	for _, p := range l.s.providers {
		if err := l.env.ValidateParams(p.Params); err != nil {
			return fail(p.Origin, &p.prov, "", p.Params, err, "provider: %s: interpreting provider '%s' params as EgressPathConfig", p.Name, p.Name)
		}
		for _, name := range p.Sources.Keys() {
			src := p.Sources.Value(name).(*plain.Map).Clone()
			src.Delete("provider_source_selection_rate")
			if err := l.env.ValidateParams(src); err != nil {
				return fail(p.Origin, &p.prov, sourcePath(name), src, err, "provider: %s: interpreting provider '%s' source '%s' as EgressPathConfig", p.Name, p.Name, name)
			}
		}
	}
	return nil
}

// blame finds the definitions to name for err, a failure to validate
// params (a merged table at path prefix of a block with these origins and
// provenance): it validates each option on its own (each entry, for an
// additional_* table) and returns the definition that set the one that
// fails with the same message (or, failing that, the first that fails on
// its own). When no option fails on its own, every definition is named.
func (l *loader) blame(origins []Origin, prov *provenance, prefix string, params *plain.Map, err error) []Origin {
	if len(origins) <= 1 {
		return origins
	}
	want := err.Error()
	found, exact := "", false
	try := func(path string, one *plain.Map) {
		if exact {
			return
		}
		if e := l.env.ValidateParams(one); e != nil {
			if e.Error() == want {
				found, exact = path, true
			} else if found == "" {
				found = path
			}
		}
	}
	for _, k := range params.Keys() {
		v := params.Value(k)
		if t, ok := v.(*plain.Map); ok && additionalMaps[k] {
			for _, e := range t.Keys() {
				entry := plain.NewMap(0)
				entry.Set(e, t.Value(e))
				one := plain.NewMap(0)
				one.Set(k, entry)
				try(prefix+k+pathSep+e, one)
			}
			continue
		}
		one := plain.NewMap(0)
		one.Set(k, v)
		try(prefix+k, one)
	}
	if found == "" {
		return origins
	}
	from, _ := prov.find(found)
	return []Origin{originAt(origins, from)}
}

// definedIn names the files and blocks that defined a stored block, for
// error messages: " (defined in a.toml [\"x.com\"], b.toml [\"x.com\"])".
func definedIn(o []Origin) string {
	if len(o) == 0 {
		return ""
	}
	parts := make([]string, len(o))
	for i, org := range o {
		parts[i] = org.String()
	}
	return " (defined in " + strings.Join(parts, ", ") + ")"
}

func originFile(o []Origin) string {
	if len(o) == 0 {
		return ""
	}
	return o[0].File
}

// postChecks pushes the aliased_site and provider_overlap messages.
// KumoMTA reports overlaps in hash-map order; kumopolicy reports them in
// the order the domains first appear.
func (l *loader) postChecks(files []*fileBlocks) {
	if l.opts.AliasedSite != Ignore {
		for _, site := range l.s.bySite.keys {
			if aliases := l.s.siteAliases[site]; len(aliases) > 1 {
				l.pushAt(l.opts.AliasedSite, fmt.Sprintf("multiple domain blocks alias to the same site: %s: %s", site, strings.Join(aliases, ", ")), originFile(l.s.bySite.m[site].Origin), site)
			}
		}
	}
	if l.opts.ProviderOverlap != Ignore {
		seen := map[string]bool{}
		for _, f := range files {
			for _, d := range f.domains {
				if !d.block.MxRollup || seen[d.key] {
					continue
				}
				seen[d.key] = true
				var names []string
				qmx := onceMX(l.env.DNS)
				for _, p := range l.s.providers {
					if p.domainMatches(l.ctx, d.key, qmx) {
						names = append(names, p.Name)
					}
				}
				if len(names) > 0 {
					l.pushAt(l.opts.ProviderOverlap, fmt.Sprintf("domain %s is also matched by provider(s): %s", d.key, strings.Join(names, ", ")), f.path, quoteKey(d.key))
				}
			}
		}
	}
}
