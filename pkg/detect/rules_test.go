package detect

import (
	"bufio"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
)

// reads reports whether the rule declares the call rec is.
func reads(rule string, rec cloudtrail.Record) bool {
	r, ok := RuleByID(rule)
	return ok && slices.Contains(r.Calls(), Call{EventSource: strings.ToLower(rec.EventSource), Name: rec.Action()})
}

func TestRegistry(t *testing.T) {
	seen := map[string]bool{}
	for i, r := range Rules {
		if r.ID == "" || seen[r.ID] {
			t.Errorf("rule %d: id %q missing or repeated", i, r.ID)
		}
		seen[r.ID] = true
		if r.Title == "" || r.Why == "" || r.Remedy == "" {
			t.Errorf("%s: title, why and remedy are for people: %+v", r.ID, r)
		}
		if len(r.Reads) == 0 && len(r.States) == 0 {
			t.Errorf("%s reads no call and judges no state", r.ID)
		}
		if _, ok := r.Adjusted[CallFailed]; len(r.Reads) > 0 && !ok {
			t.Errorf("%s reads calls but says nothing of failed ones", r.ID)
		}
		if s := r.SeverityIn(CallFailed); len(r.Reads) > 0 && s > Low {
			t.Errorf("%s: a failed call at %s", r.ID, s)
		}
		if i > 0 && r.Severity > Rules[i-1].Severity {
			t.Errorf("%s (%s) follows %s (%s): most severe first", r.ID, r.Severity, Rules[i-1].ID, Rules[i-1].Severity)
		}
		for _, c := range r.Calls() {
			if c.EventSource != strings.ToLower(c.EventSource) || cloudtrail.StripVersion(c.Name) != c.Name || c.Name == "" {
				t.Errorf("%s: call %+v: want a lower-case event source and a name without version", r.ID, c)
			}
		}
	}
}

// TestWatched: every call a rule reads is watched, and nothing else.
func TestWatched(t *testing.T) {
	var want []Call
	for _, r := range Rules {
		for _, c := range r.Calls() {
			if !slices.Contains(want, c) {
				want = append(want, c)
			}
		}
	}
	var got []Call
	for _, s := range Watched {
		if s.Source != "aws."+strings.TrimSuffix(s.EventSource, ".amazonaws.com") {
			t.Errorf("%s: EventBridge source %q", s.EventSource, s.Source)
		}
		for _, a := range s.Actions {
			got = append(got, Call{s.EventSource, a})
		}
	}
	if len(got) != len(want) {
		t.Errorf("watched %d calls, rules read %d", len(got), len(want))
	}
	for _, c := range want {
		if !slices.Contains(got, c) {
			t.Errorf("%+v read but not watched", c)
		}
	}
	if n := len(WatchedNames()); n != len(got) {
		t.Errorf("WatchedNames has %d names, want %d", n, len(got))
	}
}

// TestDocsRules keeps the README's rules table the registry: every rule,
// in order, with its severity and title.
func TestDocsRules(t *testing.T) {
	f, err := os.Open("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		rows  [][]string
		table bool // within the table under its header
	)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "| Rule | Severity | What it finds |":
			table = true
			continue
		case !table || strings.HasPrefix(line, "|---"):
			continue
		case !strings.HasPrefix(line, "|"):
			table = false
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
			cells = append(cells, strings.TrimSpace(c))
		}
		rows = append(rows, cells)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(Rules) {
		t.Errorf("README lists %d rules, the registry %d", len(rows), len(Rules))
	}
	for i, r := range Rules {
		want := []string{"`" + r.ID + "`", r.Severity.String(), r.Title}
		if i >= len(rows) || !slices.Equal(rows[i], want) {
			var got []string
			if i < len(rows) {
				got = rows[i]
			}
			t.Errorf("README rules row %d = %q, want %q", i+1, got, want)
		}
	}
}

func TestPastTense(t *testing.T) {
	for verb, want := range map[string]string{"let": "let", "make": "made", "stop": "stopped", "share": "shared", "remove": "removed", "change": "changed", "throttle": "throttled", "grant": "granted", "purge": "purged"} {
		if got := past(verb); got != want {
			t.Errorf("past(%s) = %s, want %s", verb, got, want)
		}
	}
}

// TestDocsRulesPage: docs/rules.md has a section for every rule, in the
// registry's order, with its severity.
func TestDocsRulesPage(t *testing.T) {
	data, err := os.ReadFile("../../docs/rules.md")
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	sections := strings.Split(string(data), "\n## `")
	for _, sec := range sections[1:] {
		id, body, _ := strings.Cut(sec, "`")
		ids = append(ids, id)
		r, ok := RuleByID(id)
		if !ok {
			t.Errorf("docs/rules.md describes %s, which is no rule", id)
			continue
		}
		if !strings.Contains(body, "**Severity:** "+r.Severity.String()) {
			t.Errorf("docs/rules.md: %s lacks its severity %s", id, r.Severity)
		}
	}
	var want []string
	for _, r := range Rules {
		want = append(want, r.ID)
	}
	if !slices.Equal(ids, want) {
		t.Errorf("docs/rules.md sections %v, want %v", ids, want)
	}
}
