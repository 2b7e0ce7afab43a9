package ledger

import (
	"cmp"
	"slices"
	"time"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// Change is what one run found against what the ledger remembered.
type Change struct {
	// New: seen now, and not yet listed in a published digest.
	New []Entry
	// Open: seen now, and listed in a digest before.
	Open []Entry
	// Resolved: seen before, not now, where this run read what would
	// show it; and those resolved before that no digest has listed yet.
	Resolved []Entry
	// Unchecked: seen before, not now, but this run could not read what
	// would show it (a refused call): neither open nor resolved, and
	// remembered as it was.
	Unchecked []Entry
}

// Compare judges found against b and makes b what the run leaves: the
// found findings, with first seen, alerted and reported carried over;
// the resolved ones until a digest reports them (Reported); the
// unchecked ones as they were. unread tells whether a finding's resource
// could not be read this run; nil means all was read.
func (b *Book) Compare(found []detect.Finding, now time.Time, unread func(detect.Finding) bool) Change {
	prev := make(map[string]Entry, len(b.Entries))
	for _, e := range b.Entries {
		prev[e.Fingerprint] = e
	}
	var c Change
	next := make([]Entry, 0, len(found))
	seen := make(map[string]bool, len(found))
	for _, f := range found {
		fp := Fingerprint(f)
		if seen[fp] {
			continue // the same finding twice in one run
		}
		seen[fp] = true
		e, ok := prev[fp]
		if !ok {
			e = Entry{Fingerprint: fp, FirstSeen: now}
		}
		e.LastSeen, e.Finding, e.Resolved = now, f, nil
		if e.Reported {
			c.Open = append(c.Open, e)
		} else {
			c.New = append(c.New, e)
		}
		next = append(next, e)
	}
	for _, e := range b.Entries {
		switch {
		case seen[e.Fingerprint]:
			continue
		case e.Resolved != nil:
			c.Resolved = append(c.Resolved, e)
		case unread != nil && unread(e.Finding):
			c.Unchecked = append(c.Unchecked, e)
		default:
			e.Resolved = &now
			c.Resolved = append(c.Resolved, e)
		}
		next = append(next, e)
	}
	slices.SortFunc(next, func(a, b Entry) int { return cmp.Compare(a.Fingerprint, b.Fingerprint) })
	b.Entries = next
	return c
}

// MarkAlerted records that the findings with these fingerprints were
// published as alerts.
func (b *Book) MarkAlerted(fingerprints ...string) {
	set := make(map[string]bool, len(fingerprints))
	for _, fp := range fingerprints {
		set[fp] = true
	}
	for i := range b.Entries {
		if set[b.Entries[i].Fingerprint] {
			b.Entries[i].Alerted = true
		}
	}
}

// Reported records that a digest listing the book's findings was
// published: the open ones are no longer new, the resolved ones are
// forgotten.
func (b *Book) Reported() {
	b.Entries = slices.DeleteFunc(b.Entries, func(e Entry) bool { return e.Resolved != nil })
	for i := range b.Entries {
		b.Entries[i].Reported = true
	}
}
