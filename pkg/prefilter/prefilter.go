// Package prefilter tells from the raw bytes of a log file whether it can
// hold a call the rules read, so that hunting decodes only the files that
// can: in a CloudTrail archive almost every file holds other services'
// calls only, and JSON decoding costs many times what searching bytes does.
package prefilter

import (
	"bytes"
	"slices"
	"strings"
)

// words are parts that the watched calls' names share. Searching for a
// word first and for the names that hold it only when it occurs takes a
// dozen passes over a file instead of one per name.
var words = []string{
	"Permission", "Function", "EventSourceMapping", "Trail", "Logging",
	"Selectors", "Rule", "Targets", "Topic", "Unsubscribe", "Queue",
}

// Filter finds watched call names in bytes. It is safe for concurrent use.
type Filter struct {
	groups []group
}

type group struct {
	word  []byte
	names [][]byte // the names holding word
}

// New returns a filter for the given call names (without version
// suffixes: a suffixed name holds its plain name).
func New(names []string) *Filter {
	f := &Filter{}
	byWord := map[string]int{}
	for _, n := range names {
		if n == "" {
			continue
		}
		w := n // a name holding no shared word is its own word
		if i := slices.IndexFunc(words, func(w string) bool { return strings.Contains(n, w) }); i >= 0 {
			w = words[i]
		}
		g, ok := byWord[w]
		if !ok {
			g = len(f.groups)
			byWord[w] = g
			f.groups = append(f.groups, group{word: []byte(w)})
		}
		f.groups[g].names = append(f.groups[g].names, []byte(n))
	}
	return f
}

// escape is how JSON spells a character by its code: "\u0041ddPermission"
// decodes to AddPermission, and a name spelt so is invisible to a byte
// search. Call names hold letters only, and no other JSON escape stands
// for a letter.
var escape = []byte(`\u`)

// Match reports whether b may hold a record of a watched call. It says
// false only when no record in b can be one: no watched name occurs in b,
// even as part of a longer string, and nothing in b is written as a \u
// escape. Keys are not searched for, so any spelling of them (encoding/json
// matches keys without regard to case) is covered.
func (f *Filter) Match(b []byte) bool {
	if bytes.Contains(b, escape) {
		return true
	}
	for _, g := range f.groups {
		if !bytes.Contains(b, g.word) {
			continue
		}
		for _, n := range g.names {
			if bytes.Contains(b, n) {
				return true
			}
		}
	}
	return false
}
