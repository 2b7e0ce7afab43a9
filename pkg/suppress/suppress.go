// Package suppress mutes known, accepted findings for a while, each with
// the reason it is accepted and the day it stops being accepted.
//
// The list is one YAML file (docs/suppressions.md shows it):
//
//	suppressions:
//	  - rule: cross-account-invoke
//	    account: "111122223333"
//	    resource: "arn:aws:lambda:eu-west-1:111122223333:function:partner-*"
//	    principal: "arn:aws:iam::444455556666:root"
//	    reason: Partner integration approved in SEC-123
//	    expires: 2027-03-31
//
// An entry matches a finding when every matcher it gives matches: rule,
// account, region, resource (Finding.ResourceARN), principal (whom a
// grant lets in) and actor (the caller's ARN). A matcher is the exact
// value, or a glob in which * stands for any run of characters, ':' and
// '/' included. reason and expires (YYYY-MM-DD, at most a year ahead; the
// entry matches through the end of that day, UTC) are required.
//
// Loading refuses, naming the file and line, anything that could mute or
// unmute something other than what was meant: a file that does not
// parse, an unknown or repeated key (a misspelt principal must not widen
// its entry), a missing reason or expiry, a date that is not a date or is
// more than a year ahead, a rule that names no rule, and an entry that
// would match every finding (no matcher, or only stars). An entry whose
// date has passed loads, matches nothing, and is listed by Expired, so
// that an expiry never stops the monitor from starting.
package suppress

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lambdawatch/lambdawatch/pkg/detect"
)

// MaxReason is the longest reason accepted, in bytes: the reason is shown
// with the finding in a digest, not a document.
const MaxReason = 500

// MaxFile is the largest file Load reads.
const MaxFile = 1 << 20

// MaxAhead is how far ahead of the day it is loaded an entry may expire:
// an acceptance is reviewed at least once a year.
const MaxAhead = 1 // year

// dateLayout is the only form expires takes.
const dateLayout = "2006-01-02"

// Entry is one suppression.
type Entry struct {
	// Matchers; empty means the entry does not look at that field.
	Rule, Account, Region, Resource, Principal, Actor string

	Reason string
	// Expires is the day given, at 00:00 UTC; the entry matches until
	// the end of that day (Until).
	Expires time.Time

	// File and Line say where the entry is written.
	File string
	Line int
}

// Until is the first instant the entry no longer matches: the start of
// the day after Expires, UTC.
func (e Entry) Until() time.Time { return e.Expires.AddDate(0, 0, 1) }

// Active reports whether the entry still matches findings at now.
func (e Entry) Active(now time.Time) bool { return now.Before(e.Until()) }

// Where is the entry's place in its file, file:line.
func (e Entry) Where() string { return e.File + ":" + strconv.Itoa(e.Line) }

// Matches reports whether the entry's matchers all match f. It ignores
// the expiry: see Active.
func (e Entry) Matches(f detect.Finding) bool {
	for _, m := range []struct{ pattern, value string }{
		{e.Rule, f.Rule},
		{e.Account, f.Account},
		{e.Region, f.Region},
		{e.Resource, f.ResourceARN},
		{e.Principal, f.Principal},
		{e.Actor, f.Actor},
	} {
		if m.pattern != "" && !glob(m.pattern, m.value) {
			return false
		}
	}
	return true
}

// List is a loaded suppression file. The zero value and a nil *List
// suppress nothing.
type List struct {
	entries []Entry
}

// Entries lists the entries in file order.
func (l *List) Entries() []Entry {
	if l == nil {
		return nil
	}
	return slices.Clone(l.entries)
}

// Match finds the first entry, in file order, that is active at now and
// matches f.
func (l *List) Match(f detect.Finding, now time.Time) (Entry, bool) {
	if l == nil {
		return Entry{}, false
	}
	for _, e := range l.entries {
		if e.Active(now) && e.Matches(f) {
			return e, true
		}
	}
	return Entry{}, false
}

// Apply marks f suppressed with the reason of the first entry that
// matches it at now, and reports whether one did. A finding no entry
// matches is left as it is.
func (l *List) Apply(f *detect.Finding, now time.Time) bool {
	if f == nil {
		return false
	}
	e, ok := l.Match(*f, now)
	if ok {
		f.Suppressed = e.Reason
	}
	return ok
}

// Expired lists the entries that no longer match at now, in file order:
// for a digest that tells someone to renew or delete them.
func (l *List) Expired(now time.Time) []Entry {
	if l == nil {
		return nil
	}
	var out []Entry
	for _, e := range l.entries {
		if !e.Active(now) {
			out = append(out, e)
		}
	}
	return out
}

// Load reads and checks the suppression file at path; now is the day the
// expiry limit counts from.
func Load(path string, now time.Time) (*List, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("suppressions: %w", err)
	}
	defer fh.Close()
	data, err := io.ReadAll(io.LimitReader(fh, MaxFile+1))
	if err != nil {
		return nil, fmt.Errorf("suppressions %s: %w", path, err)
	}
	if len(data) > MaxFile {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, MaxFile)
	}
	return Parse(path, data, now)
}

// Matcher keys, in the order errors list them.
var matcherKeys = []string{"rule", "account", "region", "resource", "principal", "actor"}

var (
	accountID  = regexp.MustCompile(`^[0-9]{12}$`)
	regionName = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]+$`)
	yamlLine   = regexp.MustCompile(`^yaml: line ([0-9]+): (.*)$`)
)

// Parse reads and checks a suppression file's contents; name is the file
// named in errors and entries. Every problem in the file is reported, not
// only the first.
func Parse(name string, data []byte, now time.Time) (*List, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return &List{}, nil // an empty file suppresses nothing
		}
		return nil, yamlError(name, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, fmt.Errorf("%s:%d: a second YAML document: the file holds one", name, extra.Line)
	} else if !errors.Is(err, io.EOF) {
		return nil, yamlError(name, err)
	}

	p := parser{name: name, today: day(now)}
	entries := p.file(&doc)
	if err := p.err(); err != nil {
		return nil, err
	}
	return &List{entries: entries}, nil
}

func yamlError(name string, err error) error {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("%s:%s: %s", name, m[1], m[2])
	}
	return fmt.Errorf("%s: %w", name, err)
}

// day is t's date at 00:00 UTC.
func day(t time.Time) time.Time {
	y, m, d := t.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

type parser struct {
	name  string
	today time.Time
	errs  []lineError
}

// lineError is one problem, at its line of the file.
type lineError struct {
	line int
	err  error
}

func (p *parser) errorf(n *yaml.Node, format string, args ...any) {
	p.errs = append(p.errs, lineError{n.Line, fmt.Errorf("%s:%d: %s", p.name, n.Line, fmt.Sprintf(format, args...))})
}

// err is every problem found, in the order of the file.
func (p *parser) err() error {
	slices.SortStableFunc(p.errs, func(a, b lineError) int { return a.line - b.line })
	errs := make([]error, len(p.errs))
	for i, e := range p.errs {
		errs[i] = e.err
	}
	return errors.Join(errs...)
}

func (p *parser) file(doc *yaml.Node) []Entry {
	root := doc
	if root.Kind == yaml.DocumentNode {
		if len(root.Content) == 0 {
			return nil
		}
		root = root.Content[0]
	}
	if isNull(root) {
		return nil
	}
	if root.Kind != yaml.MappingNode {
		p.errorf(root, "want a mapping with the key suppressions, found %s", kind(root))
		return nil
	}
	var list *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		switch {
		case k.Value != "suppressions":
			p.errorf(k, "unknown key %q (the file has one key, suppressions)", k.Value)
		case list != nil:
			p.errorf(k, "suppressions given twice")
		default:
			list = v
		}
	}
	if list == nil || isNull(list) {
		return nil
	}
	if list.Kind != yaml.SequenceNode {
		p.errorf(list, "suppressions: want a list of entries, found %s", kind(list))
		return nil
	}
	var out []Entry
	for i, n := range list.Content {
		if e, ok := p.entry(i+1, n); ok {
			out = append(out, e)
		}
	}
	return out
}

func (p *parser) entry(index int, n *yaml.Node) (Entry, bool) {
	e := Entry{File: p.name, Line: n.Line}
	if n.Kind != yaml.MappingNode {
		p.errorf(n, "entry %d: want a mapping of keys, found %s", index, kind(n))
		return e, false
	}
	before := len(p.errs)
	bad := func(k *yaml.Node, format string, args ...any) {
		p.errorf(k, "entry %d: "+format, append([]any{index}, args...)...)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		key := k.Value
		if seen[key] {
			bad(k, "%s given twice", key)
			continue
		}
		seen[key] = true
		field, known := e.fields()[key]
		if !known && key != "expires" {
			bad(k, "unknown key %q (want %s, reason, expires)", key, strings.Join(matcherKeys, ", "))
			continue
		}
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
			bad(v, "%s: want a string, found %s", key, kind(v))
			continue
		}
		value := strings.TrimSpace(v.Value)
		if key == "expires" {
			p.expires(&e, index, v, value)
			continue
		}
		if value == "" && key == "reason" {
			bad(v, "reason is empty: say why the finding is accepted")
			continue
		}
		if value == "" {
			bad(v, "%s is empty: leave the key out to match any value", key)
			continue
		}
		*field = value
		p.check(index, key, v)
	}
	if !seen["reason"] {
		p.errorf(n, "entry %d: no reason: say why the finding is accepted", index)
	}
	if !seen["expires"] {
		p.errorf(n, "entry %d: no expires: give the last day (YYYY-MM-DD) the entry mutes", index)
	}
	if len(p.errs) == before && e.matchesEverything() {
		p.errorf(n, "entry %d: matches every finding: give at least one of %s with more than *", index, strings.Join(matcherKeys, ", "))
	}
	return e, len(p.errs) == before
}

// fields are the entry's string fields by their key in the file.
func (e *Entry) fields() map[string]*string {
	return map[string]*string{
		"rule": &e.Rule, "account": &e.Account, "region": &e.Region, "resource": &e.Resource,
		"principal": &e.Principal, "actor": &e.Actor, "reason": &e.Reason,
	}
}

func (e Entry) matchesEverything() bool {
	for _, m := range []string{e.Rule, e.Account, e.Region, e.Resource, e.Principal, e.Actor} {
		if m != "" && !matchesAll(m) {
			return false
		}
	}
	return true
}

// check checks what can be checked of a value: a rule must name a rule
// (a misspelt one would silently unmute), an account must be an account
// ID, a region a region, a reason short enough to show.
func (p *parser) check(index int, key string, v *yaml.Node) {
	value := strings.TrimSpace(v.Value)
	switch key {
	case "reason":
		if len(value) > MaxReason {
			p.errorf(v, "entry %d: reason is %d bytes, at most %d", index, len(value), MaxReason)
		}
	case "rule":
		if !slices.ContainsFunc(detect.Rules, func(r detect.Rule) bool { return glob(value, r.ID) }) {
			p.errorf(v, "entry %d: rule %q matches no rule (see lambdawatch rules)", index, value)
		}
	case "account":
		if !strings.Contains(value, "*") && !accountID.MatchString(value) {
			p.errorf(v, "entry %d: account %q is not a 12-digit account ID", index, value)
		}
	case "region":
		if !strings.Contains(value, "*") && !regionName.MatchString(value) {
			p.errorf(v, "entry %d: region %q is not a region name like eu-west-1", index, value)
		}
	}
}

func (p *parser) expires(e *Entry, index int, v *yaml.Node, value string) {
	t, err := time.Parse(dateLayout, value)
	if err != nil {
		p.errorf(v, "entry %d: expires %q is not a date YYYY-MM-DD", index, value)
		return
	}
	if limit := p.today.AddDate(MaxAhead, 0, 0); t.After(limit) {
		p.errorf(v, "entry %d: expires %s is more than a year ahead (at most %s)", index, value, limit.Format(dateLayout))
		return
	}
	e.Expires = t
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func kind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.AliasNode:
		return "an alias (anchors and aliases are not read)"
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			return "nothing"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "nothing"
}
