// Package prefilter tells from the raw bytes of a log file whether it can
// hold a call the rules read, so that hunting decodes only the files that
// can: in a CloudTrail archive almost every file holds other services'
// calls only, and JSON decoding costs many times what searching bytes does.
package prefilter

import (
	"bytes"

	"github.com/lambdawatch/lambdawatch/pkg/cloudtrail"
)

// Filter finds watched calls' names in bytes. It is safe for concurrent
// use.
type Filter struct {
	byFirst [256][][]byte // watched names by their first byte
}

// New returns a filter for the given call names, without version
// suffixes: a suffixed name (AddPermission20150331v2) begins with its
// plain name.
func New(names []string) *Filter {
	f := &Filter{}
	for _, n := range names {
		if n != "" {
			f.byFirst[n[0]] = append(f.byFirst[n[0]], []byte(n))
		}
	}
	return f
}

// escape is how JSON spells a character by its code: "\u0041ddPermission"
// decodes to AddPermission, and a name or key spelt so is invisible to a
// byte search. No other JSON escape stands for a letter.
var escape = []byte(`\u`)

// Match reports whether b may hold a record of a watched call. It says
// false only when no record in b can be one: no eventName key in b (see
// cloudtrail.EventNames, which the decoder holds to) is followed by a
// name that begins with a watched one, and nothing in b is written as a
// \u escape.
func (f *Filter) Match(b []byte) bool {
	if bytes.Contains(b, escape) {
		return true
	}
	for v := range cloudtrail.EventNames(b) {
		if len(v) == 0 {
			continue
		}
		for _, n := range f.byFirst[v[0]] {
			if bytes.HasPrefix(v, n) {
				return true
			}
		}
	}
	return false
}
