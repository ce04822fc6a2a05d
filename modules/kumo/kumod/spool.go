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

// DecodeSpool decodes and checks the parameters of kumo.define_spool.
func DecodeSpool(v any) (*Spool, error) {
	s := &Spool{Kind: "LocalDisk", MinFreeSpace: defaultMinFree, MinFreeInodes: defaultMinFree}
	err := decodeStruct(v, "DefineSpoolParams", []field{
		{name: "name", required: true, set: setString(&s.Name)},
		{name: "path", required: true, set: setPath(&s.Path)},
		{name: "kind", set: setEnum(&s.Kind, "SpoolKind", spoolKinds)},
		{name: "flush", set: setBool(&s.Flush)},
		{name: "rocks_params", set: func(v any) (err error) {
			s.RocksParams, err = decodeRocksParams(v)
			return
		}},
		{name: "min_free_space", set: setMinFree(&s.MinFreeSpace)},
		{name: "min_free_inodes", set: setMinFree(&s.MinFreeInodes)},
	}, structOpts{})
	if err != nil {
		return nil, wrapDeserialize(err, v)
	}
	if err := checkPath("kumo.define_spool", "path", s.Path); err != nil {
		return nil, err
	}
	return s, nil
}

func setMinFree(dst *MinFree) func(any) error {
	return func(v any) (err error) { *dst, err = asMinFree(v); return }
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

// decodeRocksParams checks the RocksDB tuning parameters KumoMTA knows and,
// like KumoMTA, ignores other keys. The result holds the recognised keys,
// durations in humantime form.
func decodeRocksParams(v any) (map[string]any, error) {
	out := map[string]any{}
	i32 := func(name string) field {
		return field{name: name, set: func(v any) error {
			n, err := asI32(v)
			out[name] = n
			return err
		}}
	}
	usize := func(name string) field {
		return field{name: name, set: func(v any) error {
			n, err := asUsize(v)
			out[name] = int64(n)
			return err
		}}
	}
	boolean := func(name string) field {
		return field{name: name, set: func(v any) error {
			b, err := plain.DecodeBool(v)
			out[name] = b
			return err
		}}
	}
	duration := func(name string) field {
		return field{name: name, set: func(v any) error {
			d, err := plain.DecodeDuration(v)
			out[name] = durationText(d)
			return err
		}}
	}
	enum := func(name, enumName string, variants []string) field {
		return field{name: name, set: func(v any) error {
			e, err := plain.DecodeEnum(v, enumName, variants)
			out[name] = e
			return err
		}}
	}
	err := decodeStruct(v, "RocksSpoolParams", []field{
		i32("increase_parallelism"),
		usize("optimize_level_style_compaction"),
		usize("optimize_universal_style_compaction"),
		boolean("paranoid_checks"),
		enum("compression_type", "DBCompressionTypeDef", rocksCompression),
		usize("compaction_readahead_size"),
		boolean("level_compaction_dynamic_level_bytes"),
		usize("max_open_files"),
		usize("write_buffer_size"),
		i32("level0_stop_writes_trigger"),
		enum("log_level", "LogLevelDef", rocksLogLevels),
		usize("memtable_huge_page_size"),
		duration("log_file_time_to_roll"),
		duration("obsolete_files_period"),
		usize("limit_concurrent_stores"),
		usize("limit_concurrent_loads"),
		usize("limit_concurrent_removes"),
		duration("store_deadline"),
		duration("error_latch_duration"),
		duration("error_unlatch_duration"),
		boolean("allow_error_unlatch"),
	}, structOpts{allowUnknown: true})
	if err != nil {
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
