package kumod

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kumopolicy/kumopolicy/modules/kumo/plain"
)

// Spool is the parameter table of kumo.define_spool (KumoMTA's
// DefineSpoolParams).
type Spool struct {
	Name          string
	Path          string
	Kind          string // LocalDisk (default) or RocksDB
	Flush         bool
	RocksParams   map[string]any // the recognised rocks_params, nil if absent
	MinFreeSpace  MinFree        // default 10%
	MinFreeInodes MinFree        // default 10%
}

// MinFree is a free-space threshold: a percentage or an absolute amount.
type MinFree struct {
	Percent bool
	Value   uint64
}

func (m MinFree) String() string {
	if m.Percent {
		return fmt.Sprintf("%d%%", m.Value)
	}
	return strconv.FormatUint(m.Value, 10)
}

// data is the threshold as KumoMTA accepts it back.
func (m MinFree) data() any {
	if m.Percent {
		return m.String()
	}
	return int64(m.Value)
}

var defaultMinFree = MinFree{Percent: true, Value: 10}

var spoolKinds = []string{"LocalDisk", "RocksDB"}

var spoolSchema = plain.NewSchema("DefineSpoolParams", true,
	plain.StringField("name", func(s *Spool) *string { return &s.Name }).Req(),
	pathField("path", func(s *Spool) *string { return &s.Path }).Req(),
	plain.EnumField("kind", plain.Enum{Name: "SpoolKind", Variants: spoolKinds}, func(s *Spool) *string { return &s.Kind }),
	plain.BoolField("flush", func(s *Spool) *bool { return &s.Flush }),
	plain.Field[Spool]{Name: "rocks_params", Decode: func(s *Spool, v any) (err error) {
		s.RocksParams, err = decodeRocksParams(v)
		return
	}},
	minFreeField("min_free_space", func(s *Spool) *MinFree { return &s.MinFreeSpace }),
	minFreeField("min_free_inodes", func(s *Spool) *MinFree { return &s.MinFreeInodes }),
).InKeyOrder()

// DecodeSpool decodes and checks the parameters of kumo.define_spool.
func DecodeSpool(v any) (*Spool, error) {
	s := &Spool{Kind: "LocalDisk", MinFreeSpace: defaultMinFree, MinFreeInodes: defaultMinFree}
	if err := spoolSchema.Decode(s, v); err != nil {
		return nil, wrapDeserialize(err, v)
	}
	if err := checkPath("kumo.define_spool", "path", s.Path); err != nil {
		return nil, err
	}
	return s, nil
}

// asMinFree reads "10%" (a percentage), "1000000" or 1000000 (bytes or
// inodes).
func asMinFree(v any) (MinFree, error) {
	switch x := v.(type) {
	case string:
		if n, ok := strings.CutSuffix(x, "%"); ok {
			p, err := parseRustUint(n, 8)
			if err != "" {
				return MinFree{}, plain.Custom("invalid MinFree percentage specifier. %s", err)
			}
			return MinFree{Percent: true, Value: p}, nil
		}
		p, err := parseRustUint(x, 64)
		if err != "" {
			return MinFree{}, plain.Custom("invalid MinFree size specifier. %s", err)
		}
		return MinFree{Value: p}, nil
	case int64:
		if x < 0 {
			return MinFree{}, plain.Custom("invalid MinFree size specifier. %d could not be converted to u64", x)
		}
		return MinFree{Value: uint64(x)}, nil
	case float64:
		return MinFree{}, plain.Custom("invalid MinFree size specifier. %s could not be converted to u64", strconv.FormatFloat(x, 'f', -1, 64))
	}
	return MinFree{}, plain.Custom("invalid MinFree specifier %s. Value must be either a percentage string like '10%%' or the size expressed as an integer", debugJSON(v))
}

// parseRustUint parses an unsigned integer as Rust's str::parse does,
// returning its error text on failure.
func parseRustUint(s string, bits int) (uint64, string) {
	t := strings.TrimPrefix(s, "+")
	if t == "" {
		return 0, "cannot parse integer from empty string"
	}
	for _, c := range t {
		if c < '0' || c > '9' {
			return 0, "invalid digit found in string"
		}
	}
	n, err := strconv.ParseUint(t, 10, bits)
	if err != nil {
		return 0, "number too large to fit in target type"
	}
	return n, ""
}

// debugJSON renders a value roughly as serde_json::Value's Debug form.
func debugJSON(v any) string {
	switch x := v.(type) {
	case nil:
		return "Null"
	case bool:
		return fmt.Sprintf("Bool(%v)", x)
	case []any:
		return "Array " + renderJSON(x)
	case map[string]any:
		return "Object " + renderJSON(x)
	}
	return renderJSON(v)
}

var (
	rocksCompression = []string{"None", "Snappy", "Zlib", "Bz2", "Lz4", "Lz4hc", "Zstd"}
	rocksLogLevels   = []string{"Debug", "Info", "Warn", "Error", "Fatal", "Header"}
)

// rocksParams holds the recognised rocks_params by name.
type rocksParams = map[string]any

// rocksField is a rocks_params entry stored under its name by decode.
func rocksField[V any](name string, decode func(any) (V, error)) plain.Field[rocksParams] {
	return plain.Field[rocksParams]{Name: name, Decode: func(out *rocksParams, v any) error {
		x, err := decode(v)
		(*out)[name] = x
		return err
	}}
}

func rocksI32(name string) plain.Field[rocksParams] { return rocksField(name, asI32) }

func rocksUsize(name string) plain.Field[rocksParams] {
	return rocksField(name, func(v any) (int64, error) {
		n, err := plain.DecodeUint(v, 64)
		return int64(n), err
	})
}

func rocksBool(name string) plain.Field[rocksParams] { return rocksField(name, plain.DecodeBool) }

func rocksDuration(name string) plain.Field[rocksParams] {
	return rocksField(name, func(v any) (string, error) {
		d, err := plain.DecodeDuration(v)
		return plain.FormatDuration(d), err
	})
}

func rocksEnum(name, enumName string, variants []string) plain.Field[rocksParams] {
	return rocksField(name, plain.Enum{Name: enumName, Variants: variants}.Decode)
}

var rocksParamsSchema = plain.NewSchema("RocksSpoolParams", true,
	rocksI32("increase_parallelism"),
	rocksUsize("optimize_level_style_compaction"),
	rocksUsize("optimize_universal_style_compaction"),
	rocksBool("paranoid_checks"),
	rocksEnum("compression_type", "DBCompressionTypeDef", rocksCompression),
	rocksUsize("compaction_readahead_size"),
	rocksBool("level_compaction_dynamic_level_bytes"),
	rocksUsize("max_open_files"),
	rocksUsize("write_buffer_size"),
	rocksI32("level0_stop_writes_trigger"),
	rocksEnum("log_level", "LogLevelDef", rocksLogLevels),
	rocksUsize("memtable_huge_page_size"),
	rocksDuration("log_file_time_to_roll"),
	rocksDuration("obsolete_files_period"),
	rocksUsize("limit_concurrent_stores"),
	rocksUsize("limit_concurrent_loads"),
	rocksUsize("limit_concurrent_removes"),
	rocksDuration("store_deadline"),
	rocksDuration("error_latch_duration"),
	rocksDuration("error_unlatch_duration"),
	rocksBool("allow_error_unlatch"),
).IgnoreUnknown().InKeyOrder()

// decodeRocksParams checks the RocksDB tuning parameters KumoMTA knows and,
// like KumoMTA, ignores other keys. The result holds the recognised keys,
// durations in humantime form.
func decodeRocksParams(v any) (map[string]any, error) {
	out := rocksParams{}
	if err := rocksParamsSchema.Decode(&out, v); err != nil {
		return nil, err
	}
	return out, nil
}

// Data renders the spool parameters as plain data.
func (s *Spool) Data() map[string]any {
	m := map[string]any{
		"name":            s.Name,
		"path":            s.Path,
		"kind":            s.Kind,
		"flush":           s.Flush,
		"min_free_space":  s.MinFreeSpace.data(),
		"min_free_inodes": s.MinFreeInodes.data(),
	}
	if s.RocksParams != nil {
		m["rocks_params"] = s.RocksParams
	}
	return m
}
