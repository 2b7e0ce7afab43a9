package lambdaruntime

import (
	"testing"
	"time"
)

func TestStatusAt(t *testing.T) {
	day := func(s string) time.Time {
		t.Helper()
		d, err := time.Parse(time.DateOnly, s)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	const window = 90 * 24 * time.Hour
	tests := []struct {
		runtime string
		at      string
		want    Status
	}{
		{"python3.9", "2026-11-01", Deprecated}, // 2025-12-15
		{"python3.9", "2025-12-15", Deprecated}, // on the day
		{"python3.9", "2025-12-14", Soon},       // the day before
		{"python3.9", "2025-09-17", Soon},       // 89 days before
		{"python3.9", "2025-09-15", Supported},  // 91 days before
		{"python3.9", "2025-09-01", Supported},  // 105 days before
		{"PYTHON3.9", "2026-11-01", Deprecated}, // case
		{"nodejs22.x", "2027-02-15", Soon},      // 2027-04-30
		{"python3.13", "2026-11-01", Supported}, // 2029
		{"dotnet5.0", "2026-11-01", Deprecated}, // container-only rows count too
		{"python9.9", "2026-11-01", Supported},  // unknown
		{"", "2026-11-01", Supported},           // no runtime (container image)
		{"provided.al2", "2026-06-01", Soon},    // 2026-07-31
		{"provided.al2023", "2026-11-01", Supported},
	}
	for _, tt := range tests {
		_, got := StatusAt(tt.runtime, day(tt.at), window)
		if got != tt.want {
			t.Errorf("StatusAt(%q, %s) = %v, want %v", tt.runtime, tt.at, got, tt.want)
		}
	}
}

func TestTableParses(t *testing.T) {
	m, err := parse(table)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) < 40 {
		t.Errorf("table has %d runtimes, want the whole AWS list", len(m))
	}
	if _, err := parse([]byte("runtime,family\nx,y\n")); err == nil {
		t.Error("a table without date columns parsed")
	}
	if _, err := parse([]byte("runtime,family,deprecation_date,block_function_create,block_function_update\nx,y,2020-13-01,,\n")); err == nil {
		t.Error("a bad date parsed")
	}
}
