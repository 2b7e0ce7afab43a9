package archive

import (
	"strings"
	"testing"
	"time"
)

var now = time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in        string
		since     time.Time
		until     time.Time
		wantError string
	}{
		{in: "2026-01-02", since: day(2026, 1, 2), until: day(2026, 1, 3).Add(-time.Nanosecond)},
		{in: " 2026-01-02 ", since: day(2026, 1, 2), until: day(2026, 1, 3).Add(-time.Nanosecond)},
		{in: "2026-01-02T15:04:05Z", since: time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC), until: time.Date(2026, 1, 2, 15, 4, 5, 0, time.UTC)},
		{in: "2026-01-02T15:04:05.5+02:00", since: time.Date(2026, 1, 2, 13, 4, 5, 5e8, time.UTC), until: time.Date(2026, 1, 2, 13, 4, 5, 5e8, time.UTC)},
		{in: "90d", since: now.AddDate(0, 0, -90), until: now.AddDate(0, 0, -90)},
		{in: "36h", since: now.Add(-36 * time.Hour), until: now.Add(-36 * time.Hour)},
		{in: "2w", since: now.AddDate(0, 0, -14), until: now.AddDate(0, 0, -14)},
		{in: "30m", since: now.Add(-30 * time.Minute), until: now.Add(-30 * time.Minute)},
		{in: "0d", since: now, until: now},
		{in: "", wantError: `"": want a date`},
		{in: "d", wantError: `"d": want`},
		{in: "90", wantError: `"90": want`},
		{in: "-3d", wantError: `"-3d": want`},
		{in: "1.5d", wantError: `"1.5d": want`},
		{in: "3y", wantError: `"3y": want`},
		{in: "99999999999w", wantError: `"99999999999w": want`},
		{in: "2026-02-30", wantError: `"2026-02-30": want`},
		{in: "2026-01-02 15:04", wantError: `"2026-01-02 15:04": want`},
		{in: "yesterday", wantError: `"yesterday": want a date (2026-01-02), an RFC 3339 time`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			since, err := ParseTime(tt.in, now)
			until, uerr := ParseUntil(tt.in, now)
			if tt.wantError != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantError) || uerr == nil {
					t.Fatalf("ParseTime(%q) error = %v, ParseUntil error = %v; want %q", tt.in, err, uerr, tt.wantError)
				}
				return
			}
			if err != nil || uerr != nil {
				t.Fatalf("ParseTime(%q): %v, %v", tt.in, err, uerr)
			}
			if !since.Equal(tt.since) || !until.Equal(tt.until) {
				t.Errorf("ParseTime(%q) = %v, ParseUntil = %v; want %v, %v", tt.in, since, until, tt.since, tt.until)
			}
		})
	}
}

func TestFilterValidate(t *testing.T) {
	tests := []struct {
		f    Filter
		want string // "" for valid
	}{
		{f: Filter{}},
		{f: Filter{Since: day(2026, 1, 2), Until: day(2026, 1, 2), Accounts: []string{"111122223333"}, Regions: []string{"eu-west-1"}}},
		{f: Filter{Since: day(2026, 1, 3), Until: day(2026, 1, 2)}, want: "until 2026-01-02T00:00:00Z is before since 2026-01-03T00:00:00Z"},
		{f: Filter{Accounts: []string{"1111-2222-3333"}}, want: `account "1111-2222-3333": want 12 digits`},
		{f: Filter{Regions: []string{"Ireland"}}, want: `region "Ireland": want a region name`},
	}
	for _, tt := range tests {
		err := tt.f.Validate()
		if (tt.want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tt.want)) {
			t.Errorf("%+v.Validate() = %v, want %q", tt.f, err, tt.want)
		}
	}
}

const (
	ireland = "AWSLogs/111122223333/CloudTrail/eu-west-1/"
	logA    = ireland + "2026/01/02/111122223333_CloudTrail_eu-west-1_20260102T1005Z_Ab.json.gz"
	logLate = ireland + "2026/01/02/111122223333_CloudTrail_eu-west-1_20260102T2355Z_Ab.json.gz"
	logNext = ireland + "2026/01/03/111122223333_CloudTrail_eu-west-1_20260103T0005Z_Ab.json.gz"
	logNoon = ireland + "2026/01/03/111122223333_CloudTrail_eu-west-1_20260103T1200Z_Ab.json.gz"
	renamed = ireland + "2026/01/02/copy.json"
	orgLog  = "p/AWSLogs/o-a1b2c3d4e5/444455556666/CloudTrail/us-east-1/2025/12/31/444455556666_CloudTrail_us-east-1_20251231T1200Z_Cd.json.gz"
	digest  = "AWSLogs/111122223333/CloudTrail-Digest/eu-west-1/2026/01/02/111122223333_CloudTrail-Digest_eu-west-1_t_us-east-1_20260102T1005Z.json.gz"
	athena  = "athena/Unsaved/2026/01/02/abc.json"
	broken  = ireland + "old/f.json.gz"
)

func TestFilterKeep(t *testing.T) {
	jan2 := Filter{Since: day(2026, 1, 2), Until: day(2026, 1, 3).Add(-time.Nanosecond)}
	tests := []struct {
		name       string
		f          Filter
		key        string
		keep       bool
		unfiltered bool
	}{
		{"no filter, log", Filter{}, logA, true, false},
		{"no filter, outside the layout", Filter{}, athena, true, false},
		{"no filter, digest", Filter{}, digest, false, false},
		{"no filter, not a record file", Filter{}, ireland + "2026/01/02/notes.txt", false, false},
		{"no filter, Config snapshot", Filter{}, "AWSLogs/111122223333/Config/eu-west-1/2026/1/2/ConfigSnapshot/x.json.gz", false, false},
		{"day, a log of it", jan2, logA, true, false},
		{"day, a log delivered just after it", jan2, logNext, true, false},
		{"day, a log of the next noon", jan2, logNoon, false, false},
		{"day, renamed file in its folder", jan2, renamed, true, false},
		{"day, a log of the day before", jan2, orgLog, false, false},
		{"day, outside the layout", jan2, athena, true, true},
		{"day, layout broken below the region", jan2, broken, true, true},
		{"since 23:00, a log at 10:05", Filter{Since: time.Date(2026, 1, 2, 23, 0, 0, 0, time.UTC)}, logA, false, false},
		{"since 23:00, a log at 23:55", Filter{Since: time.Date(2026, 1, 2, 23, 0, 0, 0, time.UTC)}, logLate, true, false},
		{"since 23:00, a renamed file of that day", Filter{Since: time.Date(2026, 1, 2, 23, 0, 0, 0, time.UTC)}, renamed, true, false},
		{"until the day before, a log at 10:05", Filter{Until: day(2026, 1, 1)}, logA, false, false},
		{"account, match", Filter{Accounts: []string{"444455556666"}}, orgLog, true, false},
		{"account, other", Filter{Accounts: []string{"444455556666"}}, logA, false, false},
		{"account, broken below the region", Filter{Accounts: []string{"111122223333"}}, broken, true, false},
		{"account, outside the layout", Filter{Accounts: []string{"111122223333"}}, athena, true, true},
		{"region, match", Filter{Regions: []string{"us-east-1", "eu-west-1"}}, logA, true, false},
		{"region, other", Filter{Regions: []string{"us-east-1"}}, logA, false, false},
		{"region, broken below the region", Filter{Regions: []string{"us-east-1"}}, broken, false, false},
		{"region, outside the layout", Filter{Regions: []string{"us-east-1"}}, athena, true, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.f.Keep(tt.key); got != tt.keep {
				t.Errorf("Keep(%q) = %v, want %v", tt.key, got, tt.keep)
			}
			if got := tt.f.Unfiltered(tt.key); got != tt.unfiltered {
				t.Errorf("Unfiltered(%q) = %v, want %v", tt.key, got, tt.unfiltered)
			}
		})
	}
}

func TestFilterDescend(t *testing.T) {
	f := Filter{Since: day(2025, 12, 31), Until: day(2026, 1, 2), Accounts: []string{"111122223333", "444455556666"}, Regions: []string{"eu-west-1", "us-east-1"}}
	tests := []struct {
		prefix string
		want   bool
	}{
		{"", true},
		{"some/prefix/", true},
		{"AWSLogs/", true},
		{"AWSLogs/o-a1b2c3d4e5/", true},
		{"AWSLogs/111122223333/", true},
		{"AWSLogs/999988887777/", false},
		{"p/AWSLogs/o-a1b2c3d4e5/999988887777/", false},
		{"AWSLogs/111122223333/CloudTrail/", true},
		{"AWSLogs/111122223333/CloudTrail-Digest/", false},
		{"AWSLogs/111122223333/CloudTrail-Insight/", false},
		{"AWSLogs/111122223333/Config/", false},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/", true},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1", true},
		{"AWSLogs/111122223333/CloudTrail/ap-south-1/", false},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/2024/", false},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/2025/", true},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/2025/11/", false},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/2025/12/", true},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/2025/12/29/", false},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/2025/12/30/", true}, // delivered up to an hour after its calls
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/01/02/", true},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/01/03/", false}, // Until is midnight, a day's end would be 23:59:59
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/2027/", false},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/backup/", true},
		{"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/13/", true},
		{"x/CloudTrail-Digest/", false},
	}
	for _, tt := range tests {
		if got := f.Descend(tt.prefix); got != tt.want {
			t.Errorf("Descend(%q) = %v, want %v", tt.prefix, got, tt.want)
		}
	}
}

// Descend must never prune a folder that holds a key Keep keeps.
func TestDescendAgreesWithKeep(t *testing.T) {
	keys := []string{logA, logLate, logNext, logNoon, renamed, orgLog, digest, athena, broken,
		"AWSLogs/AWSLogs/111122223333/CloudTrail/eu-west-1/2026/01/02/f.json",
		"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/01/02/deeper/f.json",
		"AWSLogs/111122223333/CloudTrail/eu-west-1/2026/02/30/f.json",
		"AWSLogs/o-a1b2c3d4e5/f.json",
	}
	var filters []Filter
	for _, since := range []time.Time{{}, day(2026, 1, 2), time.Date(2026, 1, 2, 23, 30, 0, 0, time.UTC), day(2026, 1, 3)} {
		for _, until := range []time.Time{{}, day(2025, 12, 31), day(2026, 1, 2), time.Date(2026, 1, 2, 9, 30, 0, 0, time.UTC)} {
			for _, acc := range [][]string{nil, {"111122223333"}, {"444455556666"}} {
				for _, reg := range [][]string{nil, {"eu-west-1"}, {"us-east-1"}} {
					filters = append(filters, Filter{Since: since, Until: until, Accounts: acc, Regions: reg})
				}
			}
		}
	}
	kept := 0
	for _, f := range filters {
		for _, k := range keys {
			if !f.Keep(k) {
				continue
			}
			kept++
			for i := range len(k) {
				if k[i] == '/' && !f.Descend(k[:i+1]) {
					t.Errorf("%+v keeps %q but prunes %q", f, k, k[:i+1])
				}
			}
		}
	}
	if kept == 0 {
		t.Fatal("no key kept: the check checked nothing")
	}
}

func TestInTime(t *testing.T) {
	f := Filter{Since: day(2026, 1, 2), Until: day(2026, 1, 3).Add(-time.Nanosecond)}
	for tm, want := range map[time.Time]bool{
		day(2026, 1, 2): true, day(2026, 1, 2).Add(-time.Second): false, day(2026, 1, 3).Add(-time.Second): true, day(2026, 1, 3): false,
	} {
		if got := f.InTime(tm); got != want {
			t.Errorf("InTime(%v) = %v, want %v", tm, got, want)
		}
	}
	if !(Filter{}).InTime(time.Time{}) {
		t.Error("no bounds: InTime false")
	}
}
