// Package digest is one audit run's findings as one message: the monitor
// publishes it to the alert topic, the Slack function posts it as one
// summary. Its JSON form is the wire format between them.
package digest

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// Kind marks a digest's JSON member, so that a reader of the alert
// topic tells it from a finding.
const Kind = "audit-digest"

// Rule is the rule attribute of a digest: subscribers filter
// digests apart from findings with it.
const Rule = "audit"

// Digest is what one audit run found, sent as one message.
type Digest struct {
	Kind     string           `json:"kind"`     // Kind
	Rule     string           `json:"rule"`     // Rule
	Severity detect.Severity  `json:"severity"` // the worst finding's; INFO for none
	Started  time.Time        `json:"started"`
	Accounts []string         `json:"accounts"`
	Regions  []string         `json:"regions"`
	Counts   map[string]int   `json:"counts"` // findings by severity name
	Findings []detect.Finding `json:"findings"`
	// Omitted is how many findings were left out of Findings to keep the
	// message within SNS's limit; Counts still counts them.
	Omitted int `json:"omitted"`
	// Unread is how many reads failed: what the audit could not judge.
	Unread int `json:"unread"`
	// Suppressed is how many findings suppressions muted: not listed.
	Suppressed int `json:"suppressed"`
	// Expired names the suppressions that have stopped matching
	// ("suppressions.yaml:12: reason, expired 2026-11-30"), so that what
	// they muted is known to alert again.
	Expired []string `json:"expired,omitempty"`
	// Missing is how many of a fanned-out run's accounts and regions never
	// reported: the run was closed without them when the next began.
	Missing int `json:"missing,omitempty"`
	// Changes is what changed since the last run, when the audit
	// remembers its runs (a state table); nil when it does not.
	Changes *Changes `json:"changes,omitempty"`
}

// Changes is what a run found against the last one.
type Changes struct {
	// Complete: the last run was remembered for every account and region
	// audited; otherwise New and Resolved cover those it was read for.
	Complete bool `json:"complete"`
	// New are the findings not in an earlier digest; Findings lists them
	// too.
	New []detect.Finding `json:"new"`
	// Resolved are the findings an earlier digest listed that this run
	// read and did not see, as last seen.
	Resolved []detect.Finding `json:"resolved"`
	// NewCount and ResolvedCount count them all, with those left out of
	// New and Resolved to keep the message within SNS's limit.
	NewCount      int `json:"newCount"`
	ResolvedCount int `json:"resolvedCount"`
	// Unchecked is how many earlier findings this run could not read
	// again (a refused call): neither still open nor resolved.
	Unchecked int `json:"unchecked"`
}

// NewChanges sorts new and resolved worst first and counts them.
func NewChanges(complete bool, added, resolved []detect.Finding, unchecked int) *Changes {
	return &Changes{Complete: complete, New: worstFirst(added), Resolved: worstFirst(resolved),
		NewCount: len(added), ResolvedCount: len(resolved), Unchecked: unchecked}
}

// Text is the changes in a few words: "2 new, 1 resolved".
func (c *Changes) Text() string {
	if c == nil {
		return ""
	}
	s := fmt.Sprintf("%d new, %d resolved", c.NewCount, c.ResolvedCount)
	if c.Unchecked > 0 {
		s += fmt.Sprintf(", %d not checked again", c.Unchecked)
	}
	return s
}

func worstFirst(fs []detect.Finding) []detect.Finding {
	out := slices.Clone(fs)
	if out == nil {
		out = []detect.Finding{}
	}
	slices.SortStableFunc(out, func(a, b detect.Finding) int { return cmp.Compare(b.Severity, a.Severity) })
	return out
}

// New sums up a run's findings, worst first.
func New(started time.Time, accounts, regions []string, fs []detect.Finding, unread int) Digest {
	d := Digest{Kind: Kind, Rule: Rule, Started: started.UTC(), Unread: unread,
		Accounts: sortedSet(accounts), Regions: sortedSet(regions), Counts: map[string]int{}}
	d.Findings = worstFirst(fs)
	for _, f := range d.Findings {
		d.Counts[f.Severity.String()]++
		d.Severity = max(d.Severity, f.Severity)
	}
	return d
}

func sortedSet(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return slices.Compact(out)
}

// CountText writes the findings by severity, worst first: "2 CRITICAL, 5 HIGH".
func (d Digest) CountText() string {
	var parts []string
	for s := detect.Critical; s >= detect.Info; s-- {
		if n := d.Counts[s.String()]; n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, s))
		}
	}
	if len(parts) == 0 {
		return "nothing found"
	}
	return strings.Join(parts, ", ")
}

// Merge joins the digests of one run's parts (an account and region
// each) into the run's digest. The parts are whole: none was cut.
func Merge(parts []Digest) Digest {
	var (
		accounts, regions, expired []string
		fs, added, resolved        []detect.Finding
		unread, suppressed         int
		changes                    *Changes
		started                    time.Time
	)
	for _, p := range parts {
		accounts, regions = append(accounts, p.Accounts...), append(regions, p.Regions...)
		fs = append(fs, p.Findings...)
		unread += p.Unread
		suppressed += p.Suppressed
		expired = append(expired, p.Expired...)
		if started.IsZero() || p.Started.Before(started) {
			started = p.Started
		}
		if c := p.Changes; c != nil {
			if changes == nil {
				changes = &Changes{Complete: true}
			}
			changes.Complete = changes.Complete && c.Complete
			added, resolved = append(added, c.New...), append(resolved, c.Resolved...)
			changes.Unchecked += c.Unchecked
		}
	}
	d := New(started, accounts, regions, fs, unread)
	d.Suppressed, d.Expired = suppressed, sortedSet(expired)
	if changes != nil {
		d.Changes = NewChanges(changes.Complete, added, resolved, changes.Unchecked)
	}
	return d
}
