package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/tsa/automation"
	"github.com/kumopolicy/kumopolicy/modules/tsa/httpapi"
)

// kumopolicy's admin routes. They live under a prefix of their own, so
// they cannot collide with KumoMTA's routes (its /api/admin/... names have
// no "tsa/" component), and like those they are for trusted hosts only.
const (
	// AdminEntriesPath lists the active entries with their rules (GET).
	AdminEntriesPath = "/api/admin/tsa/v1/entries"
	// AdminCancelPath cancels one entry (POST {"key": "<entry key>"}).
	AdminCancelPath = "/api/admin/tsa/v1/cancel"
)

// adminBodyLimit bounds a cancel request's body.
const adminBodyLimit = 64 * 1024

// adminRule is the rule that produced an entry, as the admin routes show
// it.
type adminRule struct {
	Hash          string   `json:"hash"`
	Regex         []string `json:"regex"`
	Actions       []string `json:"actions"`
	Trigger       string   `json:"trigger"`
	Duration      string   `json:"duration"`
	DurationSecs  float64  `json:"duration_secs"`
	MatchInternal bool     `json:"match_internal"`
	File          string   `json:"file"`
	Block         string   `json:"block"`
	Index         int      `json:"index"`
}

// adminEntry is one active entry: its key (what AdminCancelPath takes),
// its kind, the entry in the wire shape kumod sees (overrides: their
// shaping.toml parts) and the rule.
type adminEntry struct {
	Key   string          `json:"key"`
	Kind  string          `json:"kind"`
	Entry json.RawMessage `json:"entry"`
	Rule  adminRule       `json:"rule"`
}

type adminList struct {
	ReadyQ    []adminEntry `json:"ready_q"`
	SchedQ    []adminEntry `json:"sched_q"`
	Bounces   []adminEntry `json:"bounces"`
	Overrides []adminEntry `json:"overrides"`
}

func ruleOf(r automation.RuleInfo) adminRule {
	return adminRule{
		Hash: r.Hash, Regex: nonNil(r.Regex), Actions: nonNil(r.Actions), Trigger: r.Trigger,
		Duration: r.Duration.String(), DurationSecs: r.Duration.Seconds(), MatchInternal: r.MatchInternal,
		File: r.File, Block: r.Block, Index: r.Index,
	}
}

func nonNil(a []string) []string {
	if a == nil {
		return []string{}
	}
	return a
}

// overrideJSON is an override's fields; a value JSON cannot hold (a TOML
// nan or inf) is given as its Go text.
func overrideJSON(o *automation.ConfigOverride) json.RawMessage {
	value, err := json.Marshal(o.Value)
	if err != nil {
		value, _ = json.Marshal(fmt.Sprint(o.Value))
	}
	b, _ := marshal(struct {
		RuleHash string          `json:"rule_hash"`
		Site     string          `json:"site"`
		Domain   string          `json:"domain"`
		MxRollup bool            `json:"mx_rollup"`
		Source   string          `json:"source"`
		Name     string          `json:"name"`
		Value    json.RawMessage `json:"value"`
		Reason   string          `json:"reason"`
		Expires  string          `json:"expires"`
	}{o.RuleHash, o.Site, o.Domain, o.MxRollup, o.Source, o.Name, value, o.Reason, automation.FormatJSONTime(o.Expires)})
	return b
}

// adminEntryOf renders se; suspensions and bounces in the exact shape of
// suspended.json and bounced.json.
func adminEntryOf(se automation.StateEntry) (adminEntry, error) {
	key, err := se.Key()
	if err != nil {
		return adminEntry{}, err
	}
	var raw []byte
	switch {
	case se.Ready != nil:
		raw = se.Ready.AppendJSON(nil)
	case se.Sched != nil:
		raw = se.Sched.AppendJSON(nil)
	case se.Bounce != nil:
		raw = se.Bounce.AppendJSON(nil)
	case se.Override != nil:
		raw = overrideJSON(se.Override)
	}
	return adminEntry{Key: key, Kind: se.Kind(), Entry: raw, Rule: ruleOf(se.Rule)}, nil
}

// marshal is compact JSON without HTML escaping (regexes hold <, >, &).
func marshal(v any) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(b.Bytes(), []byte("\n")), nil
}

func (d *Daemon) addAdminRoutes(api *httpapi.Server) error {
	if err := api.Handle(http.MethodGet, AdminEntriesPath, httpapi.TrustedOnly, d.afterRestore(d.adminEntries)); err != nil {
		return err
	}
	return api.Handle(http.MethodPost, AdminCancelPath, httpapi.TrustedOnly, d.afterRestore(d.adminCancel))
}

func (d *Daemon) adminEntries(w http.ResponseWriter, r *http.Request) {
	s := d.engine.Snapshot(d.now())
	l := adminList{ReadyQ: []adminEntry{}, SchedQ: []adminEntry{}, Bounces: []adminEntry{}, Overrides: []adminEntry{}}
	var bad []error
	add := func(to *[]adminEntry, se automation.StateEntry) {
		e, err := adminEntryOf(se)
		if err != nil {
			bad = append(bad, err)
			return
		}
		*to = append(*to, e)
	}
	for i := range s.Ready {
		add(&l.ReadyQ, automation.StateEntry{Ready: &s.Ready[i].Entry, Rule: s.Ready[i].Rule})
	}
	for i := range s.Sched {
		add(&l.SchedQ, automation.StateEntry{Sched: &s.Sched[i].Entry, Rule: s.Sched[i].Rule})
	}
	for i := range s.Bounces {
		add(&l.Bounces, automation.StateEntry{Bounce: &s.Bounces[i].Entry, Rule: s.Bounces[i].Rule})
	}
	for i := range s.Overrides {
		add(&l.Overrides, automation.StateEntry{Override: &s.Overrides[i].Entry, Rule: s.Overrides[i].Rule})
	}
	for _, err := range bad { // cannot happen for entries the engine keyed
		d.log.Error("admin entries: " + err.Error())
	}
	body, err := marshal(l)
	if err != nil {
		writeText(w, http.StatusInternalServerError, "encoding the entries: "+err.Error())
		return
	}
	write(w, "application/json", string(body))
}

// adminCancel serves POST AdminCancelPath: body {"key":"<entry key>"}.
// 200 with {"cancelled":<entry as the list shows it>,"events":N} once the
// removal is on disk and its events are published; 400 for a bad body or
// key, 404 when no active entry has the key, 500 when the state could not
// be written (the entry then stays).
func (d *Daemon) adminCancel(w http.ResponseWriter, r *http.Request) {
	data, err := httpapi.ReadBody(r, adminBodyLimit)
	if err != nil {
		if httpapi.IsTooLarge(err) {
			writeText(w, http.StatusRequestEntityTooLarge, "request body over "+fmt.Sprint(adminBodyLimit)+" bytes")
			return
		}
		writeText(w, http.StatusBadRequest, "reading the request body: "+err.Error())
		return
	}
	var req struct {
		Key *string `json:"key"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil || req.Key == nil {
		writeText(w, http.StatusBadRequest, `expected a JSON body {"key":"<entry key>"} with a key as `+AdminEntriesPath+` lists it`)
		return
	}
	now := d.now()
	d.stateMu.Lock()
	c, err := d.engine.Cancel(*req.Key, now)
	if err == nil {
		d.hub.publish(c.Events)
	}
	d.stateMu.Unlock()
	var ke *automation.KeyError
	var pe *automation.PersistError
	switch {
	case errors.As(err, &ke):
		writeText(w, http.StatusBadRequest, err.Error())
		return
	case errors.Is(err, automation.ErrNoSuchEntry):
		writeText(w, http.StatusNotFound, fmt.Sprintf("no active entry with key %s (it may have expired or been cancelled; %s lists the active ones)", *req.Key, AdminEntriesPath))
		return
	case errors.As(err, &pe):
		n := d.persistErrs.Add(1)
		d.log.Error(fmt.Sprintf("STATE NOT SAVED (%d failed writes so far): cancelling %s: %v; the entry stays", n, *req.Key, err))
		writeText(w, http.StatusInternalServerError, "the cancellation could not be saved, the entry stays: "+err.Error())
		return
	case err != nil:
		writeText(w, http.StatusInternalServerError, err.Error())
		return
	}
	ent, err := adminEntryOf(c.Entry)
	if err != nil {
		writeText(w, http.StatusInternalServerError, err.Error())
		return
	}
	d.log.Info(fmt.Sprintf("admin: cancelled %s (%s, expires %s); %d events sent to subscribers",
		ent.Key, ent.Kind, c.Entry.Expires().UTC().Format(time.RFC3339), len(c.Events)))
	body, err := marshal(struct {
		Cancelled adminEntry `json:"cancelled"`
		Events    int        `json:"events"`
	}{ent, len(c.Events)})
	if err != nil {
		writeText(w, http.StatusInternalServerError, err.Error())
		return
	}
	write(w, "application/json", string(body))
}
