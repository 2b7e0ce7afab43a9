// Package lambdaruntime knows when AWS deprecates each Lambda runtime. The
// dates live in deprecations.csv, the one place to update when AWS moves
// them.
package lambdaruntime

import (
	"bytes"
	_ "embed"
	"encoding/csv"
	"fmt"
	"strings"
	"time"
)

//go:embed deprecations.csv
var table []byte

// Runtime is one runtime's lifecycle.
type Runtime struct {
	Name        string
	Family      string
	Deprecation time.Time // zero when AWS has announced none
	BlockCreate time.Time
	BlockUpdate time.Time
}

var runtimes = mustParse(table)

// Lookup finds a runtime by its identifier, such as python3.9.
func Lookup(name string) (Runtime, bool) {
	r, ok := runtimes[strings.ToLower(strings.TrimSpace(name))]
	return r, ok
}

// Status is how a runtime stands at a moment.
type Status int

// Statuses.
const (
	Supported  Status = iota
	Deprecated        // past its deprecation date
	Soon              // deprecated within the warning window
)

// StatusAt says whether a runtime is deprecated at t, or will be within
// window after t. Runtimes missing from the table count as supported: a new
// runtime is likelier than an unknown old one.
func StatusAt(name string, t time.Time, window time.Duration) (Runtime, Status) {
	r, ok := Lookup(name)
	if !ok || r.Deprecation.IsZero() {
		return r, Supported
	}
	switch {
	case !t.Before(r.Deprecation):
		return r, Deprecated
	case t.Add(window).After(r.Deprecation):
		return r, Soon
	}
	return r, Supported
}

func mustParse(data []byte) map[string]Runtime {
	m, err := parse(data)
	if err != nil {
		panic(fmt.Sprintf("lambdaruntime: deprecations.csv: %v", err))
	}
	return m
}

func parse(data []byte) (map[string]Runtime, error) {
	rows, err := csv.NewReader(bytes.NewReader(data)).ReadAll()
	if err != nil {
		return nil, err
	}
	if len(rows) < 2 {
		return nil, fmt.Errorf("no rows")
	}
	col := map[string]int{}
	for i, h := range rows[0] {
		col[h] = i
	}
	for _, h := range []string{"runtime", "family", "deprecation_date", "block_function_create", "block_function_update"} {
		if _, ok := col[h]; !ok {
			return nil, fmt.Errorf("header lacks column %q", h)
		}
	}
	m := make(map[string]Runtime, len(rows)-1)
	for i, row := range rows[1:] {
		r := Runtime{Name: row[col["runtime"]], Family: row[col["family"]]}
		for _, d := range []struct {
			dst *time.Time
			col string
		}{{&r.Deprecation, "deprecation_date"}, {&r.BlockCreate, "block_function_create"}, {&r.BlockUpdate, "block_function_update"}} {
			v := row[col[d.col]]
			if v == "" {
				continue
			}
			t, err := time.Parse(time.DateOnly, v)
			if err != nil {
				return nil, fmt.Errorf("line %d: %s: %w", i+2, d.col, err)
			}
			*d.dst = t
		}
		m[strings.ToLower(r.Name)] = r
	}
	return m, nil
}
