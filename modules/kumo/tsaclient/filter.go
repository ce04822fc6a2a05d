package tsaclient

import (
	"context"

	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
	"github.com/kumopolicy/kumopolicy/modules/kumo/shaping"
)

// Matcher answers the pre-filter's question: does the record match at
// least one automation rule of the current shaping data?
type Matcher interface {
	MatchesAnyRule(ctx context.Context, rec *logrecord.Record) (bool, error)
}

// ShapingMatcher is the Matcher on shaping data: the native match_rules
// of the data Current returns (called once per record, so a memoized
// loader keeps it cheap). MX answers provider rules matched by MX host
// (nil: such providers never match).
type ShapingMatcher struct {
	Current func(ctx context.Context) (*shaping.Shaping, error)
	MX      shaping.MXLookup
}

// MatchesAnyRule implements Matcher.
func (m ShapingMatcher) MatchesAnyRule(ctx context.Context, rec *logrecord.Record) (bool, error) {
	data, err := m.Current(ctx)
	if err != nil {
		return false, err
	}
	matched, err := data.MatchRules(ctx, RecordView(rec), m.MX)
	if err != nil {
		return false, err
	}
	return len(matched) > 0, nil
}

// RecordView is what shaping's match_rules reads of a log record.
func RecordView(rec *logrecord.Record) shaping.RecordView {
	view := shaping.RecordView{
		EgressSource: rec.EgressSource,
		Site:         rec.Site,
		Code:         int(rec.Response.Code),
		Content:      rec.Response.Content,
	}
	if len(rec.Recipients) > 0 {
		view.Recipient = rec.Recipients[0]
	}
	if e := rec.Response.Enhanced; e != nil {
		view.Enhanced = &shaping.EnhancedCode{Class: int(e.Class), Subject: int(e.Subject), Detail: int(e.Detail)}
	}
	return view
}

// Filter is the publish side's should_enqueue_log_record decision.
type Filter struct {
	hooks     map[string]bool
	skip      map[string]bool
	preFilter bool
	matcher   Matcher
}

// NewFilter builds the filter of o's publish hooks. matcher is consulted
// only with o.PreFilter; a nil matcher then refuses every record (as a
// failing match_rules does).
func NewFilter(o *Options, matcher Matcher) *Filter {
	f := &Filter{hooks: map[string]bool{}, skip: map[string]bool{}, preFilter: o.PreFilter, matcher: matcher}
	for _, h := range o.Hooks() {
		f.hooks[h.Name] = true
	}
	for _, t := range o.SkipLogRecordTypes {
		f.skip[t] = true
	}
	return f
}

// Owns reports whether hook is one of the publish hooks. A hook the
// filter does not own is left to other should_enqueue_log_record handlers.
func (f *Filter) Owns(hook string) bool { return f.hooks[hook] }

// Accept decides whether rec goes to hook's queue (the caller then sets
// the record's `queue` meta to hook). It refuses: hooks it does not own;
// records received as LogRecord (another node's log); records whose queue
// is one of the publish hooks (the outcome of publishing); records of a
// skipped type; with the pre-filter, records matching no automation rule
// or whose matching fails.
func (f *Filter) Accept(ctx context.Context, hook string, rec *logrecord.Record) bool {
	if !f.hooks[hook] || rec == nil {
		return false
	}
	if rec.ReceptionProtocol == "LogRecord" || f.hooks[rec.Queue] || f.skip[rec.Type] {
		return false
	}
	if !f.preFilter {
		return true
	}
	if f.matcher == nil {
		return false
	}
	ok, err := f.matcher.MatchesAnyRule(ctx, rec)
	return err == nil && ok
}
