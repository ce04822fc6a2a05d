package kumod

import (
	"fmt"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// RecordTypes are KumoMTA's log record types, the keys of per_record.
var RecordTypes = logrecord.Types

// LogRecordParams tunes one record type of a log (per_record entries).
type LogRecordParams struct {
	Suffix        *string
	LogDir        *string
	Enable        bool // default true
	Template      *string
	SegmentHeader string
}

// LocalLogs is the parameter table of kumo.configure_local_logs
// (KumoMTA's LogFileParams).
type LocalLogs struct {
	LogDir             string
	MaxFileSize        uint64 // default 1000000000
	BackPressure       uint64 // default 128000
	CompressionLevel   int64  // default 0 (zstd's default level)
	MaxSegmentDuration *time.Duration
	Meta               []string
	Headers            []string
	PerRecord          map[string]LogRecordParams
	FilterEvent        *string
	MinFreeSpace       MinFree // default 10%
	MinFreeInodes      MinFree // default 10%
}

// LogHook is the parameter table of kumo.configure_log_hook (KumoMTA's
// LogHookParams).
type LogHook struct {
	Name          string
	BackPressure  uint64 // default 128000
	Meta          []string
	Headers       []string
	PerRecord     map[string]LogRecordParams
	DeferredSpool bool
}

// LogDispositionHook is the parameter table of
// kumo.configure_log_disposition_hook (KumoMTA's DispHookParams).
type LogDispositionHook struct {
	Name      string
	PerRecord map[string]LogRecordParams
}

// BounceClassifier is the parameter table of kumo.configure_bounce_classifier.
type BounceClassifier struct {
	Files                  []string
	BackPressure           uint64 // default 131072
	PoolSize               uint64 // default: a quarter of the CPUs, at least 1
	CacheSize              uint64 // default 1024
	UncategorizedCacheSize uint64 // default 1024
}

const defaultBackPressure = 128_000

func setPerRecord(dst *map[string]LogRecordParams) func(any) error {
	return func(v any) error {
		m, err := plain.AsMap(v, "a map")
		if err != nil {
			return err
		}
		out := make(map[string]LogRecordParams, len(m))
		for _, k := range plain.SortedKeys(m) {
			if _, err := plain.DecodeEnum(k, "RecordType", RecordTypes); err != nil {
				return err
			}
			p := LogRecordParams{Enable: true}
			err := decodeStruct(m[k], "LogRecordParams", []field{
				{name: "suffix", set: setOptString(&p.Suffix)},
				{name: "log_dir", set: func(v any) error {
					s, err := asPath(v)
					p.LogDir = &s
					return err
				}},
				{name: "enable", set: setBool(&p.Enable)},
				{name: "template", set: setOptString(&p.Template)},
				{name: "segment_header", set: setString(&p.SegmentHeader)},
			}, structOpts{})
			if err != nil {
				return plain.AtField(err, k)
			}
			out[k] = p
		}
		*dst = out
		return nil
	}
}

// DecodeLocalLogs decodes and checks the parameters of
// kumo.configure_local_logs.
func DecodeLocalLogs(v any) (*LocalLogs, error) {
	l := &LocalLogs{
		MaxFileSize: 1_000_000_000, BackPressure: defaultBackPressure,
		Meta: []string{}, Headers: []string{}, PerRecord: map[string]LogRecordParams{},
		MinFreeSpace: defaultMinFree, MinFreeInodes: defaultMinFree,
	}
	err := decodeStruct(v, "LogFileParams", []field{
		{name: "log_dir", required: true, set: setPath(&l.LogDir)},
		{name: "max_file_size", set: func(v any) (err error) {
			l.MaxFileSize, err = asUint(v, "u64")
			return
		}},
		{name: "back_pressure", set: setUsize(&l.BackPressure)},
		{name: "compression_level", set: func(v any) (err error) {
			l.CompressionLevel, err = asI32(v)
			return
		}},
		{name: "max_segment_duration", set: setOptDuration(&l.MaxSegmentDuration)},
		{name: "meta", set: setStringList(&l.Meta)},
		{name: "headers", set: setStringList(&l.Headers)},
		{name: "per_record", set: setPerRecord(&l.PerRecord)},
		{name: "filter_event", set: setOptString(&l.FilterEvent)},
		{name: "min_free_space", set: setMinFree(&l.MinFreeSpace)},
		{name: "min_free_inodes", set: setMinFree(&l.MinFreeInodes)},
	}, structOpts{})
	if err != nil {
		return nil, wrapDeserialize(err, v)
	}
	if err := checkPath("kumo.configure_local_logs", "log_dir", l.LogDir); err != nil {
		return nil, err
	}
	if err := checkPerRecordDirs("kumo.configure_local_logs", l.PerRecord); err != nil {
		return nil, err
	}
	return l, nil
}

func checkPerRecordDirs(fn string, per map[string]LogRecordParams) error {
	for _, k := range sortedRecordKeys(per) {
		if d := per[k].LogDir; d != nil {
			if err := checkPath(fn, "per_record."+k+".log_dir", *d); err != nil {
				return err
			}
		}
	}
	return nil
}

// DecodeLogHook decodes the parameters of kumo.configure_log_hook.
func DecodeLogHook(v any) (*LogHook, error) {
	h := &LogHook{BackPressure: defaultBackPressure, Meta: []string{}, Headers: []string{}, PerRecord: map[string]LogRecordParams{}}
	err := decodeStruct(v, "LogHookParams", []field{
		{name: "name", required: true, set: setString(&h.Name)},
		{name: "back_pressure", set: setUsize(&h.BackPressure)},
		{name: "meta", set: setStringList(&h.Meta)},
		{name: "headers", set: setStringList(&h.Headers)},
		{name: "per_record", set: setPerRecord(&h.PerRecord)},
		{name: "deferred_spool", set: setBool(&h.DeferredSpool)},
	}, structOpts{})
	if err != nil {
		return nil, wrapDeserialize(err, v)
	}
	return h, nil
}

// DecodeLogDispositionHook decodes the parameters of
// kumo.configure_log_disposition_hook.
func DecodeLogDispositionHook(v any) (*LogDispositionHook, error) {
	h := &LogDispositionHook{PerRecord: map[string]LogRecordParams{}}
	err := decodeStruct(v, "DispHookParams", []field{
		{name: "name", required: true, set: setString(&h.Name)},
		{name: "per_record", set: setPerRecord(&h.PerRecord)},
	}, structOpts{})
	if err != nil {
		return nil, wrapDeserialize(err, v)
	}
	return h, nil
}

// DecodeBounceClassifier decodes the parameters of
// kumo.configure_bounce_classifier and checks that every rules file has a
// .toml or .json name and exists (the files are not parsed).
func DecodeBounceClassifier(v any) (*BounceClassifier, error) {
	c := &BounceClassifier{
		BackPressure: 128 * 1024, PoolSize: uint64(max(runtime.NumCPU()/4, 1)),
		CacheSize: 1024, UncategorizedCacheSize: 1024,
	}
	err := decodeStruct(v, "ClassifierParams", []field{
		{name: "files", required: true, set: setStringList(&c.Files)},
		{name: "back_pressure", set: setUsize(&c.BackPressure)},
		{name: "pool_size", set: setUsize(&c.PoolSize)},
		{name: "cache_size", set: setUsize(&c.CacheSize)},
		{name: "uncategorized_cache_size", set: setUsize(&c.UncategorizedCacheSize)},
	}, structOpts{})
	if err != nil {
		return nil, wrapDeserialize(err, v)
	}
	for _, f := range c.Files {
		if !strings.HasSuffix(f, ".json") && !strings.HasSuffix(f, ".toml") {
			return nil, fmt.Errorf("%s: classifier files must have either .toml or .json filename extension", f)
		}
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("kumo.configure_bounce_classifier: %w", err)
		}
	}
	return c, nil
}

func sortedRecordKeys(m map[string]LogRecordParams) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func perRecordData(m map[string]LogRecordParams) map[string]any {
	out := make(map[string]any, len(m))
	for k, p := range m {
		e := map[string]any{"enable": p.Enable, "segment_header": p.SegmentHeader}
		putOpt(e, "suffix", p.Suffix)
		putOpt(e, "log_dir", p.LogDir)
		putOpt(e, "template", p.Template)
		out[k] = e
	}
	return out
}

// Data renders the log parameters as plain data.
func (l *LocalLogs) Data() map[string]any {
	m := map[string]any{
		"log_dir":           l.LogDir,
		"max_file_size":     int64(l.MaxFileSize),
		"back_pressure":     int64(l.BackPressure),
		"compression_level": l.CompressionLevel,
		"meta":              stringsToAny(l.Meta),
		"headers":           stringsToAny(l.Headers),
		"per_record":        perRecordData(l.PerRecord),
		"min_free_space":    l.MinFreeSpace.data(),
		"min_free_inodes":   l.MinFreeInodes.data(),
	}
	putDuration(m, "max_segment_duration", l.MaxSegmentDuration)
	putOpt(m, "filter_event", l.FilterEvent)
	return m
}

// Data renders the hook parameters as plain data.
func (h *LogHook) Data() map[string]any {
	return map[string]any{
		"name":           h.Name,
		"back_pressure":  int64(h.BackPressure),
		"meta":           stringsToAny(h.Meta),
		"headers":        stringsToAny(h.Headers),
		"per_record":     perRecordData(h.PerRecord),
		"deferred_spool": h.DeferredSpool,
	}
}

// Data renders the hook parameters as plain data.
func (h *LogDispositionHook) Data() map[string]any {
	return map[string]any{"name": h.Name, "per_record": perRecordData(h.PerRecord)}
}

// Data renders the classifier parameters as plain data.
func (c *BounceClassifier) Data() map[string]any {
	return map[string]any{
		"files":                    stringsToAny(c.Files),
		"back_pressure":            int64(c.BackPressure),
		"pool_size":                int64(c.PoolSize),
		"cache_size":               int64(c.CacheSize),
		"uncategorized_cache_size": int64(c.UncategorizedCacheSize),
	}
}
