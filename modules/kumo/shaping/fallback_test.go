package shaping

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// A stand-in served by Env.Fallback goes by its own name in origins,
// warnings and errors, never by the missing path it stands in for; a path
// the fallback does not cover is still a load error naming it.
func TestFallbackStandInGoesByItsOwnName(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "missing", "shaping.toml")
	const standIn = "[stand-in]/shaping.toml (standing in for the missing file)"
	content := "[default]\nconnection_limit = 7\n[example]\nmx_rollup = false\n"
	env := testEnv()
	env.Fallback = func(path string) ([]byte, string, bool) {
		if path != missing {
			return nil, "", false
		}
		return []byte(content), standIn, true
	}
	s, err := Load(context.Background(), []string{missing}, DefaultOptions(), env)
	if err != nil {
		t.Fatal(err)
	}
	var trace []Layer
	s.Resolve(context.Background(), Query{Domain: "not a domain", Source: "unspecified", Site: "x"}, nil, &trace)
	if len(trace) != 1 || len(trace[0].Origin) != 1 || trace[0].Origin[0].File != standIn {
		t.Errorf("origin of the default block: %+v, want %q", trace, standIn)
	}
	diags := s.Diagnostics()
	if len(diags) != 1 || diags[0].File != standIn || strings.Contains(diags[0].Message, missing) {
		t.Errorf("warnings: %+v, want one in %q", diags, standIn)
	}

	content = "[default]\nconnection_limit = \n"
	_, err = Load(context.Background(), []string{missing}, DefaultOptions(), env)
	var he *HardError
	if !errors.As(err, &he) || he.Path != standIn || !strings.Contains(err.Error(), "parsing toml from file "+standIn+": ") || strings.Contains(err.Error(), missing) {
		t.Errorf("parse error: %v, want one naming %q", err, standIn)
	}

	other := filepath.Join(t.TempDir(), "other.toml")
	s, err = Load(context.Background(), []string{other}, DefaultOptions(), env)
	if err != nil {
		t.Fatal(err)
	}
	if errs := s.Errors(); len(errs) != 1 || !strings.Contains(errs[0], "loading data from file "+other+": No such file or directory") {
		t.Errorf("uncovered missing file: %v", errs)
	}
}
