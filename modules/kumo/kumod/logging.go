package kumod

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"runtime"
	"sort"
	"strings"
	"time"

	"github.com/kumopolicy/kumopolicy/modules/kumo/logrecord"
	"github.com/kumopolicy/kumopolicy/modules/kumo/paths"
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

type recordParams = LogRecordParams

var recordParamsSchema = plain.NewSchema("LogRecordParams", true,
	plain.OptStringField("suffix", func(p *recordParams) **string { return &p.Suffix }),
	plain.Field[recordParams]{Name: "log_dir", Decode: func(p *recordParams, v any) error {
		s, err := asPath(v)
		p.LogDir = &s
		return err
	}},
	plain.BoolField("enable", func(p *recordParams) *bool { return &p.Enable }),
	plain.OptStringField("template", func(p *recordParams) **string { return &p.Template }),
	plain.StringField("segment_header", func(p *recordParams) *string { return &p.SegmentHeader }),
).InKeyOrder()

// perRecordField is a per_record map from record type to LogRecordParams.
func perRecordField[T any](get func(*T) *map[string]LogRecordParams) plain.Field[T] {
	return plain.Field[T]{Name: "per_record", Decode: func(dst *T, v any) error {
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
			if err := recordParamsSchema.Decode(&p, m[k]); err != nil {
				return plain.AtField(err, k)
			}
			out[k] = p
		}
		*get(dst) = out
		return nil
	}}
}

var localLogsSchema = plain.NewSchema("LogFileParams", true,
	pathField("log_dir", func(l *LocalLogs) *string { return &l.LogDir }).Req(),
	u64Field("max_file_size", func(l *LocalLogs) *uint64 { return &l.MaxFileSize }),
	plain.UintField("back_pressure", 64, func(l *LocalLogs) *uint64 { return &l.BackPressure }),
	i32Field("compression_level", func(l *LocalLogs) *int64 { return &l.CompressionLevel }),
	plain.OptDurationField("max_segment_duration", func(l *LocalLogs) **time.Duration { return &l.MaxSegmentDuration }),
	plain.StringListField("meta", func(l *LocalLogs) *[]string { return &l.Meta }),
	plain.StringListField("headers", func(l *LocalLogs) *[]string { return &l.Headers }),
	perRecordField(func(l *LocalLogs) *map[string]LogRecordParams { return &l.PerRecord }),
	plain.OptStringField("filter_event", func(l *LocalLogs) **string { return &l.FilterEvent }),
	minFreeField("min_free_space", func(l *LocalLogs) *MinFree { return &l.MinFreeSpace }),
	minFreeField("min_free_inodes", func(l *LocalLogs) *MinFree { return &l.MinFreeInodes }),
).InKeyOrder()

// DecodeLocalLogs decodes and checks the parameters of
// kumo.configure_local_logs.
func DecodeLocalLogs(v any) (*LocalLogs, error) {
	l := &LocalLogs{
		MaxFileSize: 1_000_000_000, BackPressure: defaultBackPressure,
		Meta: []string{}, Headers: []string{}, PerRecord: map[string]LogRecordParams{},
		MinFreeSpace: defaultMinFree, MinFreeInodes: defaultMinFree,
	}
	if err := localLogsSchema.Decode(l, v); err != nil {
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

var logHookSchema = plain.NewSchema("LogHookParams", true,
	plain.StringField("name", func(h *LogHook) *string { return &h.Name }).Req(),
	plain.UintField("back_pressure", 64, func(h *LogHook) *uint64 { return &h.BackPressure }),
	plain.StringListField("meta", func(h *LogHook) *[]string { return &h.Meta }),
	plain.StringListField("headers", func(h *LogHook) *[]string { return &h.Headers }),
	perRecordField(func(h *LogHook) *map[string]LogRecordParams { return &h.PerRecord }),
	plain.BoolField("deferred_spool", func(h *LogHook) *bool { return &h.DeferredSpool }),
).InKeyOrder()

// DecodeLogHook decodes the parameters of kumo.configure_log_hook.
func DecodeLogHook(v any) (*LogHook, error) {
	h := &LogHook{BackPressure: defaultBackPressure, Meta: []string{}, Headers: []string{}, PerRecord: map[string]LogRecordParams{}}
	if err := logHookSchema.Decode(h, v); err != nil {
		return nil, wrapDeserialize(err, v)
	}
	return h, nil
}

var dispHookSchema = plain.NewSchema("DispHookParams", true,
	plain.StringField("name", func(h *LogDispositionHook) *string { return &h.Name }).Req(),
	perRecordField(func(h *LogDispositionHook) *map[string]LogRecordParams { return &h.PerRecord }),
).InKeyOrder()

// DecodeLogDispositionHook decodes the parameters of
// kumo.configure_log_disposition_hook.
func DecodeLogDispositionHook(v any) (*LogDispositionHook, error) {
	h := &LogDispositionHook{PerRecord: map[string]LogRecordParams{}}
	if err := dispHookSchema.Decode(h, v); err != nil {
		return nil, wrapDeserialize(err, v)
	}
	return h, nil
}

var classifierSchema = plain.NewSchema("ClassifierParams", true,
	plain.StringListField("files", func(c *BounceClassifier) *[]string { return &c.Files }).Req(),
	plain.UintField("back_pressure", 64, func(c *BounceClassifier) *uint64 { return &c.BackPressure }),
	plain.UintField("pool_size", 64, func(c *BounceClassifier) *uint64 { return &c.PoolSize }),
	plain.UintField("cache_size", 64, func(c *BounceClassifier) *uint64 { return &c.CacheSize }),
	plain.UintField("uncategorized_cache_size", 64, func(c *BounceClassifier) *uint64 { return &c.UncategorizedCacheSize }),
).InKeyOrder()

// DecodeBounceClassifier decodes the parameters of
// kumo.configure_bounce_classifier and checks that every rules file has a
// .toml or .json name and exists (the files are not parsed).
func DecodeBounceClassifier(v any, pm *paths.Map) (*BounceClassifier, error) {
	c := &BounceClassifier{
		BackPressure: 128 * 1024, PoolSize: uint64(max(runtime.NumCPU()/4, 1)),
		CacheSize: 1024, UncategorizedCacheSize: 1024,
	}
	if err := classifierSchema.Decode(c, v); err != nil {
		return nil, wrapDeserialize(err, v)
	}
	for _, f := range c.Files {
		if !strings.HasSuffix(f, ".json") && !strings.HasSuffix(f, ".toml") {
			return nil, fmt.Errorf("%s: classifier files must have either .toml or .json filename extension", f)
		}
		if local := pm.Local(f); local != f {
			if _, err := os.Stat(local); err != nil {
				return nil, fmt.Errorf("kumo.configure_bounce_classifier: %s (read from %s): %w", f, local, unwrapPathError(err))
			}
		} else if _, err := os.Stat(f); err != nil {
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
		"meta":              plain.StringsToAny(l.Meta),
		"headers":           plain.StringsToAny(l.Headers),
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
		"meta":           plain.StringsToAny(h.Meta),
		"headers":        plain.StringsToAny(h.Headers),
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
		"files":                    plain.StringsToAny(c.Files),
		"back_pressure":            int64(c.BackPressure),
		"pool_size":                int64(c.PoolSize),
		"cache_size":               int64(c.CacheSize),
		"uncategorized_cache_size": int64(c.UncategorizedCacheSize),
	}
}

// unwrapPathError drops an *fs.PathError's operation and path, for
// messages that name the path themselves.
func unwrapPathError(err error) error {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
