package suppress

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

var update = flag.Bool("update", false, "rewrite the golden .err files in testdata/bad")

// loadDay is the day the test files are loaded: their dates count from it.
var loadDay = time.Date(2026, 4, 1, 12, 0, 0, 0, time.UTC)

func partnerFinding() detect.Finding {
	return detect.Finding{
		EventID:      "6d1c3c0e-0d7a-4c58-9e43-2f6d1b7c9a10",
		Rule:         detect.RuleCrossAccountInvoke,
		Severity:     detect.High,
		ResourceARN:  "arn:aws:lambda:eu-west-1:111122223333:function:partner-billing",
		ResourceType: detect.TypeFunction,
		Account:      "111122223333",
		Region:       "eu-west-1",
		Principal:    "arn:aws:iam::444455556666:root",
		Actor:        "arn:aws:sts::111122223333:assumed-role/deployer/alice",
	}
}

func TestApply(t *testing.T) {
	list, err := Load("testdata/good.yaml", loadDay)
	if err != nil {
		t.Fatal(err)
	}
	with := func(change func(*detect.Finding)) detect.Finding {
		f := partnerFinding()
		change(&f)
		return f
	}
	late := time.Date(2027, 3, 31, 23, 59, 59, 0, time.UTC)
	tests := []struct {
		name   string
		f      detect.Finding
		now    time.Time
		reason string // empty: not suppressed
	}{
		{"every matcher matches", partnerFinding(), loadDay, "Partner integration approved in SEC-123"},
		{"the star crosses a qualifier's colon", with(func(f *detect.Finding) { f.ResourceARN += ":prod" }), loadDay, "Partner integration approved in SEC-123"},
		{"last second of the expiry day", partnerFinding(), late, "Partner integration approved in SEC-123"},
		{"the day after the expiry", partnerFinding(), late.Add(time.Second), ""},
		{"another principal", with(func(f *detect.Finding) { f.Principal = "arn:aws:iam::555566667777:root" }), loadDay, ""},
		{"no principal", with(func(f *detect.Finding) { f.Principal = "" }), loadDay, ""},
		{"another function", with(func(f *detect.Finding) { f.ResourceARN = "arn:aws:lambda:eu-west-1:111122223333:function:payments" }), loadDay, ""},
		{"another rule", with(func(f *detect.Finding) { f.Rule = detect.RulePublicInvoke }), loadDay, ""},
		{"another account", with(func(f *detect.Finding) { f.Account = "210987654321" }), loadDay, ""},
		{"the star crosses the actor's slashes", detect.Finding{
			Rule: detect.RuleEOLRuntime, Account: "111122223333", Region: "us-east-1",
			ResourceARN: "arn:aws:lambda:us-east-1:111122223333:function:nightly",
			Actor:       "arn:aws:sts::111122223333:assumed-role/build-bot/ci/run-42",
		}, loadDay, "Migration tracked in PLAT-88"},
		{"a quoted date expires too", detect.Finding{
			Rule: detect.RuleEOLRuntime, Actor: "arn:aws:sts::111122223333:assumed-role/build-bot/x",
		}, time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), ""},
		{"an entry already expired when loaded", detect.Finding{
			Rule: detect.RuleCrossAccountLayer, Account: "999988887777", Region: "ap-southeast-2",
		}, loadDay, ""},
		{"the same entry before its expiry", detect.Finding{
			Rule: detect.RuleCrossAccountLayer, Account: "999988887777", Region: "ap-southeast-2",
		}, time.Date(2026, 3, 1, 23, 0, 0, 0, time.UTC), "Sandbox account shared with the vendor"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := tt.f
			got := list.Apply(&f, tt.now)
			if got != (tt.reason != "") || f.Suppressed != tt.reason {
				t.Errorf("Apply = %v, Suppressed %q; want %v, %q", got, f.Suppressed, tt.reason != "", tt.reason)
			}
		})
	}
}

func TestApplyLeavesUnmatchedAlone(t *testing.T) {
	list, err := Load("testdata/good.yaml", loadDay)
	if err != nil {
		t.Fatal(err)
	}
	f := partnerFinding()
	f.Rule, f.Suppressed = detect.RulePublicInvoke, "set earlier"
	if list.Apply(&f, loadDay) || f.Suppressed != "set earlier" {
		t.Errorf("Apply changed an unmatched finding: %q", f.Suppressed)
	}
	if list.Apply(nil, loadDay) {
		t.Error("Apply(nil) = true")
	}
}

func TestNothingSuppresses(t *testing.T) {
	var nilList *List
	lists := map[string]*List{"nil": nilList, "zero": {}}
	for _, name := range []string{"empty.yaml", "no-entries.yaml", "comments-only.yaml"} {
		l, err := Load(filepath.Join("testdata", name), loadDay)
		if err != nil {
			t.Fatal(err)
		}
		lists[name] = l
	}
	for name, l := range lists {
		f := partnerFinding()
		if l.Apply(&f, loadDay) || f.Suppressed != "" {
			t.Errorf("%s: Apply suppressed %q", name, f.Suppressed)
		}
		if e := l.Expired(loadDay); len(e) != 0 {
			t.Errorf("%s: Expired = %v", name, e)
		}
		if e := l.Entries(); len(e) != 0 {
			t.Errorf("%s: Entries = %v", name, e)
		}
	}
}

func TestExpired(t *testing.T) {
	list, err := Load("testdata/good.yaml", loadDay)
	if err != nil {
		t.Fatal(err)
	}
	where := func(es []Entry) []string {
		var out []string
		for _, e := range es {
			out = append(out, e.Where()+" "+e.Rule+" until "+e.Until().Format(time.RFC3339))
		}
		return out
	}
	tests := []struct {
		now  time.Time
		want []string
	}{
		{loadDay, []string{"testdata/good.yaml:17 cross-account-* until 2026-03-02T00:00:00Z"}},
		{time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC), []string{
			"testdata/good.yaml:12 eol-runtime until 2026-10-01T00:00:00Z",
			"testdata/good.yaml:17 cross-account-* until 2026-03-02T00:00:00Z",
		}},
		{time.Date(2027, 4, 1, 0, 0, 0, 0, time.UTC), []string{
			"testdata/good.yaml:3 cross-account-invoke until 2027-04-01T00:00:00Z",
			"testdata/good.yaml:12 eol-runtime until 2026-10-01T00:00:00Z",
			"testdata/good.yaml:17 cross-account-* until 2026-03-02T00:00:00Z",
		}},
	}
	for _, tt := range tests {
		got := where(list.Expired(tt.now))
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("Expired(%s):\n%s\nwant\n%s", tt.now.Format(time.DateOnly), strings.Join(got, "\n"), strings.Join(tt.want, "\n"))
		}
	}
}

func TestEntries(t *testing.T) {
	list, err := Load("testdata/good.yaml", loadDay)
	if err != nil {
		t.Fatal(err)
	}
	es := list.Entries()
	if len(es) != 3 {
		t.Fatalf("%d entries, want 3", len(es))
	}
	want := Entry{
		Rule: "cross-account-invoke", Account: "111122223333",
		Resource:  "arn:aws:lambda:eu-west-1:111122223333:function:partner-*",
		Principal: "arn:aws:iam::444455556666:root",
		Reason:    "Partner integration approved in SEC-123",
		Expires:   time.Date(2027, 3, 31, 0, 0, 0, 0, time.UTC),
		File:      "testdata/good.yaml", Line: 3,
	}
	if es[0] != want {
		t.Errorf("entry 1 = %+v\nwant %+v", es[0], want)
	}
	es[0].Reason = "changed"
	if list.Entries()[0].Reason == "changed" {
		t.Error("Entries shares the list's entries")
	}
}

// TestRefused: each bad file is refused with errors naming the file and
// the line, as its golden .err file has them.
func TestRefused(t *testing.T) {
	files, err := filepath.Glob("testdata/bad/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad files: %v", err)
	}
	for _, path := range files {
		t.Run(filepath.Base(path), func(t *testing.T) {
			list, err := Load(path, loadDay)
			if err == nil {
				t.Fatalf("loaded %d entries, want an error", len(list.Entries()))
			}
			if list != nil {
				t.Error("a list came back with the error")
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(path, ".yaml") + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, rerr := os.ReadFile(golden)
			if rerr != nil {
				t.Fatalf("%v (run with -update to write it)", rerr)
			}
			if got != string(want) {
				t.Errorf("error:\n%s\nwant:\n%s", got, want)
			}
			for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
				if !strings.HasPrefix(line, path+":") {
					t.Errorf("error line %q does not start with %s:LINE", line, path)
				}
			}
		})
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load("testdata/no-such-file.yaml", loadDay)
	if err == nil || !strings.Contains(err.Error(), "testdata/no-such-file.yaml") {
		t.Errorf("err = %v, want one naming the file", err)
	}
}

func TestLoadTooLarge(t *testing.T) {
	path := filepath.Join(t.TempDir(), "big.yaml")
	data := "suppressions:\n" + strings.Repeat("# padding\n", MaxFile/10+1)
	if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path, loadDay); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("err = %v, want too large", err)
	}
}

func TestGlob(t *testing.T) {
	tests := []struct {
		pattern, s string
		want       bool
	}{
		{"abc", "abc", true},
		{"abc", "abcd", false},
		{"", "", true},
		{"*", "", true},
		{"*", "arn:aws:iam::1:role/a/b", true},
		{"a*", "a", true},
		{"*c", "abc", true},
		{"*c", "abcd", false},
		{"a*c", "ac", true},
		{"a*c", "abxc", true},
		{"a*c", "abxcd", false},
		{"a*b*c", "abc", true},
		{"a*b*c", "acb", false},
		{"a*aa", "aa", false}, // the prefix and suffix may not overlap
		{"a*aa", "aaa", true},
		{"*:function:partner-*", "arn:aws:lambda:eu-west-1:1:function:partner-x:prod", true},
		{"arn:aws:sts::1:assumed-role/bot/*", "arn:aws:sts::1:assumed-role/bot/i-1/x", true},
		{"arn:aws:sts::1:assumed-role/bot/*", "arn:aws:sts::1:assumed-role/botany/x", false},
		{"a?c", "abc", false}, // ? is a plain character
		{"a[b]c", "abc", false},
	}
	for _, tt := range tests {
		if got := glob(tt.pattern, tt.s); got != tt.want {
			t.Errorf("glob(%q, %q) = %v, want %v", tt.pattern, tt.s, got, tt.want)
		}
	}
}

// FuzzParse: no input panics, and what loads has every entry's reason,
// expiry and a matcher.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*.yaml")
	bad, _ := filepath.Glob("testdata/bad/*.yaml")
	for _, p := range append(seeds, bad...) {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		list, err := Parse("fuzz.yaml", data, loadDay)
		if err != nil {
			return
		}
		for _, e := range list.Entries() {
			if e.Reason == "" || e.Expires.IsZero() || e.matchesEverything() || e.Line == 0 {
				t.Errorf("loaded a bad entry: %+v", e)
			}
		}
	})
}
