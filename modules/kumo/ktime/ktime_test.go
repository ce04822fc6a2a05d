package ktime

import (
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kumopolicy/kumopolicy/internal/sharedref"
)

func TestTexts(t *testing.T) {
	tm, err := WithYMDHMS(2000, 1, 2, 3, 4, 5)
	if err != nil {
		t.Fatal(err)
	}
	for got, want := range map[string]string{
		Display(tm):                              "2000-01-02 03:04:05 UTC",
		RFC2822(tm):                              "Sun, 2 Jan 2000 03:04:05 +0000",
		RFC3339(tm):                              "2000-01-02T03:04:05+00:00",
		Display(tm.Add(500 * time.Millisecond)):  "2000-01-02 03:04:05.500 UTC",
		Display(tm.Add(1500 * time.Microsecond)): "2000-01-02 03:04:05.001500 UTC",
		RFC3339(tm.Add(7)):                       "2000-01-02T03:04:05.000000007+00:00",
		Human(1500 * time.Millisecond):           "1s 500ms",
		Human(-2 * time.Second):                  "-2s",
	} {
		if got != want {
			t.Errorf("got %q, want %q", got, want)
		}
	}
}

func TestParse(t *testing.T) {
	want, _ := WithYMDHMS(2000, 1, 2, 3, 4, 5)
	for _, s := range []string{"Sun, 2 Jan 2000 03:04:05 +0000", "Sun, 2 Jan 2000 03:04:05 UTC", "Sun, 2 Jan 2000 04:04:05 +0100"} {
		got, err := ParseRFC2822(s)
		if err != nil || !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("%q: %v, %v", s, got, err)
		}
	}
	got, err := ParseRFC3339("2000-01-02T01:04:05-02:00")
	if err != nil || !got.Equal(want) {
		t.Errorf("rfc3339: %v %v", got, err)
	}
	for _, bad := range []func() error{
		func() error { _, err := ParseRFC2822("yesterday"); return err },
		func() error { _, err := ParseRFC3339("2000-01-02"); return err },
		func() error { _, err := WithYMDHMS(2001, 2, 29, 0, 0, 0); return err },
		func() error { _, err := WithYMDHMS(2000, 1, 1, 24, 0, 0); return err },
		func() error { _, err := FromUnix(1e300); return err },
		func() error { _, err := ParseDelta("5 parsecs"); return err },
	} {
		if bad() == nil {
			t.Error("no error")
		}
	}
	if d, err := ParseDelta("5 mins"); err != nil || d != 5*time.Minute {
		t.Errorf("5 mins: %v %v", d, err)
	}
	if tm, _ := FromUnix(-0.5); !tm.Equal(time.Unix(-1, 5e8)) {
		t.Errorf("-0.5: %v", tm)
	}
}

func TestFormatLenient(t *testing.T) {
	tm, _ := WithYMDHMS(2000, 1, 2, 3, 4, 5)
	tm = tm.Add(26 * time.Millisecond)
	for layout, want := range map[string]string{
		"%H:%M:%S%":    "03:04:05%",
		"%Q and %":     "%Q and %",
		"%-d/%-m %_H":  "2/1  3",
		"%S%.f %S%.6f": "05.026 05.026000",
		"%3f %:z %s":   "026 +00:00 946782245",
		"%+":           "2000-01-02T03:04:05.026+00:00",
	} {
		if got := Format(tm, layout); got != want {
			t.Errorf("%q: got %q, want %q", layout, got, want)
		}
	}
}

// TestFormatMatchesStrftime compares the specifiers chrono shares with C's
// strftime against lua5.4's os.date over a spread of dates.
func TestFormatMatchesStrftime(t *testing.T) {
	lua54 := sharedref.Tool(t, "lua5.4")
	const layout = "%Y %C %y %m %b %h %B %d %e %a %A %w %u %U %W %G %g %V %j %D %F %H %I %M %S %p %R %T %Z %z %%"
	var stamps []int64
	for s := int64(-86400 * 400); s < 86400*365*60; s += 86400*37 + 3607*5 {
		stamps = append(stamps, s)
	}
	var script strings.Builder
	for _, s := range stamps {
		script.WriteString("print(os.date('!" + strings.ReplaceAll(layout, "%Z", "UTC") + "', " + strconv.FormatInt(s, 10) + "))\n")
	}
	cmd := exec.Command(lua54, "-")
	cmd.Stdin = strings.NewReader(script.String())
	cmd.Env = append(cmd.Environ(), "LC_ALL=C", "TZ=UTC")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("lua5.4: %v", err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if len(lines) != len(stamps) {
		t.Fatalf("lua5.4 printed %d lines for %d stamps", len(lines), len(stamps))
	}
	for i, s := range stamps {
		if got := Format(time.Unix(s, 0), layout); got != lines[i] {
			t.Errorf("%d: got  %q\n      want %q", s, got, lines[i])
		}
	}
}
