package dns

import (
	"slices"
	"strconv"
	"strings"
)

// FactorNames computes KumoMTA's site name for an ordered list of MX
// hosts: a compact, pseudo-regex rendering of the host names
// with their common labels factored out, aligned from the TLD.
//
//	(mta5|mta6|mta7).am0.yahoodns.net
//	(alt1|alt2|alt3|alt4)?.gmail-smtp-in.l.google.com
//
// Hosts may carry a `:PORT` suffix, which is attached to the TLD label
// (`net:123`). Names are lowercased; names that do not parse are skipped.
// The result depends on the order of hosts. The null MX `.` has no labels:
// alone it gives the empty string.
func FactorNames(hosts []string) string {
	split := make([][]string, 0, len(hosts))
	width := 0
	for _, h := range hosts {
		name, port, hasPort := hasColonPort(h)
		if !hasPort {
			name = h
		}
		labels, err := parseName(name)
		if err != nil {
			continue
		}
		fields := make([]string, len(labels))
		copy(fields, labels)
		if hasPort && len(fields) > 0 {
			fields[len(fields)-1] += ":" + strconv.Itoa(int(port))
		}
		slices.Reverse(fields)
		width = max(width, len(fields))
		split = append(split, fields)
	}

	// columns[i] lists the distinct labels seen at reversed position i, in
	// first-seen order; "?" stands for a name too short to reach i.
	columns := make([][]string, 0, width)
	add := func(i int, label string) {
		if i == len(columns) {
			columns = append(columns, []string{label})
			return
		}
		if !slices.Contains(columns[i], label) {
			columns[i] = append(columns[i], label)
		}
	}
	for _, fields := range split {
		for i, f := range fields {
			add(i, f)
		}
		for i := len(fields); i < width; i++ {
			add(i, "?")
		}
	}

	parts := make([]string, len(columns))
	for i, col := range columns {
		optional := false
		kept := col[:0:0]
		for _, l := range col {
			if l == "?" {
				optional = true
				continue
			}
			kept = append(kept, l)
		}
		var s string
		if len(kept) == 1 {
			s = kept[0]
		} else {
			s = "(" + strings.Join(kept, "|") + ")"
		}
		if optional {
			s += "?"
		}
		parts[len(columns)-1-i] = s
	}
	return strings.Join(parts, ".")
}
